// The dashboard: the Start/Stop header, a card per process, the live log.

import { painter, render, status, ui } from '../app';
import { $, append, fill, h } from '../dom';
import { type Key, t } from '../i18n';
import { PROCESSES, type ProcessKind } from '../ipc';
import { healthOf, pending, pendingText, problemText, stackLevel, stackLevelKey, troubles } from '../health';
import { processAction, restartStack } from '../stack';
import { formatDuration } from '../format';
import { cardActions, light } from '../state';

// ---------------------------------------------------------------- painting: header and cards

export function paintHeader(): void {
  const running = ui.snapshot?.running ?? false;
  const button = $('#start-stop') as HTMLButtonElement;
  button.textContent = ui.busy
    ? t(ui.busy === 'starting' ? 'stack.starting' : 'stack.stopping')
    : t(running ? 'stack.stop' : 'stack.start');
  button.disabled = ui.busy !== null;
  button.dataset.running = String(running);
  const level = stackLevel(ui.snapshot);
  const state = $('#stack-state');
  state.dataset.level = level;
  // While Start or Stop runs, the button says so; the level would be a half-truth.
  $('#stack-level').textContent = ui.busy ? '' : t(stackLevelKey(level));
  // One piece per process, each kept whole: a line breaks only between them.
  const why = ui.busy ? [] : troubles(ui.snapshot);
  fill($('#stack-why'), ...why.flatMap((text, i) => (i ? [' ', h('span', {}, `· ${text}`)] : [h('span', {}, text)])));
  paintPending();
  const docs = $('#open-swagger') as HTMLAnchorElement;
  docs.hidden = status('api')?.state !== 'running' && status('api')?.state !== 'external';
}

/** A saved change waiting for a restart: the page keeps the API that runs, and says so. */
let paintedPending = '';

function paintPending(): void {
  const box = $('#pending');
  const waiting = ui.busy ? null : pending(ui.snapshot, ui.settings);
  const text = waiting ? pendingText(waiting) : '';
  if (text === paintedPending) return;
  paintedPending = text;
  box.hidden = !waiting;
  fill(
    box,
    ...(waiting
      ? [
          h('span', {}, text),
          h(
            'button',
            { id: 'pending-restart', class: 'primary', onclick: () => void restartStack() },
            t('settings.restart_now'),
          ),
        ]
      : []),
  );
}

/** One card per process, built once and updated in place (a button never vanishes under a click). */
const cardEls = new Map<
  ProcessKind,
  {
    root: HTMLElement;
    light: HTMLElement;
    state: HTMLElement;
    facts: HTMLElement;
    reason: HTMLElement;
    buttons: HTMLElement;
    actions: string;
  }
>();

export function paintCards(): void {
  const root = $('#cards');
  for (const process of PROCESSES) {
    let card = cardEls.get(process);
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
      cardEls.set(process, card);
    }
    const s = status(process);
    const state = s?.state ?? 'stopped';
    const health = healthOf(s, ui.snapshot);
    card.root.dataset.state = state;
    card.root.dataset.health = health.level;
    card.light.className = `light ${health.level === 'degraded' ? 'warn' : light(state)}`;
    card.state.textContent = health.level === 'degraded' ? t('health.degraded') : t(`state.${state}` as Key);
    const facts: [Key, string][] = [];
    if (s?.pid) facts.push(['card.pid', String(s.pid)]);
    if (s?.port) facts.push(['card.port', String(s.port)]);
    if (s?.uptime_secs !== null && s?.uptime_secs !== undefined)
      facts.push(['card.uptime', formatDuration(s.uptime_secs)]);
    if (s?.restarts) facts.push(['card.restarts', String(s.restarts)]);
    fill(card.facts, ...facts.flatMap(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, v)]));
    // A degraded process says why in plain words (the technical detail on hover); otherwise the
    // supervisor's reason (a crash, a failed start), if any.
    const reason = health.level === 'degraded' ? problemText(health.problem) : (s?.reason ?? '');
    card.reason.textContent = reason;
    card.reason.hidden = !reason;
    card.reason.dataset.kind = health.level === 'degraded' ? 'health' : 'state';
    card.reason.title =
      health.level === 'degraded' && health.detail ? t('health.detail', { detail: health.detail }) : '';
    const actions = cardActions(state, ui.snapshot?.running ?? false);
    if (actions.join() !== card.actions) {
      card.actions = actions.join();
      fill(
        card.buttons,
        ...actions.map((action) =>
          h(
            'button',
            { 'data-action': action, onclick: () => void processAction(process, action) },
            t(`action.${action}` as Key),
          ),
        ),
        h(
          'button',
          {
            class: 'link',
            'data-action': 'log',
            onclick: () => {
              ui.logProcess = process;
              ui.logFollow = true;
              render('log');
              $('#log').scrollIntoView({ block: 'nearest' });
            },
          },
          t('card.log'),
        ),
      );
    }
  }
}

// ---------------------------------------------------------------- painting: the log pane

let paintedLog = { process: '' as string, version: -1, search: '' };

/** The page was rebuilt: cards and the log pane are drawn afresh. */
export function resetDashboard(): void {
  cardEls.clear();
  paintedPending = '\u0000';
  paintedLog = { process: '', version: -1, search: '' };
}

export function paintLog(): void {
  const buffer = ui.logs[ui.logProcess];
  for (const b of document.querySelectorAll<HTMLButtonElement>('#log-tabs button')) {
    b.setAttribute('aria-selected', String(b.dataset.process === ui.logProcess));
  }
  const pane = $('#log-lines');
  if (
    paintedLog.process === ui.logProcess &&
    paintedLog.version === buffer.version &&
    paintedLog.search === ui.logSearch
  )
    return;
  const lines = buffer.matching(ui.logSearch);
  // Append only what is new when nothing else changed; otherwise redraw.
  const appendOnly =
    paintedLog.process === ui.logProcess &&
    paintedLog.search === ui.logSearch &&
    !ui.logSearch &&
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
  paintedLog = { process: ui.logProcess, version: buffer.version, search: ui.logSearch };
  if (ui.logFollow) pane.scrollTop = pane.scrollHeight;
  $('#log-paused').hidden = ui.logFollow;
  ($('#log-follow') as HTMLInputElement).checked = ui.logFollow;
}

painter('header', paintHeader);
painter('cards', paintCards);
painter('log', paintLog);
