// The page's frame, built once per language: the header with the brand and the tabs, the notice
// layer, the main area the views mount their sections into, and the dialog layer. The frame
// switches tabs and shows notices and dialogs; everything else belongs to a view.

import type { Button, DialogOptions } from './context';
import { fill, h } from './dom';
import { type Key, t } from './i18n';
import { DeskError, type DeskErrorBody } from './ipc';
import { startFailureText } from './reason';
import { type Store, type Tab, TABS } from './store';

/** What an error says, whatever was thrown. */
export function errorBody(err: unknown): DeskErrorBody {
  return err instanceof DeskError
    ? err.body
    : { kind: 'io', message: err instanceof Error ? err.message : String(err) };
}

export class Shell {
  /** `header.top`: the brand and the tabs (the header view adds the stack's controls). */
  header!: HTMLElement;
  /** Where the views mount their sections, one per tab. */
  main!: HTMLElement;
  private noticeBox!: HTMLElement;
  private dialogLayer!: HTMLElement;

  constructor(private readonly store: Store) {}

  /** Builds the frame in `root` (again after a change of language: every view mounts anew). */
  mount(root: HTMLElement): void {
    this.header = h(
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
        ...TABS.map((tab) =>
          h(
            'button',
            {
              role: 'tab',
              'data-tab': tab,
              'aria-selected': String(this.store.state.tab === tab),
              onclick: () => this.showTab(tab),
            },
            t(`tab.${tab}` as Key),
          ),
        ),
      ),
    );
    this.noticeBox = h('div', { id: 'notice', role: 'status' });
    this.main = h('main', {});
    this.dialogLayer = h('div', { id: 'dialog', class: 'layer', hidden: true });
    fill(root, this.header, this.noticeBox, this.main, this.dialogLayer);
  }

  /** Shows `tab`'s section (a view's `section.view#view-<tab>`) and hides the others. */
  showTab(tab: Tab): void {
    this.store.update({ tab });
    for (const b of this.header.querySelectorAll<HTMLButtonElement>('nav button[data-tab]')) {
      b.setAttribute('aria-selected', String(b.dataset.tab === tab));
    }
    for (const view of this.main.querySelectorAll<HTMLElement>('.view')) view.hidden = view.id !== `view-${tab}`;
    if (tab === 'diagrams') this.store.render('diagrams');
  }

  /** Whether a dialog is open. */
  dialogOpen(): boolean {
    return this.dialogLayer ? !this.dialogLayer.hidden : false;
  }

  notice(text: string, kind: 'info' | 'error' = 'info', extra?: Node): void {
    const box = this.noticeBox;
    fill(box, h('span', {}, text), extra ?? null, h('button', { class: 'link', onclick: () => fill(box) }, '×'));
    box.dataset.kind = kind;
  }

  /** An error's message as a notice, with the last lines of a process's log when it sent them; a
   * failed start worded in the page's language. */
  errorNotice(body: DeskErrorBody): void {
    const details = body.last_lines?.length ? h('pre', { class: 'quote' }, body.last_lines.join('\n')) : null;
    const text =
      body.kind === 'start_failed' && body.process && body.start_failure
        ? startFailureText(body.process, body.start_failure)
        : body.message;
    this.notice(text, 'error', details ?? undefined);
  }

  dialog(title: string, body: Node[], buttons: Button[], options: DialogOptions = {}): void {
    const layer = this.dialogLayer;
    const close = () => {
      fill(layer);
      layer.hidden = true;
    };
    fill(
      layer,
      h(
        'div',
        { class: options.wide ? 'dialog wide' : 'dialog', role: 'dialog', 'aria-modal': 'true' },
        h('h2', {}, title),
        ...body,
        h(
          'div',
          { class: 'buttons' },
          ...buttons.map((b) =>
            h(
              'button',
              {
                class: b.primary ? 'primary' : '',
                onclick: () => {
                  close();
                  b.onclick();
                },
              },
              b.label,
            ),
          ),
        ),
      ),
    );
    layer.hidden = false;
  }
}
