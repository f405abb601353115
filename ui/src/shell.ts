// The page's frame: header, tabs and every view's fixed elements, built once per language.

import { field, hooks, notice, render, showError, type Tab, ui } from './app';
import { $, copyText, fill, h } from './dom';
import { type Key, t } from './i18n';
import { PROCESSES } from './ipc';
import { startStack, stopStack } from './stack';

import { resetDashboard } from './views/dashboard';
import { diagramsView } from './views/diagrams';
import { submitProduct } from './views/products';
import { clearToken, FIELDS, saveSettingsForm, testTelegram } from './views/settings';
import { resetTasks, retryAllFailed } from './views/tasks';

// ---------------------------------------------------------------- the page's frame

export function buildShell(): void {
  const root = $('#app');
  const tabs: Tab[] = ['dashboard', 'products', 'tasks', 'diagrams', 'settings'];
  const groups = [...new Set(FIELDS.map((f) => f.group))];
  fill(
    root,
    h(
      'header',
      { class: 'top' },
      h(
        'div',
        { class: 'brand' },
        h('img', { src: 'favicon.png', alt: '' }),
        h('div', {}, h('h1', {}, 'Stackdesk'), h('p', { class: 'muted' }, t('app.subtitle'))),
      ),
      h(
        'nav',
        { role: 'tablist' },
        ...tabs.map((tab) =>
          h(
            'button',
            { role: 'tab', 'data-tab': tab, 'aria-selected': String(ui.tab === tab), onclick: () => showTab(tab) },
            t(`tab.${tab}` as Key),
          ),
        ),
      ),
      h(
        'div',
        { class: 'stack' },
        h(
          'div',
          { id: 'stack-state', class: 'stack-state', role: 'status' },
          h('strong', { id: 'stack-level' }),
          h('small', { id: 'stack-why', class: 'muted' }),
        ),
        h(
          'button',
          { id: 'start-stop', class: 'big', onclick: () => void (ui.snapshot?.running ? stopStack() : startStack()) },
          t('stack.start'),
        ),
      ),
    ),
    h('div', { id: 'notice', role: 'status' }),
    h('div', { id: 'pending', class: 'pending', role: 'status', hidden: true }),
    h(
      'main',
      {},
      h(
        'section',
        { id: 'view-dashboard', class: 'view' },
        h('div', { id: 'cards', class: 'cards' }),
        h(
          'div',
          { class: 'links' },
          h(
            'a',
            {
              id: 'open-swagger',
              class: 'button',
              href: '#',
              onclick: (e: Event) => {
                e.preventDefault();
                void openTarget('swagger');
              },
            },
            t('open.swagger'),
          ),
          h('button', { id: 'open-data', onclick: () => void openTarget('data-dir') }, t('open.data')),
          ui.backend.mode === 'app'
            ? h('button', { id: 'open-browser', onclick: () => void openInBrowser() }, t('open.browser'))
            : null,
        ),
        h(
          'section',
          { id: 'log', class: 'log' },
          h(
            'header',
            {},
            h('h2', {}, t('log.title')),
            h(
              'div',
              { id: 'log-tabs', role: 'tablist' },
              ...PROCESSES.map((p) =>
                h(
                  'button',
                  {
                    role: 'tab',
                    'data-process': p,
                    onclick: () => {
                      ui.logProcess = p;
                      ui.logFollow = true;
                      render('log');
                    },
                  },
                  t(`process.${p}` as Key),
                ),
              ),
            ),
            h('input', {
              id: 'log-search',
              type: 'search',
              placeholder: t('log.search'),
              value: ui.logSearch,
              oninput: (e: Event) => {
                ui.logSearch = (e.target as HTMLInputElement).value;
                render('log');
              },
            }),
            h(
              'label',
              {},
              h('input', {
                id: 'log-follow',
                type: 'checkbox',
                checked: ui.logFollow,
                onchange: (e: Event) => {
                  ui.logFollow = (e.target as HTMLInputElement).checked;
                  render('log');
                },
              }),
              ' ',
              t('log.follow'),
            ),
            h(
              'button',
              { id: 'log-copy', onclick: (e: Event) => void copyLog(e.target as HTMLButtonElement) },
              t('log.copy'),
            ),
          ),
          h('div', { id: 'log-lines', class: 'lines mono', tabindex: '0', onscroll: onLogScroll }),
          h('p', { id: 'log-paused', class: 'muted', hidden: true }, t('log.paused')),
        ),
      ),
      h(
        'section',
        { id: 'view-products', class: 'view' },
        h(
          'form',
          {
            id: 'product-form',
            novalidate: true,
            onsubmit: (e: Event) => {
              e.preventDefault();
              void submitProduct(e.target as HTMLFormElement);
            },
          },
          h('h2', {}, t('products.new')),
          field('name', 'products.name', 'text', { maxlength: '200' }),
          field('price', 'products.price', 'text', { inputmode: 'decimal' }),
          field('description', 'products.description'),
          h('p', { class: 'form-error', role: 'alert' }),
          h('button', { id: 'product-submit', class: 'primary', type: 'submit' }, t('products.create')),
          h('p', { class: 'form-ok', role: 'status' }),
        ),
        h(
          'section',
          {},
          h('h2', {}, t('products.list')),
          h('p', { id: 'products-api-down', class: 'muted' }, t('products.api_down')),
          h('ul', { id: 'product-list', class: 'products' }),
        ),
      ),
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
            value: ui.taskSearch,
            oninput: (e: Event) => {
              ui.taskSearch = (e.target as HTMLInputElement).value;
              render('tasks');
            },
          }),
          h('button', { id: 'retry-all', onclick: () => void retryAllFailed() }, ''),
          h(
            'button',
            {
              id: 'purge',
              'data-destructive': true,
              onclick: () => {
                if (confirm(t('tasks.purge_confirm'))) void ui.api?.purge().catch(showError);
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
      diagramsView(),
      h(
        'section',
        { id: 'view-settings', class: 'view' },
        h(
          'form',
          {
            id: 'settings-form',
            novalidate: true,
            onsubmit: (e: Event) => {
              e.preventDefault();
              void saveSettingsForm(e.target as HTMLFormElement);
            },
          },
          ...groups.map((group) =>
            h(
              'fieldset',
              {},
              h('legend', {}, t(group)),
              ...FIELDS.filter((f) => f.group === group).map((f) =>
                field(f.key, f.label, f.type === 'password' ? 'password' : 'text'),
              ),
              group === 'settings.telegram'
                ? h(
                    'div',
                    { class: 'buttons' },
                    h(
                      'button',
                      {
                        type: 'button',
                        id: 'telegram-test',
                        onclick: (e: Event) => void testTelegram((e.target as HTMLElement).closest('form')!),
                      },
                      t('settings.test'),
                    ),
                    h(
                      'button',
                      { type: 'button', id: 'token-clear', class: 'link', onclick: () => void clearToken() },
                      t('settings.token_clear'),
                    ),
                    h('p', { id: 'telegram-result', role: 'status' }),
                  )
                : null,
            ),
          ),
          h(
            'fieldset',
            {},
            h('legend', {}, t('settings.appearance')),
            h(
              'label',
              { class: 'field' },
              h('span', {}, t('settings.language')),
              h(
                'select',
                { name: 'language' },
                h('option', { value: 'ru' }, 'Русский'),
                h('option', { value: 'en' }, 'English'),
              ),
            ),
            h(
              'label',
              { class: 'field' },
              h('span', {}, t('settings.theme')),
              h(
                'select',
                { name: 'theme' },
                ...(['system', 'light', 'dark'] as const).map((th) =>
                  h('option', { value: th }, t(`settings.theme.${th}` as Key)),
                ),
              ),
            ),
          ),
          h(
            'div',
            { class: 'buttons' },
            h('button', { id: 'settings-save', class: 'primary', type: 'submit' }, t('common.save')),
          ),
          h('p', { id: 'settings-status', role: 'status' }),
          h('p', { id: 'settings-path', class: 'muted' }),
        ),
      ),
    ),
    h('div', { id: 'dialog', class: 'layer', hidden: true }),
  );
  showTab(ui.tab);
  resetDashboard();
  resetTasks();
  render('header', 'cards', 'log', 'products', 'tasks', 'drawer', 'diagrams', 'settings');
}

hooks.showTab = (tab) => showTab(tab);

export function showTab(tab: Tab): void {
  ui.tab = tab;
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav button[data-tab]'))
    b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  for (const view of document.querySelectorAll<HTMLElement>('.view')) view.hidden = view.id !== `view-${tab}`;
  if (tab === 'diagrams') render('diagrams');
}

export function onLogScroll(e: Event): void {
  const pane = e.target as HTMLElement;
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 24;
  if (atBottom !== ui.logFollow) {
    ui.logFollow = atBottom;
    $('#log-paused').hidden = atBottom;
    ($('#log-follow') as HTMLInputElement).checked = atBottom;
  }
}

export async function copyLog(button: HTMLButtonElement): Promise<void> {
  await copyText(ui.logs[ui.logProcess].matching(ui.logSearch).join('\n'));
  button.textContent = t('log.copied');
  setTimeout(() => (button.textContent = t('log.copy')), 1500);
}

export async function openTarget(target: 'swagger' | 'data-dir'): Promise<void> {
  if (target === 'swagger' && ui.backend.mode === 'browser' && ui.snapshot) {
    window.open(ui.snapshot.docs_url, '_blank', 'noopener');
    return;
  }
  try {
    await ui.backend.open(target);
  } catch (err) {
    showError(err);
  }
}

export async function openInBrowser(): Promise<void> {
  const url = await ui.backend.browserUrl();
  if (!url) return;
  try {
    await ui.backend.open('browser');
  } catch {
    notice(url);
  }
}
