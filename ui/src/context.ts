// What every view and the stack's controls are given by main.ts, the one place that builds it: the
// backend, the store, and the page's shared layers (notices, dialogs, tabs) and error handling.

import type { Backend } from './ipc';
import type { Store, Tab } from './store';

/** A dialog's button: it closes the dialog, then runs `onclick`. */
export interface Button {
  label: string;
  primary?: boolean;
  onclick: () => void;
}

export interface DialogOptions {
  /** Wider than a question's dialog (for choices). */
  wide?: boolean;
}

export interface Context {
  /** The one connection to the backend (Tauri commands or the control endpoint). */
  readonly backend: Backend;
  readonly store: Store;
  /** A line in the notice layer, with `extra` after the text. */
  notice(text: string, kind?: 'info' | 'error', extra?: Node): void;
  /** A modal dialog in the dialog layer. */
  dialog(title: string, body: Node[], buttons: Button[], options?: DialogOptions): void;
  /** An error as the page tells it: a way out where there is one (a port taken, no Redis found),
   * else a notice. */
  showError(err: unknown): void;
  /** Shows a tab. */
  showTab(tab: Tab): void;
}
