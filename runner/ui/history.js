// The History view: the stored runs newest first (`GET /runs`), filtered
// by the API's own filters (script, state, start time) which live in the
// view's hash (`#history?script=&state=&from=&to=&limit=`), paged with
// `before` ("Older runs" appends the next page), each run with its outcome
// chips (*scheduled* for a run a schedule started), its scripts, its
// reports (report.html, junit.xml) and its actions: Compare, and for
// operators Set as baseline / Clear baseline and Delete (after a
// confirmation). Above the runs, a sparkline per script
// (`GET /trend`) of its p95 latency and requests/s. Owns the runs shown,
// the page cursor and which load may render (`generation`: loads overlap).

import { api, auth } from './api.js';
import { hideControlError, showControlError } from './banner.js';
import { $, el } from './dom.js';
import { format, missing } from './format.js';
import { downloadLink } from './links.js';
import { runOutcome, runState } from './run-state.js';
import { sparkline } from './sparkline.js';
import { viewHash, views } from './views.js';

/** Runs per page unless the hash says `limit=`. */
const PAGE_SIZE = 50;
/** Scripts given a trend: each costs two requests. */
const MAX_TRENDS = 8;
/** Runs a trend goes back over. */
const TREND_POINTS = 30;
/** The hash parameters that are the API's filters (and the page size). */
const FILTERS = ['script', 'state', 'from', 'to', 'limit'];

/** `2026-12-03T13:05` (a `datetime-local` value, local time) from an RFC 3339 time. */
function localInput(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** An RFC 3339 time in UTC, whole seconds (as the API compares them), from a `datetime-local` value. */
function isoFromInput(value) {
  const date = new Date(value);
  return !value || Number.isNaN(date.getTime()) ? '' : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A chip: `state`'s label and colour (run-state.js). */
function chip(state, title) {
  const { label, className } = runState(state);
  const node = el('span', `outcome ${className}`, label);
  node.dataset.chip = state;
  if (title) node.title = title;
  return node;
}

/** A run's scripts in step order, each once, with how often it ran: `[[name, times], …]`. */
function scriptCounts(scripts) {
  const counts = new Map();
  for (const name of scripts) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts];
}

/** A small button of a run's row. */
function rowButton(text, action, label, className = 'btn btn-small') {
  const button = el('button', className, text);
  button.type = 'button';
  button.dataset.action = action;
  button.setAttribute('aria-label', label);
  return button;
}

export const history = {
  /** The filters shown (from the hash). */
  params: new URLSearchParams(),
  /** The `before` of the next page, if any. */
  nextBefore: null,
  /** Only the newest load may render. */
  generation: 0,
  /** Scripts offered by the script filter: the catalogue's and every script seen in a run. */
  scripts: new Set(),

  bind() {
    const form = $('history-filters');
    form.addEventListener('submit', (event) => event.preventDefault());
    form.addEventListener('change', () => views.go('history', this.readFilters()));
    $('h-clear').addEventListener('click', () => views.go('history', {}));
    $('history-more').addEventListener('click', () => this.load(this.nextBefore));
  },

  /** The filters as the form holds them (the page size kept from the hash). */
  readFilters() {
    return {
      script: $('h-script').value,
      state: $('h-state').value,
      from: isoFromInput($('h-from').value),
      to: isoFromInput($('h-to').value),
      limit: this.params.get('limit') ?? '',
    };
  },

  /** The view is shown (or its hash changed): the filters from the hash, the first page. */
  show(params) {
    this.params = params;
    this.fillFilters();
    this.loadScripts();
    this.load(null);
  },

  fillFilters() {
    this.offerScript(this.params.get('script'));
    $('h-script').value = this.params.get('script') ?? '';
    $('h-state').value = this.params.get('state') ?? '';
    $('h-from').value = localInput(this.params.get('from'));
    $('h-to').value = localInput(this.params.get('to'));
  },

  async loadScripts() {
    try {
      for (const script of await api('scripts')) this.offerScript(script.name);
    } catch {
      // The filter still offers every script seen in a run.
    }
  },

  /** Adds `name` to the script filter's choices, in name order. */
  offerScript(name) {
    if (!name || this.scripts.has(name)) return;
    this.scripts.add(name);
    const select = $('h-script');
    const option = el('option', null, name);
    option.value = name;
    const after = [...select.options].slice(1).find((o) => o.value > name);
    select.insertBefore(option, after ?? null);
  },

  /** The API query of the filters, and `before` for a next page. */
  query(before) {
    const query = new URLSearchParams();
    for (const name of FILTERS) {
      const value = this.params.get(name);
      if (value) query.set(name, value);
    }
    if (!query.has('limit')) query.set('limit', String(PAGE_SIZE));
    if (before) query.set('before', before);
    return query.toString();
  },

  /** Loads the first page (`before` null: replacing what is shown) or the next one (appended). */
  async load(before) {
    const generation = ++this.generation;
    $('history-error').textContent = '';
    $('history-more').disabled = true;
    let page;
    let operator;
    try {
      [page, operator] = await Promise.all([api(`runs?${this.query(before)}`), auth.mayOperate()]);
    } catch (error) {
      if (generation !== this.generation) return;
      $('history-error').textContent = `Could not load the runs: ${error.message}`;
      $('history-more').disabled = false;
      return;
    }
    if (generation !== this.generation) return;
    const body = $('history-body');
    if (!before) body.replaceChildren();
    for (const run of page.runs) {
      run.scripts.forEach((name) => this.offerScript(name));
      body.append(this.row(run, operator));
    }
    if (!body.children.length) {
      const empty = el('tr', 'empty');
      const cell = el('td', null, this.params.toString() ? 'No run matches these filters.' : 'No run has ended yet.');
      cell.colSpan = 6;
      empty.append(cell);
      body.append(empty);
    }
    this.nextBefore = page.nextBefore ?? null;
    $('history-more').hidden = !this.nextBefore;
    $('history-more').disabled = false;
    const shown = body.querySelectorAll('tr[data-run]').length;
    $('history-meta').textContent = `${shown} ${shown === 1 ? 'run' : 'runs'} shown${this.nextBefore ? ', more older' : ''}`;
    if (!before) this.loadTrends(page.runs, generation);
  },

  /** One run's row. */
  row(run, operator) {
    const row = el('tr');
    row.dataset.run = run.id;
    row.dataset.state = run.state;
    const ended = run.state !== 'running';

    const started = el('td', 'started');
    started.append(el('span', 'num', format.dateTime(run.startedAt)), el('span', 'run-id mono', run.id));

    const outcome = el('td', 'chips-cell');
    const shown = runOutcome(run);
    const main = el('span', `outcome ${shown.className}`, shown.label);
    main.dataset.chip = run.outcome ?? run.state;
    outcome.append(main);
    if (run.regressed === true) outcome.append(' ', chip('regressed', 'Worse than its baseline by more than a budget'));
    if (run.baseline) outcome.append(' ', chip('baseline', 'The baseline of its suite entries'));
    if (run.startedBy?.kind === 'schedule') outcome.append(' ', chip('scheduled', `Started by schedule ${run.startedBy.schedule}`));
    if (run.reason) outcome.title = run.reason;

    const scripts = el('td', 'scripts-cell');
    const list = el('ul', 'chips');
    for (const [name, times] of scriptCounts(run.scripts)) {
      const item = el('li');
      item.append(el('span', 'chip', times > 1 ? `${name} ×${times}` : name));
      list.append(item);
    }
    scripts.append(list);

    const duration = el('td', 'n', ended && run.endedAt
      ? format.duration((Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000)
      : '—');

    const reports = el('td', 'reports-cell');
    if (ended) {
      const id = encodeURIComponent(run.id);
      reports.append(
        downloadLink(`runs/${id}/report.html`, `k6-run-${run.id}.html`, 'Report', 'A self-contained HTML report (opens offline)', 'file-link report-link'),
        ' ',
        downloadLink(`runs/${id}/junit.xml`, `k6-run-${run.id}.junit.xml`, 'JUnit', 'Thresholds and checks as JUnit XML, for CI', 'file-link junit-link'),
      );
    }

    const actions = el('td', 'actions-cell');
    if (ended) {
      const compare = el('a', 'btn btn-small', 'Compare');
      compare.href = viewHash('compare', { run: run.id });
      compare.dataset.action = 'compare';
      compare.setAttribute('aria-label', `Compare run ${run.id}`);
      actions.append(compare);
    }
    // Operators only (a viewer's actions would be refused anyway), and
    // never on a run in progress (the API refuses that too).
    if (operator && ended) {
      const baseline = run.baseline
        ? rowButton('Clear baseline', 'clear-baseline', `Clear baseline ${run.id}`)
        : rowButton('Set as baseline', 'set-baseline', `Set run ${run.id} as baseline`);
      baseline.addEventListener('click', () => this.act(
        () => api(`runs/${encodeURIComponent(run.id)}/baseline`, { method: run.baseline ? 'DELETE' : 'PUT' }),
      ));
      const remove = rowButton('Delete', 'delete', `Delete run ${run.id}`, 'btn btn-small btn-danger');
      remove.addEventListener('click', () => this.confirmDelete(run));
      actions.append(baseline, remove);
    }
    row.append(started, outcome, scripts, duration, reports, actions);
    return row;
  },

  /** Runs an operator action, then shows the runs again (a baseline moves, a run goes). */
  async act(request) {
    hideControlError();
    try {
      await request();
    } catch (error) {
      showControlError(error.status === 403 ? `Your token may only view this runner: ${error.message}` : error.message);
    }
    this.load(null);
  },

  confirmDelete(run) {
    const dialog = $('delete-dialog');
    $('delete-dialog-text').textContent =
      `Run ${run.id} (${format.dateTime(run.startedAt)}): its history, logs and files are removed. This cannot be undone.`;
    dialog.returnValue = '';
    dialog.addEventListener('close', () => {
      if (dialog.returnValue === 'confirm') this.act(() => api(`runs/${encodeURIComponent(run.id)}`, { method: 'DELETE' }));
    }, { once: true });
    dialog.showModal();
  },

  /** A sparkline per script of the first page (or the filtered script): p95 latency and requests/s. */
  async loadTrends(runs, generation) {
    const filtered = this.params.get('script');
    const names = filtered ? [filtered] : [...new Set(runs.flatMap((run) => run.scripts))].slice(0, MAX_TRENDS);
    const trend = (script, metric) => api(`trend?${new URLSearchParams({ script, metric, limit: String(TREND_POINTS) })}`)
      .then((answer) => answer.points.map((point) => point.value))
      .catch(() => []);
    const cards = await Promise.all(names.map(async (script) => {
      const [latency, rate] = await Promise.all([trend(script, 'http_req_duration'), trend(script, 'http_reqs')]);
      return this.trendCard(script, latency, rate);
    }));
    if (generation !== this.generation) return;
    $('trends').replaceChildren(...cards);
  },

  trendCard(script, latency, rate) {
    const card = el('li', 'trend');
    card.dataset.script = script;
    const last = (values) => values.at(-1);
    const figure = (kind, values, text) => {
      const part = el('span', 'trend-figure');
      part.dataset.trend = kind;
      part.append(sparkline(values, `${script}: ${kind} over ${values.length} runs, last ${text}`), el('span', 'trend-last num', text));
      return part;
    };
    card.append(
      el('span', 'script-name', script),
      figure('p95', latency, missing(last(latency)) ? '—' : `p95 ${format.latencyText(last(latency))}`),
      figure('rps', rate, missing(last(rate)) ? '—' : `${format.rate(last(rate))} req/s`),
    );
    return card;
  },
};
