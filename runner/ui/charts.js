// The Live metrics panel: four uPlot charts (requests/s, p95 latency,
// failed requests, VUs) of one run, one reading per second. Owns the
// readings drawn (`times`, `series`, at most an hour), the run they belong
// to and the plots. `createPlot` and `CHARTS` are shared with the Compare
// view, which overlays two stored runs on the same four charts. uPlot is
// the global of uPlot.iife.min.js, a classic script the page loads before
// its modules run.

import { api } from './api.js';
import { showControlError } from './banner.js';
import { $ } from './dom.js';
import { format, formatNumber, missing } from './format.js';

/** Most readings kept per chart: one hour at one per second. */
const MAX_POINTS = 3600;

/**
 * The four charts: where each is drawn, its colour, how a reading
 * (`MetricsPoint`) gives its value and how that value reads. The Compare
 * view draws the same four.
 */
export const CHARTS = [
  { id: 'chart-rps', title: 'Requests/s', color: '--blue', read: (m) => m.requestRate, text: (v) => `${format.rate(v)} req/s` },
  { id: 'chart-p95', title: 'Latency p95', color: '--amber', read: (m) => m.latencyP95Ms, text: (v) => format.latencyText(v) },
  {
    id: 'chart-failed',
    title: 'Failed requests',
    color: '--red',
    read: (m) => (missing(m.failedRequestRate) ? null : m.failedRequestRate * 100),
    text: (v) => (missing(v) ? '—' : `${formatNumber(v, 2)} %`),
  },
  { id: 'chart-vus', title: 'Virtual users', color: '--green', read: (m) => m.vus, text: (v) => `${format.int(v)} VUs` },
];

/** Time-axis tick steps, seconds: whole seconds up to hours. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

/** Decimals that tell apart ticks `step` apart (0.25 → 2, 2.5 → 1, 5 → 0). */
function decimalsFor(step) {
  let decimals = 0;
  while (decimals < 3 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals += 1;
  return decimals;
}

/**
 * A uPlot chart in `target`, sized to it and following its width, in the
 * page's theme: `lines` are `{ color, dash }` (a custom property such as
 * `--blue`, an optional dash pattern), drawn over `data` (`[xs, ys…]`).
 * The x axis is wall-clock time (`elapsed: false`) or seconds from a run's
 * start (`elapsed: true`, for runs overlaid on one axis). Owns nothing:
 * the caller keeps the plot and its data. Used by the Live metrics here
 * and by the Compare view.
 */
export function createPlot(target, { lines, data, elapsed = false }) {
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const axis = {
    stroke: color('--muted'),
    grid: { stroke: color('--grid'), width: 1 },
    ticks: { stroke: color('--grid'), width: 1 },
    font: '11px system-ui, sans-serif',
  };
  const xValues = elapsed ? (u, ticks) => ticks.map((t) => format.duration(t)) : (u, ticks) => ticks.map((t) => format.clock(t));
  const plot = new globalThis.uPlot({
    width: Math.max(200, target.clientWidth),
    height: target.clientHeight,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      // At least a 30 s window, so the first readings do not fill the width.
      x: { time: !elapsed, range: (u, min, max) => (min === null ? [min, max] : [min, Math.max(max, min + 30)]) },
      y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] },
    },
    axes: [
      { ...axis, space: 80, incrs: TIME_STEPS, values: xValues },
      { ...axis, size: 52, values: (u, ticks, axisIndex, space, step) => ticks.map((t) => formatNumber(t, decimalsFor(step))) },
    ],
    series: [
      {},
      ...lines.map(({ color: name, dash }) => {
        const stroke = color(name);
        return { stroke, width: 2, dash, fill: dash ? undefined : `${stroke}22`, points: { show: false }, spanGaps: false };
      }),
    ],
  }, data, target);
  new ResizeObserver(([entry]) => {
    plot.setSize({ width: Math.max(200, Math.floor(entry.contentRect.width)), height: target.clientHeight });
  }).observe(target);
  return plot;
}

export const charts = {
  runId: null,
  step: null,
  times: [],
  series: CHARTS.map(() => []),
  plots: [],

  init() {
    this.plots = CHARTS.map((chart, index) => createPlot($(chart.id).querySelector('[data-plot]'), {
      lines: [{ color: chart.color }],
      data: [this.times, this.series[index]],
    }));
  },

  /** Draws the readings the runner kept for the current (or last) run, so
   *  a page opened mid-run shows the run from its start. */
  async load() {
    try {
      const { points } = await api('metrics');
      for (const point of points) this.add(point);
    } catch (error) {
      // Without the history the charts start from the next live reading.
      showControlError(`Could not load the run's metrics so far: ${error.message}`);
    }
  },

  /** Clears the charts for a new run. */
  reset(runId) {
    if (runId === this.runId) return;
    this.runId = runId;
    this.step = null;
    this.times.length = 0;
    for (const values of this.series) values.length = 0;
    this.redraw(null);
  },

  add(m) {
    if (m.runId !== this.runId) this.reset(m.runId);
    const t = Date.parse(m.time) / 1000;
    const last = this.times.at(-1);
    if (!Number.isFinite(t) || (last !== undefined && t < last)) return;
    // A gap between two scripts: a null point breaks the line there.
    if (this.step !== null && m.step !== this.step && last !== undefined && t - last > 1) {
      this.times.push((last + t) / 2);
      for (const values of this.series) values.push(null);
    }
    this.step = m.step;
    if (t === last) {
      // Same second (k6's clock is second-precise): the newer reading wins.
      CHARTS.forEach((chart, i) => { this.series[i][this.series[i].length - 1] = chart.read(m); });
    } else {
      this.times.push(t);
      CHARTS.forEach((chart, i) => this.series[i].push(chart.read(m)));
    }
    if (this.times.length > MAX_POINTS) {
      const extra = this.times.length - MAX_POINTS;
      this.times.splice(0, extra);
      for (const values of this.series) values.splice(0, extra);
    }
    this.redraw(m);
  },

  redraw(m) {
    CHARTS.forEach((chart, i) => {
      this.plots[i]?.setData([this.times, this.series[i]]);
      const figure = $(chart.id);
      figure.dataset.points = String(this.times.length);
      figure.querySelector('[data-last]').textContent = m ? chart.text(chart.read(m)) : '—';
    });
    $('charts-meta').textContent = m ? `${m.script} · step ${m.step}` : 'One reading per second while a k6 step runs';
  },
};
