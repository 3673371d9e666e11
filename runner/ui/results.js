// The Results panel: the last run's record (`GET /results`), one row per
// script with its outcome, exit code, reason, requests, latency, errors,
// checks and thresholds. Owns which refresh may render (`generation`:
// refreshes overlap); the record itself stays on the server.

import { api } from './api.js';
import { $, el } from './dom.js';
import { format, missing } from './format.js';

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
      el('span', `outcome outcome-${record.state}`, record.state),
    );
    reason.textContent = record.reason ?? '';
    reason.hidden = !record.reason;
    body.replaceChildren(...(record.steps.length ? record.steps.map((step) => this.row(step)) : [this.emptyRow('The run has no scripts.')]));
  },

  emptyRow(text) {
    const row = el('tr', 'empty');
    const cell = el('td', null, text);
    cell.colSpan = 13;
    row.append(cell);
    return row;
  },

  row(step) {
    const s = step.summary ?? {};
    const latency = s.latencyMs ?? {};
    const row = el('tr');
    row.dataset.script = step.script;
    const cell = (text, className = 'n') => row.appendChild(el('td', className, text));

    cell(step.script, 'script');
    row.appendChild(el('td')).append(el('span', `outcome outcome-${step.state}`, step.state));
    cell(step.exitCode ?? (step.signal ? `signal ${step.signal}` : '—'));
    cell(step.reason ?? '—', 'reason');
    cell(format.int(s.requests));
    cell(format.rate(s.requestsPerSecond));
    for (const key of ['avg', 'p90', 'p95', 'p99']) cell(format.latencyText(latency[key]));
    const errors = cell(missing(s.errorRate) ? '—' : `${format.percent(s.errorRate)} %`);
    if (s.errorRate > 0) errors.classList.add('bad');
    const checks = cell(missing(s.checksPassed) ? '—' : `${format.int(s.checksPassed)} / ${format.int(s.checksFailed ?? 0)}`);
    if (s.checksFailed > 0) checks.classList.add('bad');

    const thresholds = row.appendChild(el('td'));
    if (s.thresholds?.length) {
      const list = thresholds.appendChild(el('ul', 'thresholds'));
      for (const t of s.thresholds) {
        const item = el('li', t.passed ? 'pass' : 'fail', `${t.metric} ${t.expression}`);
        item.title = t.passed ? 'passed' : 'crossed';
        list.append(item);
      }
    } else {
      thresholds.textContent = '—';
    }
    return row;
  },
};
