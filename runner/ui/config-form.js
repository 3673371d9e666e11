// The Configuration panel: every config field, the suite's entries (one
// row per step: the script, its kind, its users, a one-line summary of the
// settings the form does not edit, ↑/↓/✕), "Add script" from the
// catalogue, the regression budgets, Save, Revert and Reset, and each
// refused field's error next to its row and field. Owns the saved config as the form knows it
// (`saved`), the catalogue of `GET /scripts` and the entries being edited
// (`entries`); the other inputs hold the rest of the unsaved edits.
// Whoever must follow a newly stored config is told through
// `config.bind({ stored })`.

import { api } from './api.js';
import { $, el } from './dom.js';
import { format } from './format.js';

const NUMBER_FIELDS = ['globalUserCount', 'rampUpDuration', 'maxDuration', 'intervalBetweenTests'];
const TEXT_FIELDS = ['testDuration'];
/**
 * The fields of `regressionBudgets`, each an input `f-regressionBudgets.<name>`.
 * An empty input is left out of the config: the core gives it its default
 * (which the input shows as its placeholder).
 */
const BUDGET_FIELDS = ['latencyP95Percent', 'errorRatePoints', 'requestRatePercent'];
const budgetInput = (name) => $(`f-regressionBudgets.${name}`);

/**
 * The entry fields the form does not edit, in the order of the JSON form,
 * with the short name a row shows them by. They are kept as they came and
 * sent back unchanged; a field this page does not know is kept too.
 */
const KEPT_FIELDS = {
  testDuration: 'test',
  rampUpDuration: 'ramp-up',
  maxDuration: 'max',
  iterations: 'iterations',
  load: 'load',
  env: 'env',
  args: 'args',
};
const SECONDS_FIELDS = ['rampUpDuration', 'maxDuration'];

/** A number as typed, or the text itself, so that the server names the problem. */
const numberOrText = (text) => (/^[+-]?\d+(\.\d+)?$/.test(text) ? Number(text) : text);

/**
 * JSON with every object's keys sorted: two configs compare equal whatever
 * order their fields come in (a GET's and the WebSocket's differ).
 */
const canonical = (value) => JSON.stringify(value, (key, v) => (v && typeof v === 'object' && !Array.isArray(v)
  ? Object.fromEntries(Object.keys(v).sort().map((name) => [name, v[name]]))
  : v));

let nextKey = 0;

/**
 * An entry of `enabledScripts` as the form edits it: its script, and every
 * other field as it came (`settings`). `key` tells rows apart when the same
 * script appears twice.
 */
function entryOf(value) {
  nextKey += 1;
  if (value === null || typeof value !== 'object') return { key: nextKey, script: String(value), settings: {} };
  const { script, ...settings } = value;
  return { key: nextKey, script: String(script ?? ''), settings: structuredClone(settings) };
}

/** The entry as JSON: its name alone when it has no settings, else an object. */
const entryJson = ({ script, settings }) => (Object.keys(settings).length ? { script, ...settings } : script);

/** The settings a row summarises (all but the users it edits): `[[field, text], …]`. */
function keptSettings(settings) {
  const fields = [
    ...Object.keys(KEPT_FIELDS).filter((field) => field in settings),
    ...Object.keys(settings).filter((field) => field !== 'users' && !(field in KEPT_FIELDS)),
  ];
  return fields.map((field) => {
    const value = settings[field];
    let text;
    if (Array.isArray(value)) text = value.join(' ');
    else if (value && typeof value === 'object') text = Object.entries(value).map(([name, v]) => `${name}=${v}`).join(' ');
    else text = SECONDS_FIELDS.includes(field) && typeof value === 'number' ? `${value} s` : String(value);
    return [field, text];
  });
}

export const config = {
  saved: null,
  /** A config came over the WebSocket (it is never older than a GET's). */
  pushed: false,
  /** Configs taken from the WebSocket so far: a GET sent before the last one is older than it. */
  pushes: 0,
  catalogue: [],
  /** The suite being edited, in run order: `{ key, script, settings }`. */
  entries: [],
  /** `{ stored() }`, from `bind`. */
  hooks: null,

  async load() {
    const [saved, catalogue] = await Promise.all([api('config'), api('scripts').catch(() => [])]);
    this.catalogue = catalogue;
    this.renderCatalogue();
    // A config pushed over the WebSocket while these were in flight is
    // newer than the answer: it stays.
    this.fill(this.pushed ? this.saved : saved);
  },

  /** Shows a config from the server as the form's saved state. */
  fill(saved) {
    this.saved = saved;
    for (const name of [...NUMBER_FIELDS, ...TEXT_FIELDS]) $(`f-${name}`).value = saved[name] ?? '';
    for (const name of BUDGET_FIELDS) budgetInput(name).value = saved.regressionBudgets?.[name] ?? '';
    this.entries = (saved.enabledScripts ?? []).map(entryOf);
    this.renderEntries();
    this.clearErrors();
    this.renderDirty();
  },

  /** The form as a config; numbers that do not parse go as typed, so the server names the problem. */
  read() {
    const value = {};
    for (const name of NUMBER_FIELDS) value[name] = numberOrText($(`f-${name}`).value.trim());
    value.testDuration = $('f-testDuration').value.trim();
    value.enabledScripts = this.entries.map(entryJson);
    // Only the budgets typed: none at all leaves the field out, as a
    // config without budgets is stored.
    const budgets = {};
    for (const name of BUDGET_FIELDS) {
      const typed = budgetInput(name).value.trim();
      if (typed) budgets[name] = numberOrText(typed);
    }
    if (Object.keys(budgets).length) value.regressionBudgets = budgets;
    return value;
  },

  isDirty() {
    if (!this.saved) return false;
    const current = this.read();
    return Object.keys(current).some((key) => canonical(current[key]) !== canonical(this.saved[key]));
  },

  renderDirty() {
    const dirty = this.isDirty();
    $('config-dirty').hidden = !dirty;
    $('revert-button').disabled = !dirty;
  },

  /** What an entry's controls call it: its script, and its step where the script appears twice. */
  entryLabel(index) {
    const { script } = this.entries[index];
    const twice = this.entries.filter((entry) => entry.script === script).length > 1;
    return twice ? `${script} (step ${index + 1})` : script;
  },

  /** The global user count as typed: what an entry without its own runs with. */
  globalUsers() {
    return $('f-globalUserCount').value.trim();
  },

  renderEntries() {
    const list = $('script-list');
    // The list scrolls in its own box: a re-render (a move, a removal)
    // keeps where it was scrolled to, and focus then brings the row in view.
    const scrolled = list.scrollTop;
    list.replaceChildren(...this.entries.map((entry, index) => this.entryRow(entry, index)));
    list.scrollTop = scrolled;
  },

  entryRow(entry, index) {
    const info = this.catalogue.find((script) => script.name === entry.script);
    const label = this.entryLabel(index);
    const item = el('li', 'script-item');
    item.dataset.name = entry.script;
    item.dataset.position = String(index);
    item.dataset.key = String(entry.key);

    // The name on a line of its own, its kind and settings under it, the
    // users under the buttons: the names get the row's width in a narrow
    // column.
    const meta = el('span', 'script-meta');
    meta.append(info ? el('span', 'kind', info.kind) : el('span', 'kind kind-missing', 'not found'));
    const kept = keptSettings(entry.settings);
    if (kept.length) {
      const summary = el('span', 'entry-settings');
      kept.forEach(([field, text], i) => {
        if (i) summary.append(' · ');
        const part = el('span', null, `${KEPT_FIELDS[field] ?? field}: ${text}`);
        part.dataset.field = field;
        part.title = field;
        summary.append(part);
      });
      summary.title = kept.map(([field, text]) => `${field}: ${text}`).join('\n');
      meta.append(summary);
    }

    const moves = el('span', 'script-moves');
    moves.append(
      this.rowButton('↑', `Move ${label} up`, index === 0, () => this.move(index, index - 1, 'up')),
      this.rowButton('↓', `Move ${label} down`, index === this.entries.length - 1, () => this.move(index, index + 1, 'down')),
      this.rowButton('✕', `Remove ${label}`, false, () => this.remove(index)),
    );
    moves.children[0].dataset.move = 'up';
    moves.children[1].dataset.move = 'down';
    moves.children[2].dataset.action = 'remove';

    item.append(el('span', 'order', `${index + 1}.`), el('span', 'script-name', entry.script), moves, meta, this.usersField(entry, label));
    return item;
  },

  /** The entry's users: empty for the global count; none to give under the script's own load. */
  usersField(entry, label) {
    const own = entry.settings.load === 'script';
    const field = el('label', 'entry-users');
    const input = el('input');
    input.type = 'text';
    input.inputMode = 'numeric';
    input.autocomplete = 'off';
    input.id = `entry-users-${entry.key}`;
    input.value = entry.settings.users ?? '';
    input.dataset.own = String(own);
    input.placeholder = own ? 'own' : this.globalUsers();
    // Under its own load a script takes no users (the server refuses
    // them); one that has some anyway can still have them cleared.
    input.disabled = own && entry.settings.users === undefined;
    input.title = own ? "The script's own options decide its load" : 'Empty: the global count';
    input.setAttribute('aria-label', `Users for ${label}`);
    const take = () => {
      const typed = input.value.trim();
      if (typed) entry.settings.users = numberOrText(typed);
      else delete entry.settings.users;
    };
    // `change` too: a field cleared by the browser (autofill, WebDriver)
    // may fire no `input`.
    input.addEventListener('input', take);
    input.addEventListener('change', take);
    field.append(el('span', 'entry-users-label', 'VUs'), input);
    return field;
  },

  rowButton(symbol, label, disabled, action) {
    const button = el('button', 'btn btn-icon', symbol);
    button.type = 'button';
    button.setAttribute('aria-label', label);
    button.title = label;
    button.disabled = disabled;
    button.addEventListener('click', action);
    return button;
  },

  row(entry) {
    return $('script-list').querySelector(`[data-key="${entry.key}"]`);
  },

  move(from, to, direction) {
    const [entry] = this.entries.splice(from, 1);
    this.entries.splice(to, 0, entry);
    this.renderEntries();
    this.changed();
    // Keep the keyboard on the same button so repeated moves are easy.
    const row = this.row(entry);
    const same = row.querySelector(`button[data-move="${direction}"]`);
    (same.disabled ? row.querySelector('button[data-move]:not(:disabled)') ?? row.querySelector('button') : same).focus();
  },

  remove(index) {
    this.entries.splice(index, 1);
    this.renderEntries();
    this.changed();
    const next = this.entries[index] ?? this.entries[index - 1];
    if (next) this.row(next).querySelector('button[data-action="remove"]').focus();
    else $('add-script').querySelector('summary').focus();
  },

  /** Adds a step that runs `script` with `settings`, at the end of the suite. */
  add(script, settings) {
    const entry = entryOf({ script, ...settings });
    this.entries.push(entry);
    this.renderEntries();
    this.changed();
    this.row(entry).scrollIntoView({ block: 'nearest' });
  },

  /** The catalogue under "Add script": what k6 can run is added as it is,
   *  what it cannot is shown disabled with k6's reason, and a script that
   *  runs only its own options is offered with load "script". */
  renderCatalogue() {
    const list = $('catalogue-list');
    if (!this.catalogue.length) {
      list.replaceChildren(el('li', 'catalogue-empty', 'No scripts in the script directories.'));
      return;
    }
    list.replaceChildren(...this.catalogue.map((info, index) => this.catalogueItem(info, index)));
  },

  catalogueItem(info, index) {
    const runnable = info.runnable !== false;
    const ownLoad = Boolean(info.test?.ownLoad);
    const item = el('li', 'catalogue-item');
    item.dataset.name = info.name;
    item.dataset.runnable = String(runnable);

    const meta = el('span', 'script-meta');
    meta.append(el('span', 'kind', info.kind), el('span', 'num', format.bytes(info.sizeBytes).join(' ')));
    const scenarios = info.test?.scenarios ?? [];
    if (scenarios.length) {
      meta.append(el('span', 'scenarios', `scenarios: ${scenarios.map(([name, executor]) => `${name} (${executor})`).join(', ')}`));
    }
    const text = el('span', 'script-text');
    text.append(el('span', 'script-name', info.name), meta);

    const actions = el('span', 'catalogue-actions');
    const add = this.rowButton('Add', `Add ${info.name}`, !runnable, () => this.add(info.name, {}));
    add.className = 'btn btn-small';
    actions.append(add);
    if (!runnable && ownLoad) {
      const own = this.rowButton('Add, own load', `Add ${info.name} with its own load`, false, () => this.add(info.name, { load: 'script' }));
      own.className = 'btn btn-small';
      own.title = `Add ${info.name} with load "script": its own options (stages, scenarios) decide its load`;
      actions.append(own);
    }
    item.append(text, actions);
    if (!runnable) {
      const reason = el('p', 'catalogue-reason', info.test?.reason ?? 'k6 cannot run it under the global load.');
      reason.id = `catalogue-reason-${index}`;
      add.setAttribute('aria-describedby', reason.id);
      item.append(reason);
    }
    return item;
  },

  /** Reads the catalogue again (scripts come and go in their folders). */
  async refreshCatalogue() {
    try {
      this.catalogue = await api('scripts');
    } catch {
      return;
    }
    this.renderCatalogue();
  },

  changed() {
    $('config-success').hidden = true;
    const global = this.globalUsers();
    for (const input of document.querySelectorAll('#script-list .entry-users input[data-own="false"]')) input.placeholder = global;
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
   * Puts each field error next to its input (`enabledScripts[2].users` at
   * the third entry's users, `enabledScripts[2].env.PATH` at its env) and
   * lists them all in the summary.
   */
  showErrors(fields) {
    this.clearErrors();
    const summary = $('config-summary');
    const list = el('ul');
    fields.forEach((error, index) => {
      const target = this.placeError(error, index);
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
    });
    const count = fields.length === 1 ? '1 problem' : `${fields.length} problems`;
    summary.replaceChildren(el('strong', null, `Not saved: ${count} to fix.`), list);
    summary.hidden = false;
    summary.focus();
  },

  /** Shows one error at its field; returns the control to focus, if any. */
  placeError({ field, message }, index) {
    const indexed = /^enabledScripts\[(\d+)\](?:\.([A-Za-z_]+))?/.exec(field);
    if (indexed) {
      const [, position, sub] = indexed;
      const item = $('script-list').querySelector(`[data-position="${position}"]`);
      if (!item) return this.placeError({ field: 'enabledScripts', message });
      item.dataset.invalid = 'true';
      const note = el('p', 'field-error', message);
      note.id = `entry-error-${index}`;
      item.append(note);
      // The field itself where the row has it (its users input, or the
      // part of the summary that shows an env, args, load…), else the row.
      const part = sub && item.querySelector(`.entry-settings [data-field="${sub}"]`);
      if (part) part.dataset.invalid = 'true';
      const users = item.querySelector('.entry-users input');
      if (sub === 'users') users.setAttribute('aria-invalid', 'true');
      const control = sub === 'users' && !users.disabled ? users : item.querySelector('button[data-action="remove"]');
      const described = control.getAttribute('aria-describedby');
      control.setAttribute('aria-describedby', described ? `${described} ${note.id}` : note.id);
      return control;
    }
    const slot = document.querySelector(`#config-form [data-error-for="${CSS.escape(field)}"]`);
    if (!slot) return null;
    slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
    // The field's own input; for the budgets object as a whole its first
    // budget, for the script list "Add script".
    const group = field === 'regressionBudgets' ? budgetInput(BUDGET_FIELDS[0]) : $('add-script').querySelector('summary');
    const input = $(`f-${field}`) ?? group;
    if (input.tagName === 'INPUT') input.setAttribute('aria-invalid', 'true');
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
    this.pushes += 1;
    if (canonical(saved) === canonical(this.saved)) return;
    if (this.isDirty()) {
      this.saved = saved;
      this.renderDirty();
    } else {
      this.fill(saved);
    }
    this.hooks.stored();
  },

  /** Reads the stored config again (the WebSocket may have missed one), unless one is pushed meanwhile. */
  async reload() {
    const pushes = this.pushes;
    const saved = await api('config');
    if (pushes === this.pushes) this.stored(saved);
  },

  describe() {
    const c = this.saved;
    const steps = c.enabledScripts.length === 1 ? '1 step' : `${c.enabledScripts.length} steps`;
    const own = c.enabledScripts.filter((entry) => entry?.users !== undefined).length;
    const others = own ? `, ${own} with ${own === 1 ? 'its' : 'their'} own count` : '';
    return `The next run: ${steps} of ${c.testDuration}, ${c.globalUserCount} VUs${others}.`;
  },

  /** `hooks.stored()` runs after a new config is stored, here or elsewhere. */
  bind(hooks) {
    this.hooks = hooks;
    const form = $('config-form');
    form.addEventListener('input', () => this.changed());
    form.addEventListener('change', () => this.changed());
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
    const picker = $('add-script');
    picker.addEventListener('toggle', () => picker.open && this.refreshCatalogue());
  },
};
