// Small pieces every view builds with: a task state's chip, a task's short name, a time of day, a
// labelled form field.

import { h } from './dom';
import { type Key, language, t } from './i18n';

export function chip(state: string): HTMLElement {
  return h('span', { class: 'chip', 'data-state': state }, state);
}

export function shortName(name: string | null): string {
  return name ? (name.split('.').pop() ?? name) : '—';
}

export function clock(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso.endsWith('Z') || /[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString(language());
}

/** A labelled form field with a slot for its error. */
export function field(key: string, label: Key, type = 'text', extra: Record<string, unknown> = {}): HTMLElement {
  return h(
    'label',
    { class: 'field' },
    h('span', {}, t(label)),
    h('input', { name: key, type, autocomplete: 'off', spellcheck: 'false', ...extra }),
    h('span', { class: 'field-error', 'data-field': key, role: 'alert' }),
  );
}
