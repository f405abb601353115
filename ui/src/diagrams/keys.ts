// What a key does on the Diagrams tab: a presentation clicker sends PageDown / PageUp (some send
// Space, ← and →), a keyboard adds Home and End. A field being typed in keeps its keys, except
// Esc, which leaves the field first (a second Esc then leaves the presentation).

/** What the page does with a key. */
export type KeyAction = 'next' | 'previous' | 'first' | 'last' | 'leave-field' | 'leave-presentation';

/** Where the key was pressed. */
export type KeyTarget =
  /** A field that takes text (a text, number or search input, a text area). */
  | 'typing'
  /** A drop-down list (it uses the arrows itself). */
  | 'list'
  /** A button, a check box, or the page itself. */
  | 'other';

/** The action for `key` pressed on `target`, or null when the page leaves the key alone. */
export function keyAction(key: string, target: KeyTarget, presenting: boolean): KeyAction | null {
  if (key === 'Escape')
    return target === 'typing' || target === 'list' ? 'leave-field' : presenting ? 'leave-presentation' : null;
  if (target === 'typing') return null;
  switch (key) {
    case 'PageDown':
      return 'next';
    case 'PageUp':
      return 'previous';
    case 'ArrowRight':
      return target === 'list' ? null : 'next';
    case 'ArrowLeft':
      return target === 'list' ? null : 'previous';
    case ' ':
      // On a button outside a presentation, Space presses it, as everywhere.
      return presenting && target !== 'list' ? 'next' : null;
    case 'Home':
      return target === 'list' ? null : 'first';
    case 'End':
      return target === 'list' ? null : 'last';
    default:
      return null;
  }
}

/** The kind of element a key was pressed on. */
export function keyTargetOf(element: EventTarget | null): KeyTarget {
  if (element instanceof HTMLTextAreaElement) return 'typing';
  if (element instanceof HTMLSelectElement) return 'list';
  if (element instanceof HTMLInputElement) {
    return ['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color'].includes(element.type)
      ? 'other'
      : 'typing';
  }
  return 'other';
}
