// A JSON editor (a labelled textarea) validated before anything is sent.
import { h } from '../dom';

export interface JsonEditor {
  el: HTMLElement;
  /** The parsed object, or undefined (and the error shown) when invalid. */
  value(): Record<string, unknown> | undefined;
}

export function jsonEditor(id: string, label: string, initial: string): JsonEditor {
  const area = h('textarea', { id, name: id, rows: '4', spellcheck: 'false', 'aria-describedby': `${id}-error` }, initial);
  const error = h('p', { id: `${id}-error`, class: 'error', 'aria-live': 'polite' });
  const check = (): Record<string, unknown> | undefined => {
    try {
      const v: unknown = JSON.parse(area.value || '{}');
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('must be a JSON object, e.g. {"approved": true}');
      error.textContent = '';
      area.removeAttribute('aria-invalid');
      return v as Record<string, unknown>;
    } catch (e) {
      error.textContent = `Invalid JSON: ${e instanceof Error ? e.message : String(e)}`;
      area.setAttribute('aria-invalid', 'true');
      return undefined;
    }
  };
  area.addEventListener('input', () => void check());
  return { el: h('div', { class: 'field' }, h('label', { for: id }, label), area, error), value: check };
}
