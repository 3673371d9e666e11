// The Compare view: two ended runs, a base and a run (from the hash,
// `#compare?base=<id>&run=<id>`; by default the newest baseline and the
// newest run), compared by the API (`GET /compare`): per suite entry the
// headline figures of both side by side with their absolute and relative
// deltas, coloured by the verdict against the budgets (red: a budget
// crossed, green: within it, grey: nothing to compare), every
// threshold's change and, collapsed, every other metric; the comparison
// report to download; and the four live-metric charts of both runs
// overlaid on one axis of seconds from each run's start, step after step
// (`GET /runs/{id}/metrics`). Owns the runs offered, the plots and which load
// may render (`generation`).

import { api } from './api.js';
import { CHARTS, createPlot } from './charts.js';
import { $, el } from './dom.js';
import { format, formatNumber, missing } from './format.js';
import { downloadLink } from './links.js';
import { runOutcome, runState } from './run-state.js';
import { views } from './views.js';

/** Runs offered in the two pickers (newest first); an older one named by the hash is added. */
const RUNS_OFFERED = 100;

/** Each headline figure: its label and how its values and its delta read. */
const FIGURES = {
  requestsPerSecond: { label: 'Requests/s', value: (v) => `${format.rate(v)}/s`, delta: (d) => `${signed(d, format.rate)}/s` },
  latencyP50Ms: { label: 'Latency p50', value: format.latencyText, delta: (d) => signedLatency(d) },
  latencyP95Ms: { label: 'Latency p95', value: format.latencyText, delta: (d) => signedLatency(d) },
  latencyP99Ms: { label: 'Latency p99', value: format.latencyText, delta: (d) => signedLatency(d) },
  errorRate: { label: 'Failed requests', value: (v) => `${format.percent(v)} %`, delta: (d) => `${signed(d * 100, (n) => formatNumber(n, 2))} points` },
  checksPassed: { label: 'Checks passed', value: format.int, delta: (d) => signed(d, format.int) },
  checksFailed: { label: 'Checks failed', value: format.int, delta: (d) => signed(d, format.int) },
  iterations: { label: 'Iterations', value: format.int, delta: (d) => signed(d, format.int) },
};

/** What each budget is, by the figure it applies to. */
const BUDGET_TEXT = {
  requestsPerSecond: (b) => `may fall ${formatNumber(b, 1)} %`,
  latencyP95Ms: (b) => `may rise ${formatNumber(b, 1)} %`,
  errorRate: (b) => `may rise ${formatNumber(b, 2)} points`,
};

/** How each threshold change reads, and whether it is bad (red) or good (green). */
const THRESHOLD_CHANGES = {
  stillHeld: ['still held', 'pass'],
  stillCrossed: ['still crossed', 'fail'],
  newlyCrossed: ['newly crossed', 'fail'],
  nowHeld: ['now held', 'pass'],
  added: ['only in the run', ''],
  removed: ['only in the base', ''],
};

/** `n` with its sign (`+1.2`, `−3`), formatted by `fmt`. */
function signed(n, fmt) {
  if (missing(n)) return '—';
  return `${n > 0 ? '+' : n < 0 ? '−' : '±'}${fmt(Math.abs(n))}`;
}

function signedLatency(d) {
  if (missing(d)) return '—';
  return `${d > 0 ? '+' : d < 0 ? '−' : '±'}${format.latencyText(Math.abs(d))}`;
}

/** A plain number of a metric's statistic (its unit is not in the comparison). */
const plain = (v) => (missing(v) ? '—' : Number.isInteger(v) ? formatNumber(v) : formatNumber(v, Math.abs(v) < 10 ? 3 : 1));

const percentText = (p) => signed(p, (n) => `${formatNumber(n, 1)} %`);

/** The verdict a delta is coloured by: its own when a budget applies, else none. */
const shownVerdict = (delta) => (delta.budget === undefined ? 'none' : delta.verdict);

/** A picker's text for a run: when, how it ended, its scripts. */
function runLabel(run) {
  const scripts = [...new Set(run.scripts)].join(', ');
  const marks = [run.baseline ? 'baseline' : '', run.regressed ? 'regressed' : ''].filter(Boolean).join(', ');
  return `${format.dateTime(run.startedAt)} · ${runOutcome(run).label}${marks ? ` (${marks})` : ''} · ${scripts}`;
}

/**
 * The readings of two runs on one axis of whole seconds from each run's
 * start: `[xs, run values, base values]`. A stored reading has its step
 * and its time in the step (`atMs`), so each run's steps are laid one
 * after the other (the pauses between them left out) and step n of one
 * run falls over step n of the other; a null between two steps breaks the
 * line there, and so does a second one run has and the other lacks.
 */
function overlay(base, run, read) {
  const bySecond = (points) => {
    const values = new Map();
    let step = null;
    let offset = 0;
    let end = -1;
    for (const point of points) {
      if (point.step !== step) {
        if (step !== null) {
          values.set(end + 1, null);
          offset = end + 2;
        }
        step = point.step;
      }
      const x = offset + Math.round((point.atMs ?? 0) / 1000);
      values.set(x, read(point));
      end = Math.max(end, x);
    }
    return values;
  };
  const b = bySecond(base);
  const r = bySecond(run);
  const xs = [...new Set([...b.keys(), ...r.keys()])].sort((x, y) => x - y);
  return [xs, xs.map((x) => r.get(x) ?? null), xs.map((x) => b.get(x) ?? null)];
}

export const compare = {
  /** The ended runs offered, newest first. */
  runs: [],
  plots: null,
  generation: 0,

  bind() {
    const pick = () => views.go('compare', { base: $('c-base').value, run: $('c-run').value });
    $('c-base').addEventListener('change', pick);
    $('c-run').addEventListener('change', pick);
    $('c-swap').addEventListener('click', () => views.go('compare', { base: $('c-run').value, run: $('c-base').value }));
  },

  /** The view is shown: the runs offered again (unless only the choice changed), then the comparison. */
  async show(params, again) {
    const generation = ++this.generation;
    $('compare-error').textContent = '';
    try {
      if (!again || !this.runs.length) {
        const page = await api(`runs?limit=${RUNS_OFFERED}`);
        this.runs = page.runs.filter((run) => run.state !== 'running');
      }
    } catch (error) {
      if (generation === this.generation) $('compare-error').textContent = `Could not load the runs: ${error.message}`;
      return;
    }
    if (generation !== this.generation) return;
    const { base, run } = this.choose(params);
    this.offer($('c-base'), base);
    this.offer($('c-run'), run);
    if (!base || !run) {
      this.clear('Compare needs two ended runs: run the suite twice.');
      return;
    }
    await this.load(base, run, generation);
  },

  /**
   * The runs to compare: the hash's, else the newest run and, as its base,
   * the newest baseline other than it, else the run before it.
   */
  choose(params) {
    const run = params.get('run') || this.runs[0]?.id;
    const others = this.runs.filter((r) => r.id !== run);
    const index = this.runs.findIndex((r) => r.id === run);
    const before = index >= 0 ? this.runs[index + 1] : undefined;
    const base = params.get('base') || others.find((r) => r.baseline)?.id || before?.id || others[0]?.id;
    return { base, run };
  },

  find(id) {
    return this.runs.find((run) => run.id === id);
  },

  /** Fills a picker with the runs offered, `chosen` selected (added if older than the list). */
  offer(select, chosen) {
    const options = this.runs.map((run) => {
      const option = el('option', null, runLabel(run));
      option.value = run.id;
      return option;
    });
    if (chosen && !this.find(chosen)) {
      const option = el('option', null, `Run ${chosen}`);
      option.value = chosen;
      options.push(option);
    }
    select.replaceChildren(...options);
    select.value = chosen ?? '';
  },

  clear(message) {
    $('compare-meta').textContent = message;
    $('compare-verdict').replaceChildren();
    $('compare-entries').replaceChildren();
    $('compare-report').replaceChildren();
    this.draw([], []);
  },

  async load(base, run, generation) {
    let comparison;
    let series;
    try {
      const query = new URLSearchParams({ base, run });
      [comparison, ...series] = await Promise.all([
        api(`compare?${query}`),
        api(`runs/${encodeURIComponent(base)}/metrics`).catch(() => []),
        api(`runs/${encodeURIComponent(run)}/metrics`).catch(() => []),
      ]);
    } catch (error) {
      if (generation !== this.generation) return;
      this.clear('Nothing to compare');
      $('compare-error').textContent = `Could not compare: ${error.message}`;
      return;
    }
    if (generation !== this.generation) return;
    this.render(comparison);
    this.draw(series[0], series[1]);
  },

  render(comparison) {
    const when = (id) => {
      const started = this.find(id)?.startedAt;
      return started ? format.dateTime(started) : 'older than the runs offered';
    };
    $('compare-meta').textContent = `Run ${comparison.run} (${when(comparison.run)}) against base ${comparison.base} (${when(comparison.base)})`;
    const verdict = $('compare-verdict');
    const { label, className } = runState(comparison.verdict);
    const badge = el('span', `outcome ${className}`, label);
    badge.dataset.verdict = comparison.verdict;
    const b = comparison.budgets;
    verdict.replaceChildren(
      badge,
      el('span', 'budgets-text', ` Budgets (the run's): p95 +${formatNumber(b.latencyP95Percent, 1)} %, failed requests +${formatNumber(b.errorRatePoints, 2)} points, requests/s −${formatNumber(b.requestRatePercent, 1)} %`),
    );
    const query = new URLSearchParams({ base: comparison.base, run: comparison.run });
    $('compare-report').replaceChildren(downloadLink(
      `compare/report.html?${query}`,
      `k6-compare-${comparison.base}-${comparison.run}.html`,
      'Download report',
      'The comparison as a self-contained HTML report (opens offline)',
      'btn btn-small report-link',
    ));
    $('compare-entries').replaceChildren(...comparison.entries.map((entry) => this.entry(entry)));
  },

  /** One suite entry: its headline table, its thresholds, every other metric. */
  entry(entry) {
    const section = el('section', 'compare-entry');
    section.dataset.entry = entry.entry;
    section.dataset.verdict = entry.verdict;
    const head = el('div', 'compare-entry-head');
    const steps = `step ${entry.baseStep ?? '—'} in the base, ${entry.runStep ?? '—'} in the run`;
    const { label, className } = runState(entry.verdict);
    head.append(el('h3', 'script-name', entry.entry), el('span', 'panel-meta', steps), el('span', `outcome ${className}`, label));

    const table = el('table', 'results compare-table');
    const headRow = el('tr');
    for (const [text, numeric] of [['Figure', false], ['Base', true], ['Run', true], ['Change', true], ['Change %', true], ['Budget', false]]) {
      const th = el('th', numeric ? 'n' : null, text);
      th.scope = 'col';
      headRow.append(th);
    }
    const thead = el('thead');
    thead.append(headRow);
    const body = el('tbody');
    for (const delta of entry.headline) {
      const figure = FIGURES[delta.name] ?? { label: delta.name, value: plain, delta: (d) => signed(d, plain) };
      const row = el('tr', 'delta-row');
      row.dataset.figure = delta.name;
      row.dataset.verdict = shownVerdict(delta);
      const budget = delta.budget === undefined ? '' : (BUDGET_TEXT[delta.name]?.(delta.budget) ?? String(delta.budget));
      row.append(
        el('th', 'figure', figure.label),
        el('td', 'n', missing(delta.base) ? '—' : figure.value(delta.base)),
        el('td', 'n', missing(delta.run) ? '—' : figure.value(delta.run)),
        el('td', 'n delta', figure.delta(delta.absolute)),
        el('td', 'n delta', percentText(delta.relativePercent)),
        el('td', 'budget', budget),
      );
      row.firstChild.scope = 'row';
      if (delta.verdict === 'regressed') row.title = `Crossed its budget: ${budget}`;
      body.append(row);
    }
    table.append(thead, body);
    const wrap = el('div', 'table-wrap');
    wrap.append(table);
    section.append(head, wrap);

    if (entry.thresholds.length) {
      const list = el('ul', 'thresholds');
      for (const t of entry.thresholds) {
        const [text, tone] = THRESHOLD_CHANGES[t.change] ?? [t.change, ''];
        const item = el('li', tone, `${t.metric} ${t.expression}: ${text}`);
        item.dataset.change = t.change;
        list.append(item);
      }
      const block = el('div', 'step-block');
      block.append(el('span', 'label', 'Thresholds'), list);
      section.append(block);
    }

    if (entry.metrics.length) {
      const details = el('details', 'metrics');
      details.append(el('summary', null, `Every metric (${entry.metrics.length})`));
      const metrics = el('table', 'metric-table');
      for (const delta of entry.metrics) {
        const row = el('tr');
        row.append(
          el('td', 'metric-name', delta.name),
          el('td', 'n', plain(delta.base)),
          el('td', 'n', plain(delta.run)),
          el('td', 'n', signed(delta.absolute, plain)),
          el('td', 'n', percentText(delta.relativePercent)),
        );
        metrics.append(row);
      }
      details.append(metrics);
      section.append(details);
    }
    return section;
  },

  /** The four charts with both runs' readings overlaid (the plots made on first use, when visible). */
  draw(base, run) {
    this.plots ??= CHARTS.map((chart) => createPlot($(`cmp-${chart.id}`).querySelector('[data-plot]'), {
      lines: [{ color: chart.color }, { color: '--neutral', dash: [6, 4] }],
      data: [[], [], []],
      elapsed: true,
    }));
    CHARTS.forEach((chart, i) => {
      const data = overlay(base, run, chart.read);
      this.plots[i].setData(data);
      const figure = $(`cmp-${chart.id}`);
      figure.dataset.points = String(data[0].length);
      figure.dataset.runPoints = String(data[1].filter((v) => v !== null).length);
      figure.dataset.basePoints = String(data[2].filter((v) => v !== null).length);
    });
  },
};
