// The Results panel: the last run's record (`GET /results`), one row per
// script with its outcome, exit code, reason, requests, latency, errors and
// checks, and under it a row with its thresholds. Owns which refresh may render (`generation`:
// refreshes overlap); the record itself stays on the server.

import { api } from './api.js';
import { $, el } from './dom.js';
import { format, formatNumber, missing } from './format.js';
import { runState } from './run-state.js';

/** Columns of a script's row; its thresholds row spans them all. */
const COLUMNS = 12;

/** Milliseconds without the unit (the column header has it): 0.98, 12.3, 1,250. */
const ms = (value) => (missing(value) ? '—' : formatNumber(value, value < 10 ? 2 : value < 100 ? 1 : 0));

/** A script's name that may wrap after `-`, `_`, `.` and `/` only. */
function scriptName(name) {
  const cell = el('td', 'script');
  for (const part of name.split(/(?<=[-_./])/)) cell.append(part, el('wbr'));
  return cell;
}

/** An outcome badge: the state's label, coloured as run-state.js says. */
function outcome(state) {
  const { label, className } = runState(state);
  return el('span', `outcome ${className}`, label);
}

export const results = {
  /** Only the newest request may render: refreshes can overlap. */
  generation: 0,

  async refresh() {
    const generation = ++this.generation;
    let record = null;
    try {
      record = await api('results');
    } catch (error) {
      if (error.status !== 404) {
        if (generation === this.generation) $('results-meta').textContent = `Could not load: ${error.message}`;
        return;
      }
    }
    if (generation === this.generation) this.render(record);
  },

  render(record) {
    const body = $('results-body');
    const reason = $('results-reason');
    if (!record) {
      $('results-meta').textContent = 'No run yet';
      reason.hidden = true;
      body.replaceChildren(this.emptyRow('Results appear here when a run ends.'));
      return;
    }
    const span = record.endedAt ? ` · ${format.duration((Date.parse(record.endedAt) - Date.parse(record.startedAt)) / 1000)}` : '';
    const meta = $('results-meta');
    meta.replaceChildren(
      document.createTextNode(`Run ${record.id} · ${format.dateTime(record.startedAt)}${span} · `),
      outcome(record.state),
    );
    reason.textContent = record.reason ?? '';
    reason.hidden = !record.reason;
    body.replaceChildren(...(record.steps.length ? record.steps.flatMap((step) => this.rows(step)) : [this.emptyRow('The run has no scripts.')]));
  },

  emptyRow(text) {
    const row = el('tr', 'empty');
    const cell = el('td', null, text);
    cell.colSpan = COLUMNS;
    row.append(cell);
    return row;
  },

  /** A script's row, and a row with its thresholds if it has any. */
  rows(step) {
    const s = step.summary ?? {};
    const latency = s.latencyMs ?? {};
    const row = el('tr');
    row.dataset.script = step.script;
    const cell = (text, className = 'n') => row.appendChild(el('td', className, text));

    row.append(scriptName(step.script));
    row.appendChild(el('td')).append(outcome(step.state));
    cell(step.exitCode ?? (step.signal ? `signal ${step.signal}` : '—'));
    cell(step.reason ?? '—', 'reason');
    cell(format.int(s.requests));
    cell(format.rate(s.requestsPerSecond));
    for (const key of ['avg', 'p90', 'p95', 'p99']) cell(ms(latency[key]));
    const errors = cell(missing(s.errorRate) ? '—' : `${format.percent(s.errorRate)} %`);
    if (s.errorRate > 0) errors.classList.add('bad');
    const checks = cell(missing(s.checksPassed) ? '—' : `${format.int(s.checksPassed)} / ${format.int(s.checksFailed ?? 0)}`);
    if (s.checksFailed > 0) checks.classList.add('bad');

    if (!s.thresholds?.length) return [row];
    // Thresholds are a list of any length: a row of their own, across the
    // table, wraps them instead of widening the table.
    row.classList.add('has-thresholds');
    const thresholds = el('tr', 'thresholds-row');
    thresholds.dataset.for = step.script;
    const across = thresholds.appendChild(el('td'));
    across.colSpan = COLUMNS;
    const list = el('ul', 'thresholds');
    list.setAttribute('aria-label', `Thresholds of ${step.script}`);
    for (const t of s.thresholds) {
      const item = el('li', t.passed ? 'pass' : 'fail', `${t.metric} ${t.expression}`);
      item.title = t.passed ? 'passed' : 'crossed';
      list.append(item);
    }
    across.append(el('span', 'label', 'Thresholds'), list);
    return [row, thresholds];
  },
};
