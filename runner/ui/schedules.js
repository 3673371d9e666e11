// The Schedules view: every schedule (`GET /schedules`) with its pattern
// and zone, its next fires (in the schedule's own zone, as the API gives
// them) and its last fire's outcome; for operators, a form to add one and
// per schedule Enable/Disable and Delete. A viewer sees the same list,
// read-only (the API refuses a viewer's writes anyway). Owns which load
// may render (`generation`: loads overlap).

import { api, auth } from './api.js';
import { hideControlError, showControlError } from './banner.js';
import { $, el } from './dom.js';
import { format } from './format.js';
import { runState } from './run-state.js';
import { viewHash } from './views.js';

/** Next fires shown per schedule (the API gives 5). */
const NEXT_SHOWN = 3;

/** `2026-12-05 09:00:00 +01:00` from the API's local RFC 3339 time (the schedule's zone, not the browser's). */
function zoned(local) {
  return local.replace('T', ' ').replace(/([+-]\d\d:\d\d|Z)$/, ' $1');
}

/** The body of the schedule `s` with `changes` (a PUT replaces the whole schedule). */
function bodyOf(s, changes) {
  return { name: s.name, cron: s.cron, timezone: s.timezone, enabled: s.enabled, ...changes };
}

export const schedules = {
  /** Only the newest load may render. */
  generation: 0,

  bind() {
    $('schedule-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.create();
    });
  },

  /** views.js: the view is shown. */
  show() {
    this.load();
  },

  async load() {
    const generation = ++this.generation;
    $('schedules-error').textContent = '';
    let list;
    let operator;
    try {
      [list, operator] = await Promise.all([api('schedules'), auth.mayOperate()]);
    } catch (error) {
      if (generation !== this.generation) return;
      $('schedules-error').textContent = `Could not load the schedules: ${error.message}`;
      return;
    }
    if (generation !== this.generation) return;
    $('schedule-form').hidden = !operator;
    const body = $('schedules-body');
    body.replaceChildren(...list.map((s) => this.row(s, operator)));
    if (!list.length) {
      const empty = el('tr', 'empty');
      const cell = el('td', null, operator ? 'No schedule yet: add one above.' : 'No schedule yet.');
      cell.colSpan = 4;
      empty.append(cell);
      body.append(empty);
    }
    $('schedules-meta').textContent = `${list.length} ${list.length === 1 ? 'schedule' : 'schedules'}`;
  },

  /** One schedule's row. */
  row(s, operator) {
    const row = el('tr');
    row.dataset.schedule = String(s.id);
    row.dataset.enabled = String(s.enabled);

    const what = el('td');
    what.append(el('span', null, s.name ?? `Schedule ${s.id}`));
    const pattern = el('span', 'run-id mono', `${s.cron} · ${s.timezone}`);
    pattern.dataset.field = 'pattern';
    what.append(el('br'), pattern);

    const next = el('td', 'next-fires');
    if (!s.enabled) next.append(el('span', 'outcome badge-idle', 'disabled'));
    else if (!s.nextFires.length) next.textContent = '—';
    else {
      const list = el('ul', 'chips');
      for (const fire of s.nextFires.slice(0, NEXT_SHOWN)) {
        const item = el('li', 'num', zoned(fire.local));
        item.title = `${fire.at} (UTC)`;
        list.append(item);
      }
      next.append(list);
    }

    const last = el('td', 'last-fire');
    const fire = s.lastFire;
    if (!fire) last.textContent = 'Not fired yet';
    else {
      const { label, className } = runState(fire.outcome);
      const chip = el('span', `outcome ${className}`, label);
      chip.dataset.chip = fire.outcome;
      last.append(chip, ' ', el('span', 'num', format.dateTime(fire.firedAt)));
      if (fire.runId) {
        const link = el('a', 'run-id mono', fire.runId);
        link.href = viewHash('history');
        link.title = 'The run it started (see History)';
        last.append(el('br'), link);
      }
      if (fire.reason) last.append(el('br'), el('span', 'hint-inline', fire.reason));
    }

    const actions = el('td', 'actions-cell');
    if (operator) {
      const toggle = el('button', 'btn btn-small', s.enabled ? 'Disable' : 'Enable');
      toggle.type = 'button';
      toggle.dataset.action = 'toggle';
      toggle.setAttribute('aria-label', `${s.enabled ? 'Disable' : 'Enable'} schedule ${s.id}`);
      toggle.addEventListener('click', () => this.act(() => api(`schedules/${s.id}`, {
        method: 'PUT',
        body: bodyOf(s, { enabled: !s.enabled }),
      })));
      const remove = el('button', 'btn btn-small btn-danger', 'Delete');
      remove.type = 'button';
      remove.dataset.action = 'delete';
      remove.setAttribute('aria-label', `Delete schedule ${s.id}`);
      remove.addEventListener('click', () => this.act(() => api(`schedules/${s.id}`, { method: 'DELETE' })));
      actions.append(toggle, ' ', remove);
    }
    row.append(what, next, last, actions);
    return row;
  },

  /** Adds the form's schedule; a refusal shows each field's reason. */
  async create() {
    const form = $('schedule-form');
    const error = $('schedule-form-error');
    error.textContent = '';
    const name = form.elements.name.value.trim();
    const body = {
      cron: form.elements.cron.value.trim(),
      timezone: form.elements.timezone.value.trim() || 'UTC',
      enabled: form.elements.enabled.checked,
    };
    if (name) body.name = name;
    try {
      await api('schedules', { method: 'POST', body });
    } catch (refused) {
      const fields = refused.fields ?? [];
      error.textContent = fields.length
        ? fields.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join(' ')
        : refused.message;
      return;
    }
    form.elements.name.value = '';
    form.elements.cron.value = '';
    this.load();
  },

  /** Runs an operator action, then shows the schedules again. */
  async act(request) {
    hideControlError();
    try {
      await request();
    } catch (error) {
      showControlError(error.status === 403 ? `Your token may only view this runner: ${error.message}` : error.message);
    }
    this.load();
  },
};
