// The dashboard: a card per process, the links (Swagger, the data folder, the browser), the live
// log.

import type { Context } from '../context';
import { $, append, copyText, fill, h } from '../dom';
import { formatDuration } from '../format';
import { healthOf, problemText } from '../health';
import { reasonText } from '../reason';
import { type Key, t } from '../i18n';
import { type OpenTarget, PROCESSES, type ProcessKind } from '../ipc';
import type { StackControl } from '../stack';
import { cardActions, light } from '../state';

/** A card's elements, built once and updated in place (a button never vanishes under a click). */
interface Card {
  root: HTMLElement;
  light: HTMLElement;
  state: HTMLElement;
  facts: HTMLElement;
  reason: HTMLElement;
  buttons: HTMLElement;
  /** The actions its buttons offer now. */
  actions: string;
}

export class DashboardView {
  private readonly cards = new Map<ProcessKind, Card>();
  /** What the log pane shows (so that a paint appends only what is new). */
  private paintedLog = { process: '' as string, version: -1, search: '' };

  constructor(
    private readonly ctx: Context,
    private readonly stack: StackControl,
  ) {}

  /** Builds the dashboard's section in `main`; cards and the log pane are drawn afresh. */
  mount(main: HTMLElement): void {
    const { backend, store } = this.ctx;
    this.cards.clear();
    this.paintedLog = { process: '', version: -1, search: '' };
    main.append(
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
                void this.openTarget('swagger');
              },
            },
            t('open.swagger'),
          ),
          h(
            'a',
            {
              id: 'open-monitor',
              class: 'button',
              href: '#',
              onclick: (e: Event) => {
                e.preventDefault();
                void this.openTarget('monitor-docs');
              },
            },
            t('open.monitor'),
          ),
          h('button', { id: 'open-data', onclick: () => void this.openTarget('data-dir') }, t('open.data')),
          backend.mode === 'app'
            ? h('button', { id: 'open-browser', onclick: () => void this.openInBrowser() }, t('open.browser'))
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
                    onclick: () => store.update({ logProcess: p, logFollow: true }, 'log'),
                  },
                  t(`process.${p}` as Key),
                ),
              ),
            ),
            h('input', {
              id: 'log-search',
              type: 'search',
              placeholder: t('log.search'),
              value: store.state.logSearch,
              oninput: (e: Event) => store.update({ logSearch: (e.target as HTMLInputElement).value }, 'log'),
            }),
            h(
              'label',
              {},
              h('input', {
                id: 'log-follow',
                type: 'checkbox',
                checked: store.state.logFollow,
                onchange: (e: Event) => store.update({ logFollow: (e.target as HTMLInputElement).checked }, 'log'),
              }),
              ' ',
              t('log.follow'),
            ),
            h(
              'button',
              { id: 'log-copy', onclick: (e: Event) => void this.copyLog(e.target as HTMLButtonElement) },
              t('log.copy'),
            ),
          ),
          h('div', {
            id: 'log-lines',
            class: 'lines mono',
            tabindex: '0',
            onscroll: (e: Event) => this.onLogScroll(e),
          }),
          h('p', { id: 'log-paused', class: 'muted', hidden: true }, t('log.paused')),
        ),
      ),
    );
  }

  /** Shows `process`'s log and points at its card for a moment (a click on its diagram node). */
  showProcess(process: ProcessKind): void {
    this.ctx.store.update({ logProcess: process, logFollow: true }, 'log');
    const card = document.querySelector<HTMLElement>(`.card[data-process=${process}]`);
    card?.scrollIntoView({ block: 'nearest' });
    card?.classList.add('flash');
    setTimeout(() => card?.classList.remove('flash'), 1200);
  }

  // ---------------------------------------------------------------- painting

  /** The links to the API's and the monitor's Swagger UI, while they run (painted with the header). */
  paintLinks(): void {
    const { store } = this.ctx;
    const docs = $('#open-swagger') as HTMLAnchorElement;
    docs.hidden = store.status('api')?.state !== 'running' && store.status('api')?.state !== 'external';
    ($('#open-monitor') as HTMLAnchorElement).hidden = !store.state.snapshot?.running;
  }

  paintCards(): void {
    const { store } = this.ctx;
    const snapshot = store.state.snapshot;
    const root = $('#cards');
    for (const process of PROCESSES) {
      let card = this.cards.get(process);
      if (!card || !root.contains(card.root)) {
        const parts = {
          light: h('span', { class: 'light', 'aria-hidden': 'true' }),
          state: h('span', { class: 'state' }),
          facts: h('dl', {}),
          reason: h('p', { class: 'reason' }),
          buttons: h('div', { class: 'buttons' }),
        };
        const el = h(
          'section',
          { class: 'card', 'data-process': process },
          h('header', {}, parts.light, h('h3', {}, t(`process.${process}` as Key)), parts.state),
          h('p', { class: 'what' }, t(`process.${process}.what` as Key)),
          parts.facts,
          parts.reason,
          parts.buttons,
        );
        root.append(el);
        card = { root: el, ...parts, actions: '' };
        this.cards.set(process, card);
      }
      const s = store.status(process);
      const state = s?.state ?? 'stopped';
      const health = healthOf(s, snapshot);
      card.root.dataset.state = state;
      card.root.dataset.health = health.level;
      card.light.className = `light ${health.level === 'degraded' ? 'warn' : light(state)}`;
      card.state.textContent = health.level === 'degraded' ? t('health.degraded') : t(`state.${state}` as Key);
      const facts: [Key, string][] = [];
      if (s?.pid) facts.push(['card.pid', String(s.pid)]);
      if (s?.port) facts.push(['card.port', String(s.port)]);
      if (s?.uptime_secs !== null && s?.uptime_secs !== undefined) {
        facts.push(['card.uptime', formatDuration(s.uptime_secs)]);
      }
      if (s?.restarts) facts.push(['card.restarts', String(s.restarts)]);
      fill(card.facts, ...facts.flatMap(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, v)]));
      // A degraded process says why in plain words (the technical detail on hover); otherwise the
      // supervisor's reason (a crash, a failed start), if any.
      const reason = health.level === 'degraded' ? problemText(health.problem) : s?.reason ? reasonText(s.reason) : '';
      card.reason.textContent = reason;
      card.reason.hidden = !reason;
      card.reason.dataset.kind = health.level === 'degraded' ? 'health' : 'state';
      card.reason.title =
        health.level === 'degraded' && health.detail ? t('health.detail', { detail: health.detail }) : '';
      const actions = cardActions(state, snapshot?.running ?? false);
      if (actions.join() !== card.actions) {
        card.actions = actions.join();
        fill(
          card.buttons,
          ...actions.map((action) =>
            h(
              'button',
              { 'data-action': action, onclick: () => void this.stack.processAction(process, action) },
              t(`action.${action}` as Key),
            ),
          ),
          h(
            'button',
            {
              class: 'link',
              'data-action': 'log',
              onclick: () => {
                store.update({ logProcess: process, logFollow: true }, 'log');
                $('#log').scrollIntoView({ block: 'nearest' });
              },
            },
            t('card.log'),
          ),
        );
      }
    }
  }

  paintLog(): void {
    const { logProcess, logSearch, logFollow } = this.ctx.store.state;
    const buffer = this.ctx.store.logs[logProcess];
    for (const b of document.querySelectorAll<HTMLButtonElement>('#log-tabs button')) {
      b.setAttribute('aria-selected', String(b.dataset.process === logProcess));
    }
    const pane = $('#log-lines');
    const painted = this.paintedLog;
    if (painted.process === logProcess && painted.version === buffer.version && painted.search === logSearch) return;
    const lines = buffer.matching(logSearch);
    // Append only what is new when nothing else changed; otherwise redraw.
    const appendOnly =
      painted.process === logProcess &&
      painted.search === logSearch &&
      !logSearch &&
      pane.childElementCount <= lines.length;
    if (appendOnly) {
      const fresh = lines.slice(pane.childElementCount);
      append(
        pane,
        fresh.map((line) => h('div', {}, line)),
      );
      while (pane.childElementCount > lines.length) pane.firstElementChild?.remove();
    } else {
      fill(pane, ...lines.map((line) => h('div', {}, line)));
    }
    this.paintedLog = { process: logProcess, version: buffer.version, search: logSearch };
    if (logFollow) pane.scrollTop = pane.scrollHeight;
    $('#log-paused').hidden = logFollow;
    ($('#log-follow') as HTMLInputElement).checked = logFollow;
  }

  // ---------------------------------------------------------------- the log pane and the links

  /** Scrolling up pauses following the log's end; scrolling back to the end follows again. */
  private onLogScroll(e: Event): void {
    const { store } = this.ctx;
    const pane = e.target as HTMLElement;
    const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 24;
    if (atBottom !== store.state.logFollow) {
      store.update({ logFollow: atBottom });
      $('#log-paused').hidden = atBottom;
      ($('#log-follow') as HTMLInputElement).checked = atBottom;
    }
  }

  private async copyLog(button: HTMLButtonElement): Promise<void> {
    const { logProcess, logSearch } = this.ctx.store.state;
    await copyText(this.ctx.store.logs[logProcess].matching(logSearch).join('\n'));
    button.textContent = t('log.copied');
    setTimeout(() => (button.textContent = t('log.copy')), 1500);
  }

  private async openTarget(target: OpenTarget): Promise<void> {
    const { backend, store } = this.ctx;
    const snapshot = store.state.snapshot;
    // A browser opens a page itself; the app asks the desktop to.
    const page =
      target === 'swagger' ? snapshot?.docs_url : target === 'monitor-docs' ? `${snapshot?.monitor_url}/docs` : null;
    if (page && backend.mode === 'browser' && snapshot) {
      window.open(page, '_blank', 'noopener');
      return;
    }
    try {
      await backend.open(target);
    } catch (err) {
      this.ctx.showError(err);
    }
  }

  private async openInBrowser(): Promise<void> {
    const { backend } = this.ctx;
    const url = await backend.browserUrl();
    if (!url) return;
    try {
      await backend.open('browser');
    } catch {
      this.ctx.notice(url);
    }
  }
}
