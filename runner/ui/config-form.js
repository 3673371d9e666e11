// The Configuration panel: every config field, the script list (tick to
// run, ↑/↓ for the order), Save, Revert and Reset, and each refused
// field's error next to it. Owns the saved config as the form knows it
// (`saved`), the catalogue of `GET /scripts` and the list's order
// (`scripts`); the inputs hold the unsaved edits. Whoever must follow a
// newly stored config is told through `config.bind({ stored })`.

import { api } from './api.js';
import { $, el } from './dom.js';
import { format } from './format.js';

const NUMBER_FIELDS = ['globalUserCount', 'rampUpDuration', 'maxDuration', 'intervalBetweenTests'];
const TEXT_FIELDS = ['testDuration'];

export const config = {
  saved: null,
  /** A config came over the WebSocket (it is never older than a GET's). */
  pushed: false,
  catalogue: [],
  /** Every script shown, in list order: `{ name, enabled }`. */
  scripts: [],
  /** `{ stored() }`, from `bind`. */
  hooks: null,

  async load() {
    const [saved, catalogue] = await Promise.all([api('config'), api('scripts').catch(() => [])]);
    this.catalogue = catalogue;
    // A config pushed over the WebSocket while these were in flight is
    // newer than the answer: it stays.
    this.fill(this.pushed ? this.saved : saved);
  },

  /** Shows a config from the server as the form's saved state. */
  fill(saved) {
    this.saved = saved;
    for (const name of [...NUMBER_FIELDS, ...TEXT_FIELDS]) $(`f-${name}`).value = saved[name] ?? '';
    const enabled = saved.enabledScripts ?? [];
    const others = this.catalogue.map((s) => s.name).filter((name) => !enabled.includes(name)).sort();
    this.scripts = [
      ...enabled.map((name) => ({ name, enabled: true })),
      ...others.map((name) => ({ name, enabled: false })),
    ];
    this.renderScripts();
    this.clearErrors();
    this.renderDirty();
  },

  /** The form as a config; numbers that do not parse go as typed, so the server names the problem. */
  read() {
    const value = {};
    for (const name of NUMBER_FIELDS) {
      const text = $(`f-${name}`).value.trim();
      value[name] = /^[+-]?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    }
    value.testDuration = $('f-testDuration').value.trim();
    value.enabledScripts = this.scripts.filter((s) => s.enabled).map((s) => s.name);
    return value;
  },

  isDirty() {
    if (!this.saved) return false;
    const current = this.read();
    return Object.keys(current).some((key) => JSON.stringify(current[key]) !== JSON.stringify(this.saved[key]));
  },

  renderDirty() {
    const dirty = this.isDirty();
    $('config-dirty').hidden = !dirty;
    $('revert-button').disabled = !dirty;
  },

  renderScripts() {
    const known = new Map(this.catalogue.map((s) => [s.name, s]));
    const list = $('script-list');
    // The list scrolls in its own box: a re-render (a tick, a move) keeps
    // where it was scrolled to, and focus then brings the moved row in view.
    const scrolled = list.scrollTop;
    let position = 0;
    list.replaceChildren(...this.scripts.map((script, index) => {
      const info = known.get(script.name);
      const item = el('li', 'script-item');
      item.dataset.name = script.name;
      item.dataset.enabled = String(script.enabled);
      if (script.enabled) {
        item.dataset.position = String(position);
        position += 1;
      }

      const label = el('label');
      const box = el('input');
      box.type = 'checkbox';
      box.checked = script.enabled;
      box.id = `script-${index}`;
      box.addEventListener('change', () => this.toggle(index, box.checked));
      // The name on a line of its own, its kind and size under it: the
      // names get the row's width in a narrow column.
      const meta = el('span', 'script-meta');
      if (info) {
        meta.append(el('span', 'kind', info.kind), el('span', 'num', format.bytes(info.sizeBytes).join(' ')));
      } else {
        meta.append(el('span', 'kind kind-missing', 'not found'));
      }
      const text = el('span', 'script-text');
      text.append(el('span', 'script-name', script.name), meta);
      label.append(box, text);

      const moves = el('span', 'script-moves');
      moves.append(
        this.moveButton(index, -1, '↑', `Move ${script.name} up`),
        this.moveButton(index, 1, '↓', `Move ${script.name} down`),
      );

      const order = el('span', 'order', script.enabled ? `${position}.` : '');
      item.append(order, label, moves);
      return item;
    }));
    list.scrollTop = scrolled;
  },

  moveButton(index, by, symbol, label) {
    const button = el('button', 'btn btn-icon', symbol);
    button.type = 'button';
    button.setAttribute('aria-label', label);
    button.title = label;
    const target = index + by;
    button.disabled = target < 0 || target >= this.scripts.length;
    button.addEventListener('click', () => this.move(index, target, by < 0 ? 'up' : 'down'));
    return button;
  },

  toggle(index, enabled) {
    const [script] = this.scripts.splice(index, 1);
    script.enabled = enabled;
    // A newly ticked script joins the end of the run order; an unticked one
    // joins the unticked scripts below it.
    const firstOff = this.scripts.findIndex((s) => !s.enabled);
    this.scripts.splice(firstOff === -1 ? this.scripts.length : firstOff, 0, script);
    this.renderScripts();
    this.changed();
    $(`script-${this.scripts.indexOf(script)}`).focus();
  },

  move(from, to, direction) {
    const [script] = this.scripts.splice(from, 1);
    this.scripts.splice(to, 0, script);
    this.renderScripts();
    this.changed();
    // Keep the keyboard on the same button so repeated moves are easy.
    const label = `Move ${script.name} ${direction}`;
    const button = [...$('script-list').querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === label);
    if (button && !button.disabled) button.focus();
    else $(`script-${to}`).focus();
  },

  changed() {
    $('config-success').hidden = true;
    this.renderDirty();
  },

  clearErrors() {
    $('config-summary').hidden = true;
    for (const node of document.querySelectorAll('#config-form [data-error-for]')) node.textContent = '';
    for (const node of document.querySelectorAll('#config-form [aria-invalid]')) node.removeAttribute('aria-invalid');
    for (const node of document.querySelectorAll('#script-list .field-error')) node.remove();
    for (const node of document.querySelectorAll('#script-list [data-invalid]')) delete node.dataset.invalid;
  },

  /**
   * Puts each field error next to its input (`enabledScripts[2]` next to the
   * third ticked script) and lists them all in the summary.
   */
  showErrors(fields) {
    this.clearErrors();
    const summary = $('config-summary');
    const list = el('ul');
    for (const error of fields) {
      const target = this.placeError(error);
      const item = el('li');
      if (target) {
        const link = el('button', 'link-button', error.message);
        link.type = 'button';
        link.addEventListener('click', () => target.focus());
        item.append(link);
      } else {
        item.textContent = error.field ? `${error.field}: ${error.message}` : error.message;
      }
      list.append(item);
    }
    const count = fields.length === 1 ? '1 problem' : `${fields.length} problems`;
    summary.replaceChildren(el('strong', null, `Not saved: ${count} to fix.`), list);
    summary.hidden = false;
    summary.focus();
  },

  /** Shows one error at its field; returns the control to focus, if any. */
  placeError({ field, message }) {
    const indexed = /^enabledScripts\[(\d+)\]$/.exec(field);
    if (indexed) {
      const item = $('script-list').querySelector(`[data-position="${indexed[1]}"]`);
      if (!item) return this.placeError({ field: 'enabledScripts', message });
      item.dataset.invalid = 'true';
      const box = item.querySelector('input');
      const note = el('p', 'field-error', message);
      note.id = `${box.id}-error`;
      box.setAttribute('aria-invalid', 'true');
      box.setAttribute('aria-describedby', note.id);
      item.append(note);
      return box;
    }
    const slot = document.querySelector(`#config-form [data-error-for="${CSS.escape(field)}"]`);
    if (!slot) return null;
    slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
    const input = $(`f-${field}`) ?? $('script-list').querySelector('input');
    input?.setAttribute('aria-invalid', 'true');
    return input;
  },

  async save(request, successText) {
    const buttons = ['save-button', 'reset-button'].map($);
    for (const button of buttons) button.disabled = true;
    $('config-success').hidden = true;
    try {
      this.fill(await request());
      const success = $('config-success');
      success.textContent = `${successText} ${this.describe()}`;
      success.hidden = false;
      this.hooks.stored();
    } catch (error) {
      if (error.status === 422 && error.fields.length) this.showErrors(error.fields);
      else this.showErrors([{ field: '', message: error.message }]);
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  },

  /**
   * A config stored by anyone (this page, another page, curl), pushed over
   * the WebSocket. Shown at once unless the form holds unsaved edits, which
   * stay and are now compared with the new saved state.
   */
  stored(saved) {
    this.pushed = true;
    if (JSON.stringify(saved) === JSON.stringify(this.saved)) return;
    if (this.isDirty()) {
      this.saved = saved;
      this.renderDirty();
    } else {
      this.fill(saved);
    }
    this.hooks.stored();
  },

  describe() {
    const c = this.saved;
    const scripts = c.enabledScripts.length === 1 ? '1 script' : `${c.enabledScripts.length} scripts`;
    return `The next run: ${c.globalUserCount} VUs × ${scripts}, ${c.testDuration} each.`;
  },

  /** `hooks.stored()` runs after a new config is stored, here or elsewhere. */
  bind(hooks) {
    this.hooks = hooks;
    const form = $('config-form');
    form.addEventListener('input', () => this.changed());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.save(() => api('config', { method: 'PUT', body: this.read() }), 'Saved.');
    });
    $('reset-button').addEventListener('click', () => {
      this.save(() => api('config/reset', { method: 'POST' }), 'Reset to the defaults.');
    });
    $('revert-button').addEventListener('click', () => {
      this.fill(this.saved);
      $('config-success').hidden = true;
    });
  },
};
