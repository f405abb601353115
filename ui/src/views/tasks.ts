// Task history: filters with counts, search, the live table, the detail drawer, retries.

import { chip, clock, hooks, painter, render, ROWS, shortName, showError, status, ui } from '../app';
import { $, fill, h } from '../dom';
import { language, t } from '../i18n';
import { type Task } from '../ipc';
import { processAction } from '../stack';
import { formatDuration } from '../format';
import { TASK_STATES, timelineWithDurations } from '../state';

// ---------------------------------------------------------------- painting: task history

export function paintTasks(): void {
  const counts = ui.tasks.counts();
  fill(
    $('#task-filters'),
    h(
      'button',
      {
        'data-state': '',
        'aria-pressed': String(ui.taskFilter === null),
        onclick: () => {
          ui.taskFilter = null;
          render('tasks');
        },
      },
      `${t('tasks.filter.all')} ${ui.tasks.size}`,
    ),
    ...TASK_STATES.map((state) =>
      h(
        'button',
        {
          class: 'chip',
          'data-state': state,
          'aria-pressed': String(ui.taskFilter === state),
          onclick: () => {
            ui.taskFilter = ui.taskFilter === state ? null : state;
            render('tasks');
          },
        },
        `${state} `,
        h('b', { class: 'count' }, counts[state] ?? 0),
      ),
    ),
  );
  const failed = ui.tasks.failed();
  const retryAll = $('#retry-all') as HTMLButtonElement;
  retryAll.textContent = t('tasks.retry_all', { n: failed.length });
  retryAll.disabled = failed.length === 0;

  const warning = ui.queue.warning(status('worker')?.state);
  const banner = $('#no-worker');
  banner.hidden = !warning || !ui.snapshot?.running;
  if (warning) {
    fill(
      banner,
      t(warning.growing ? 'tasks.no_worker_growing' : 'tasks.no_worker', { n: warning.queued }),
      ' ',
      h('button', { onclick: () => void processAction('worker', 'start') }, t('tasks.start_worker')),
    );
  }

  const rows = ui.tasks.list(ui.taskFilter, ui.taskSearch, ROWS);
  $('#tasks-empty').hidden = ui.tasks.size > 0;
  const seen = new Set<string>();
  const trs = rows.map((task) => {
    seen.add(task.task_id);
    let row = rowEls.get(task.task_id);
    const key = rowKey(task);
    if (!row || row.key !== key) {
      const el = row?.el ?? h('tr', { 'data-task-id': task.task_id, onclick: () => openTask(task.task_id) });
      const product = Array.isArray(task.args) ? (task.args[0] as { name?: string } | undefined) : undefined;
      el.dataset.state = task.state;
      fill(
        el,
        h('td', { class: 'state' }, chip(task.state)),
        h(
          'td',
          { class: 'name', title: task.task_id },
          shortName(task.name),
          h('div', { class: 'muted mono' }, task.task_id.slice(0, 8)),
        ),
        h('td', {}, product?.name ?? (task.product_id ? `#${task.product_id}` : '—')),
        h('td', { class: 'num' }, task.retries),
        h('td', { class: 'num' }, formatDuration(task.runtime)),
        h('td', { class: 'muted' }, task.worker ?? '—'),
        h('td', { class: 'muted' }, clock(task.sent_at)),
      );
      row = { el, key };
      rowEls.set(task.task_id, row);
    }
    row.el.classList.toggle('selected', task.task_id === ui.selectedTask);
    return row.el;
  });
  for (const id of rowEls.keys()) if (!seen.has(id)) rowEls.delete(id);
  const body = $('#task-rows');
  // Moving existing rows keeps them the same elements: a row under the pointer stays clickable.
  if (trs.length !== body.childElementCount || trs.some((tr, i) => body.children[i] !== tr))
    body.replaceChildren(...trs);
}

const rowEls = new Map<string, { el: HTMLElement; key: string }>();

/** The page was rebuilt: rows are drawn afresh. */
export function resetTasks(): void {
  rowEls.clear();
}

export function rowKey(task: Task): string {
  return `${task.state}|${task.retries}|${task.runtime}|${task.worker}|${task.sent_at}|${language()}`;
}

export function openTask(id: string): void {
  ui.selectedTask = id;
  void ui.api
    ?.task(id)
    .then((task) => {
      ui.tasks.upsert(task);
      render('drawer', 'tasks');
    })
    .catch(() => {});
  render('drawer', 'tasks');
}

export function paintDrawer(): void {
  const drawer = $('#drawer');
  const task = ui.selectedTask ? ui.tasks.get(ui.selectedTask) : undefined;
  drawer.hidden = !task;
  if (!task) return;
  const json = (value: unknown) => h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
  const canRevoke = ['PENDING', 'RECEIVED', 'STARTED', 'RETRY'].includes(task.state);
  fill(
    drawer,
    h(
      'header',
      {},
      chip(task.state),
      h('h2', {}, shortName(task.name)),
      h(
        'button',
        {
          class: 'link',
          'aria-label': t('common.close'),
          onclick: () => {
            ui.selectedTask = null;
            render('drawer', 'tasks');
          },
        },
        '×',
      ),
    ),
    h('p', { class: 'mono muted' }, task.task_id),
    task.retry_of
      ? h(
          'p',
          {},
          `${t('drawer.retry_of')} `,
          h('button', { class: 'link mono', onclick: () => openTask(task.retry_of!) }, task.retry_of.slice(0, 8)),
        )
      : null,
    task.retried_as
      ? h(
          'p',
          {},
          `${t('drawer.retried_as')} `,
          h('button', { class: 'link mono', onclick: () => openTask(task.retried_as!) }, task.retried_as.slice(0, 8)),
        )
      : null,
    h(
      'div',
      { class: 'buttons' },
      task.state === 'FAILURE' && !task.retried_as
        ? h(
            'button',
            { class: 'primary', 'data-action': 'retry', onclick: () => void retryTask(task.task_id) },
            t('drawer.retry'),
          )
        : null,
      canRevoke
        ? h(
            'button',
            { 'data-action': 'revoke', onclick: () => void ui.api?.revoke(task.task_id).catch(showError) },
            t('drawer.revoke'),
          )
        : null,
      h(
        'button',
        {
          'data-action': 'lifecycle',
          onclick: () => {
            ui.diagram = 'lifecycle';
            hooks.showTab('diagrams');
          },
        },
        t('diagram.on_lifecycle'),
      ),
    ),
    h('h3', {}, t('drawer.timeline')),
    h(
      'ol',
      { class: 'timeline' },
      ...timelineWithDurations(task.timeline).map((step) =>
        h(
          'li',
          {},
          chip(step.state),
          ' ',
          clock(step.at),
          step.after !== null
            ? h('span', { class: 'muted' }, ` (${t('drawer.after')} ${formatDuration(step.after)})`)
            : null,
          step.worker ? h('span', { class: 'muted' }, ` · ${step.worker}`) : null,
        ),
      ),
    ),
    h('h3', {}, t('drawer.args')),
    json(task.args),
    task.error
      ? h(
          'section',
          { class: 'error' },
          h('h3', {}, t('drawer.error')),
          h('p', {}, `${task.error.type}: ${task.error.message}`),
          task.error.traceback ? h('pre', { class: 'quote' }, task.error.traceback) : null,
        )
      : null,
  );
  if (task.result !== null) {
    // The result goes right after the arguments.
    const args = drawer.querySelectorAll('pre.json')[0];
    args?.after(h('h3', {}, t('drawer.result')), json(task.result));
  }
}

export async function retryTask(id: string): Promise<void> {
  try {
    const answer = await ui.api!.retry(id);
    const original = ui.tasks.get(id);
    if (original) ui.tasks.upsert({ ...original, retried_as: answer.task_id });
    openTask(answer.task_id);
  } catch (err) {
    showError(err);
  }
}

export async function retryAllFailed(): Promise<void> {
  for (const task of ui.tasks.failed()) {
    try {
      const answer = await ui.api!.retry(task.task_id);
      ui.tasks.upsert({ ...task, retried_as: answer.task_id });
    } catch (err) {
      showError(err);
      break;
    }
  }
  render('tasks');
}

painter('tasks', paintTasks);
painter('drawer', paintDrawer);
