// The header's stack controls: the stack's level and what keeps it from running whole, the
// Start/Stop button, and the bar under the header when a saved change waits for a restart.

import type { Context } from '../context';
import { $, fill, h } from '../dom';
import { pending, pendingText, stackLevel, stackLevelKey, troubles } from '../health';
import { t } from '../i18n';
import type { StackControl } from '../stack';

export class HeaderView {
  /** The pending bar's text as painted ('\0' after a mount: paint it whatever it says). */
  private paintedPending = '\u0000';

  constructor(
    private readonly ctx: Context,
    private readonly stack: StackControl,
  ) {}

  /** Adds the controls to the frame's `header`, and the pending bar just before `main`. */
  mount(header: HTMLElement, main: HTMLElement): void {
    const { store } = this.ctx;
    this.paintedPending = '\u0000';
    header.append(
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
          {
            id: 'start-stop',
            class: 'big',
            onclick: () => void (store.state.snapshot?.running ? this.stack.stop() : this.stack.start()),
          },
          t('stack.start'),
        ),
      ),
    );
    main.before(h('div', { id: 'pending', class: 'pending', role: 'status', hidden: true }));
  }

  paint(): void {
    const { busy, snapshot } = this.ctx.store.state;
    const running = snapshot?.running ?? false;
    const button = $('#start-stop') as HTMLButtonElement;
    button.textContent = busy
      ? t(busy === 'starting' ? 'stack.starting' : 'stack.stopping')
      : t(running ? 'stack.stop' : 'stack.start');
    button.disabled = busy !== null;
    button.dataset.running = String(running);
    const level = stackLevel(snapshot);
    const state = $('#stack-state');
    state.dataset.level = level;
    // While Start or Stop runs, the button says so; the level would be a half-truth.
    $('#stack-level').textContent = busy ? '' : t(stackLevelKey(level));
    // One piece per process, each kept whole: a line breaks only between them.
    const why = busy ? [] : troubles(snapshot);
    fill($('#stack-why'), ...why.flatMap((text, i) => (i ? [' ', h('span', {}, `· ${text}`)] : [h('span', {}, text)])));
    this.paintPending();
  }

  /** A saved change waiting for a restart: the page keeps the API that runs, and says so. */
  private paintPending(): void {
    const { busy, snapshot, settings } = this.ctx.store.state;
    const box = $('#pending');
    const waiting = busy ? null : pending(snapshot, settings);
    const text = waiting ? pendingText(waiting) : '';
    if (text === this.paintedPending) return;
    this.paintedPending = text;
    box.hidden = !waiting;
    fill(
      box,
      ...(waiting
        ? [
            h('span', {}, text),
            h(
              'button',
              { id: 'pending-restart', class: 'primary', onclick: () => void this.stack.restart() },
              t('settings.restart_now'),
            ),
          ]
        : []),
    );
  }
}
