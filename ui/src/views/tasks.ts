// Task history: filters with counts, search, the live table, the detail drawer, retries.

import type { Context } from '../context';
import { $, fill, h } from '../dom';
import { formatDuration } from '../format';
import { type Key, language, t } from '../i18n';
import { TASK_STATES, type Task } from '../ipc';
import type { StackControl } from '../stack';
import { timelineWithDurations } from '../state';
import { ROWS } from '../store';
import { chip, clock, shortName } from '../widgets';

/** What a row shows: when it changes, the row is drawn again. */
export function rowKey(task: Task): string {
  return `${task.state}|${task.retries}|${task.runtime}|${task.worker}|${task.sent_at}|${language()}`;
}

export class TasksView {
  /** The table's rows by task id, kept while their task is listed. */
  private readonly rows = new Map<string, { el: HTMLElement; key: string }>();

  constructor(
    private readonly ctx: Context,
    private readonly stack: StackControl,
  ) {}

  /** Builds the history's section in `main`; rows are drawn afresh. */
  mount(main: HTMLElement): void {
    const { store } = this.ctx;
    this.rows.clear();
    main.append(
      h(
        'section',
        { id: 'view-tasks', class: 'view' },
        h('div', { id: 'no-worker', class: 'warning', role: 'alert', hidden: true }),
        h(
          'div',
          { class: 'toolbar' },
          h('div', { id: 'task-filters', class: 'filters' }),
          h('input', {
            id: 'task-search',
            type: 'search',
            placeholder: t('tasks.search'),
            value: store.state.taskSearch,
            oninput: (e: Event) => store.update({ taskSearch: (e.target as HTMLInputElement).value }, 'tasks'),
          }),
          h('button', { id: 'retry-all', onclick: () => void this.retryAllFailed() }, ''),
          h(
            'button',
            {
              id: 'purge',
              'data-destructive': true,
              onclick: () => {
                if (confirm(t('tasks.purge_confirm'))) {
                  void store.state.monitor?.purge().catch((err: unknown) => this.ctx.showError(err));
                }
              },
            },
            t('tasks.purge'),
          ),
        ),
        h(
          'div',
          { class: 'table' },
          h(
            'table',
            { id: 'task-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...(['state', 'name', 'product', 'retries', 'runtime', 'worker', 'sent'] as const).map((c) =>
                  h('th', {}, t(`tasks.col.${c}` as Key)),
                ),
              ),
            ),
            h('tbody', { id: 'task-rows' }),
          ),
          h('p', { id: 'tasks-empty', class: 'muted' }, t('tasks.empty')),
        ),
        h('aside', { id: 'drawer', class: 'drawer', hidden: true }),
      ),
    );
  }

  /** Opens a task in the drawer (and fetches its full history). */
  openTask(id: string): void {
    const { store } = this.ctx;
    store.update({ selectedTask: id });
    void store.state.monitor
      ?.task(id)
      .then((task) => {
        store.tasks.upsert(task);
        store.render('drawer', 'tasks');
      })
      .catch(() => {});
    store.render('drawer', 'tasks');
  }

  // ---------------------------------------------------------------- painting

  paintTasks(): void {
    const { store } = this.ctx;
    const { taskFilter, taskSearch, selectedTask } = store.state;
    const counts = store.tasks.counts();
    fill(
      $('#task-filters'),
      h(
        'button',
        {
          'data-state': '',
          'aria-pressed': String(taskFilter === null),
          onclick: () => store.update({ taskFilter: null }, 'tasks'),
        },
        `${t('tasks.filter.all')} ${store.tasks.size}`,
      ),
      ...TASK_STATES.map((state) =>
        h(
          'button',
          {
            class: 'chip',
            'data-state': state,
            'aria-pressed': String(taskFilter === state),
            onclick: () => store.update({ taskFilter: store.state.taskFilter === state ? null : state }, 'tasks'),
          },
          `${state} `,
          h('b', { class: 'count' }, counts[state] ?? 0),
        ),
      ),
    );
    const failed = store.tasks.failed();
    const retryAll = $('#retry-all') as HTMLButtonElement;
    retryAll.textContent = t('tasks.retry_all', { n: failed.length });
    retryAll.disabled = failed.length === 0;

    const warning = store.queue.warning(store.status('worker')?.state);
    const banner = $('#no-worker');
    banner.hidden = !warning || !store.state.snapshot?.running;
    if (warning) {
      fill(
        banner,
        t(warning.growing ? 'tasks.no_worker_growing' : 'tasks.no_worker', { n: warning.queued }),
        ' ',
        h('button', { onclick: () => void this.stack.processAction('worker', 'start') }, t('tasks.start_worker')),
      );
    }

    const rows = store.tasks.list(taskFilter, taskSearch, ROWS);
    $('#tasks-empty').hidden = store.tasks.size > 0;
    const seen = new Set<string>();
    const trs = rows.map((task) => {
      seen.add(task.task_id);
      let row = this.rows.get(task.task_id);
      const key = rowKey(task);
      if (!row || row.key !== key) {
        const el = row?.el ?? h('tr', { 'data-task-id': task.task_id, onclick: () => this.openTask(task.task_id) });
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
        this.rows.set(task.task_id, row);
      }
      row.el.classList.toggle('selected', task.task_id === selectedTask);
      return row.el;
    });
    for (const id of this.rows.keys()) if (!seen.has(id)) this.rows.delete(id);
    const body = $('#task-rows');
    // Moving existing rows keeps them the same elements: a row under the pointer stays clickable.
    if (trs.length !== body.childElementCount || trs.some((tr, i) => body.children[i] !== tr)) {
      body.replaceChildren(...trs);
    }
  }

  paintDrawer(): void {
    const { store } = this.ctx;
    const drawer = $('#drawer');
    const selected = store.state.selectedTask;
    const task = selected ? store.tasks.get(selected) : undefined;
    drawer.hidden = !task;
    if (!task) return;
    const json = (value: unknown) => h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
    const canRevoke = task.can_revoke;
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
            onclick: () => store.update({ selectedTask: null }, 'drawer', 'tasks'),
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
            h(
              'button',
              { class: 'link mono', onclick: () => this.openTask(task.retry_of!) },
              task.retry_of.slice(0, 8),
            ),
          )
        : null,
      task.retried_as
        ? h(
            'p',
            {},
            `${t('drawer.retried_as')} `,
            h(
              'button',
              { class: 'link mono', onclick: () => this.openTask(task.retried_as!) },
              task.retried_as.slice(0, 8),
            ),
          )
        : null,
      h(
        'div',
        { class: 'buttons' },
        task.can_retry
          ? h(
              'button',
              { class: 'primary', 'data-action': 'retry', onclick: () => void this.retryTask(task.task_id) },
              t('drawer.retry'),
            )
          : null,
        canRevoke
          ? h(
              'button',
              {
                'data-action': 'revoke',
                onclick: () =>
                  void store.state.monitor?.revoke(task.task_id).catch((err: unknown) => this.ctx.showError(err)),
              },
              t('drawer.revoke'),
            )
          : null,
        h(
          'button',
          {
            'data-action': 'lifecycle',
            onclick: () => {
              store.update({ diagram: 'lifecycle' });
              this.ctx.showTab('diagrams');
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

  // ---------------------------------------------------------------- retries

  private async retryTask(id: string): Promise<void> {
    const { store } = this.ctx;
    try {
      const monitor = store.state.monitor;
      if (!monitor) return;
      const answer = await monitor.retry(id);
      const original = store.tasks.get(id);
      if (original) store.tasks.upsert({ ...original, retried_as: answer.task_id });
      this.openTask(answer.task_id);
    } catch (err) {
      this.ctx.showError(err);
    }
  }

  private async retryAllFailed(): Promise<void> {
    const { store } = this.ctx;
    const monitor = store.state.monitor;
    if (!monitor) return;
    for (const task of store.tasks.failed()) {
      try {
        const answer = await monitor.retry(task.task_id);
        store.tasks.upsert({ ...task, retried_as: answer.task_id });
      } catch (err) {
        this.ctx.showError(err);
        break;
      }
    }
    store.render('tasks');
  }
}
