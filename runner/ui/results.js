// The Results panel: the last run's record (`GET /results`), its outcome
// and versions in the header, and per step (by position: a script may run
// twice) a row with its outcome, exit code, reason, users or load,
// requests, latency, errors and checks; under it a row with what else the
// step left: thresholds, notes, the snapshot's digest, its files (links to
// `GET runs/{id}/files/{path}`), every metric (collapsed) and, when a
// wrapper ran k6 several times, one block per k6 run. Owns which refresh
// may render (`generation`: refreshes overlap) and which metric lists the
// user opened (`opened`, kept across refreshes); the record itself stays
// on the server.

import { api } from './api.js';
import { $, el } from './dom.js';
import { format, formatNumber, missing } from './format.js';
import { downloadLink } from './links.js';
import { runOutcome, runState } from './run-state.js';

/** Columns of a step's row; its details row spans them all. */
const COLUMNS = 12;
/** Hex digits of a digest shown (all of it on hover). */
const DIGEST_SHOWN = 12;

/** Milliseconds without the unit (the column header has it): 0.98, 12.3, 1,250. */
const ms = (value) => (missing(value) ? '—' : formatNumber(value, value < 10 ? 2 : value < 100 ? 1 : 0));

/** A script's name that may wrap after `-`, `_`, `.` and `/` only. */
function scriptName(name) {
  const node = el('span', 'script-name');
  for (const part of name.split(/(?<=[-_./])/)) node.append(part, el('wbr'));
  return node;
}

/** An outcome badge: the state's label, coloured as run-state.js says. */
function outcome({ label, className }) {
  return el('span', `outcome ${className}`, label);
}

/** `n VUs`, with one VU singular. */
const vus = (n) => `${format.int(n)} ${n === 1 ? 'VU' : 'VUs'}`;

/** The load a step ran with, in a few words: `2 VUs`, `own load`, `2 VUs · 100 iterations`. */
function loadText(settings) {
  if (!settings) return '';
  if (settings.load === 'script') return 'own load';
  const parts = [];
  if (!missing(settings.users)) parts.push(vus(settings.users));
  if (!missing(settings.iterations)) parts.push(`${format.int(settings.iterations)} iterations`);
  return parts.join(' · ');
}

/** Every setting a step ran with, one per line (the script cell's tooltip). */
function settingsText(settings) {
  if (!settings) return '';
  const lines = [`load: ${settings.load}`];
  if (!missing(settings.users)) lines.push(`users: ${settings.users}`);
  if (!missing(settings.testDurationSeconds)) lines.push(`test duration: ${format.duration(settings.testDurationSeconds)}`);
  if (!missing(settings.rampUpSeconds)) lines.push(`ramp-up: ${settings.rampUpSeconds} s`);
  if (!missing(settings.iterations)) lines.push(`iterations: ${settings.iterations}`);
  if (!missing(settings.maxDurationSeconds)) lines.push(`max duration: ${settings.maxDurationSeconds} s`);
  for (const [name, value] of settings.env ?? []) lines.push(`env ${name}=${value}`);
  return lines.join('\n');
}

/** The API path of a file of run `id` (each segment escaped). */
const filePath = (id, path) => `runs/${encodeURIComponent(id)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;

/** A file of the run as a download link (see links.js). */
function fileLink(id, path, text, title) {
  const link = downloadLink(filePath(id, path), path.split('/').pop(), text, title);
  link.dataset.path = path;
  return link;
}

/** One labelled block of a step's details row. */
function block(className, label, ...content) {
  const node = el('div', `step-block ${className}`);
  node.append(el('span', 'label', label), ...content);
  return node;
}

/** A summary's headline figures on one line (a k6 run of a wrapper). */
function figures(s) {
  const latency = s.latencyMs ?? {};
  const parts = [
    `${format.int(s.requests)} requests`,
    `${format.rate(s.requestsPerSecond)} req/s`,
    `avg ${format.latencyText(latency.avg)}`,
    `p95 ${format.latencyText(latency.p95)}`,
    `errors ${missing(s.errorRate) ? '—' : `${format.percent(s.errorRate)} %`}`,
  ];
  if (!missing(s.checksPassed)) parts.push(`checks ${format.int(s.checksPassed)} ✓ / ${format.int(s.checksFailed ?? 0)} ✗`);
  if (!missing(s.maxVus)) parts.push(`max ${vus(s.maxVus)}`);
  return el('span', 'run-figures', parts.join(' · '));
}

export const results = {
  /** Only the newest request may render: refreshes can overlap. */
  generation: 0,
  /** Metric lists the user opened (`run/step/k6 run`), open again after a refresh. */
  opened: new Set(),

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
    const k6 = record.k6Version ? ` · k6 ${record.k6Version}` : '';
    const meta = $('results-meta');
    meta.replaceChildren(
      document.createTextNode(`Run ${record.id} · ${format.dateTime(record.startedAt)}${span}${k6} · `),
      outcome(runOutcome(record)),
    );
    meta.title = record.runnerVersion ? `runner ${record.runnerVersion}` : '';
    reason.textContent = record.reason ?? '';
    reason.hidden = !record.reason;
    body.replaceChildren(...(record.steps.length ? record.steps.flatMap((step, index) => this.rows(record, step, index)) : [this.emptyRow('The run has no scripts.')]));
  },

  emptyRow(text) {
    const row = el('tr', 'empty');
    const cell = el('td', null, text);
    cell.colSpan = COLUMNS;
    row.append(cell);
    return row;
  },

  /** A step's row, and a row with its details if it has any. */
  rows(record, step, index) {
    const s = step.summary ?? {};
    const latency = s.latencyMs ?? {};
    const position = step.step ?? index + 1;
    const row = el('tr');
    row.dataset.script = step.script;
    row.dataset.step = String(position);
    const cell = (text, className = 'n') => row.appendChild(el('td', className, text));

    const script = el('td', 'script');
    const load = loadText(step.settings);
    script.append(scriptName(step.script), el('span', 'step-load', load ? `step ${position} · ${load}` : `step ${position}`));
    script.title = settingsText(step.settings);
    row.append(script);
    row.appendChild(el('td')).append(outcome(runState(step.state)));
    cell(step.exitCode ?? (step.signal ? `signal ${step.signal}` : '—'));
    cell(step.reason ?? '—', 'reason');
    cell(format.int(s.requests));
    cell(format.rate(s.requestsPerSecond));
    for (const key of ['avg', 'p90', 'p95', 'p99']) cell(ms(latency[key]));
    const errors = cell(missing(s.errorRate) ? '—' : `${format.percent(s.errorRate)} %`);
    if (s.errorRate > 0) errors.classList.add('bad');
    const checks = cell(missing(s.checksPassed) ? '—' : `${format.int(s.checksPassed)} / ${format.int(s.checksFailed ?? 0)}`);
    if (s.checksFailed > 0) checks.classList.add('bad');

    const label = `${step.script} (step ${position})`;
    const key = `${record.id}/${position}`;
    const blocks = [
      this.thresholds(s.thresholds, label),
      this.notes(step.notes),
      this.files(record.id, step),
      this.metrics(s.metrics, key, label),
      this.runs(s.runs, key, label),
    ].filter(Boolean);
    if (!blocks.length) return [row];
    // What a step left is a list of any length: a row of its own, across
    // the table, wraps it instead of widening the table.
    row.classList.add('has-details');
    const details = el('tr', 'details-row');
    details.dataset.forStep = String(position);
    const across = details.appendChild(el('td'));
    across.colSpan = COLUMNS;
    across.append(...blocks);
    return [row, details];
  },

  thresholds(thresholds, label) {
    if (!thresholds?.length) return null;
    const list = el('ul', 'thresholds');
    list.setAttribute('aria-label', `Thresholds of ${label}`);
    for (const t of thresholds) {
      const item = el('li', t.passed ? 'pass' : 'fail', `${t.metric} ${t.expression}`);
      item.title = t.passed ? 'passed' : 'crossed';
      list.append(item);
    }
    return block('step-thresholds', 'Thresholds', list);
  },

  /** What the operator should know about how the step ran (warnings). */
  notes(notes) {
    if (!notes?.length) return null;
    const list = el('ul', 'notes');
    for (const note of notes) list.append(el('li', null, note));
    return block('step-notes', 'Notes', list);
  },

  /** The snapshot's digest, the step's log and its files, as links. */
  files(id, step) {
    const parts = [];
    const snapshot = step.snapshot;
    if (snapshot?.sha256) {
      const digest = el('code', 'digest', snapshot.sha256.slice(0, DIGEST_SHOWN));
      digest.title = `sha256 ${snapshot.sha256} (snapshot)\nsha256 ${snapshot.scriptSha256} (the script)\n${(snapshot.files ?? []).map((f) => f.path).join('\n')}`;
      parts.push(el('span', 'label-inline', 'snapshot'), digest);
    }
    const inDir = (path) => (step.dir && path.startsWith(`${step.dir}/`) ? path.slice(step.dir.length + 1) : path);
    const links = el('span', 'file-links');
    // A k6 step's snapshot is its archive, a file; a wrapper's is a folder.
    if (snapshot?.path && step.kind === 'k6') links.append(fileLink(id, snapshot.path, inDir(snapshot.path), 'The archive the step ran from'));
    if (step.logFile) links.append(fileLink(id, step.logFile, inDir(step.logFile), "The step's output"));
    for (const file of step.files ?? []) {
      links.append(fileLink(id, file.path, `${inDir(file.path)} (${format.bytes(file.sizeBytes).join(' ')})`, file.path));
    }
    if (links.childElementCount) parts.push(links);
    return parts.length ? block('step-files', 'Files', ...parts) : null;
  },

  /** Every metric of a summary in a compact table, collapsed until opened. */
  metrics(metrics, key, label) {
    if (!metrics?.length) return null;
    const details = el('details', 'metrics');
    details.dataset.key = key;
    details.open = this.opened.has(key);
    details.addEventListener('toggle', () => (details.open ? this.opened.add(key) : this.opened.delete(key)));
    details.append(el('summary', null, `All metrics (${metrics.length})`));
    const table = el('table', 'metric-table');
    table.setAttribute('aria-label', `Metrics of ${label}`);
    const head = table.createTHead().insertRow();
    for (const name of ['Metric', 'Type', 'Values']) head.append(el('th', null, name));
    const body = table.createTBody();
    for (const metric of metrics) {
      const row = body.insertRow();
      row.dataset.metric = metric.name;
      row.append(el('td', 'metric-name', metric.name));
      const type = el('td', 'metric-type', metric.type);
      if (metric.contains) type.title = metric.contains;
      row.append(type);
      const values = el('td', 'metric-values');
      for (const [stat, value] of format.stats(metric.values)) {
        const item = el('span', 'stat');
        item.append(el('span', 'stat-name', stat), ` ${format.stat(metric, stat, value)}`);
        values.append(item, ' ');
      }
      row.append(values);
    }
    details.append(table);
    return details;
  },

  /** A wrapper that ran k6 several times: one block per k6 run. */
  runs(runs, key, label) {
    if (!runs?.length) return null;
    const node = el('div', 'k6-runs');
    node.append(el('p', 'k6-runs-note', `k6 ran ${runs.length} times in this step; the figures in its row are the exact sums only.`));
    runs.forEach((run, index) => {
      const item = el('div', 'k6-run');
      item.dataset.run = String(index + 1);
      item.append(el('span', 'label', `k6 run ${index + 1}`), figures(run));
      const metrics = this.metrics(run.metrics, `${key}/${index + 1}`, `${label}, k6 run ${index + 1}`);
      if (metrics) item.append(metrics);
      node.append(item);
    });
    return node;
  },
};
