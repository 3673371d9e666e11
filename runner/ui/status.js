// The run's status: owns the newest status the runner sent (`status.current`,
// read by the controls) and the last progress of the run shown. Renders
// the state badge, the page title and the Status panel: current script,
// step, progress, the live KPIs, the scripts completed, failed and stopped,
// the last error and the k6 version.

import { $, el } from './dom.js';
import { format, formatNumber, missing } from './format.js';
import { runState } from './run-state.js';

/** Scripts with an outcome so far in status `s` (0 without one). */
const finished = (s) => (s ? s.completedScripts.length + s.failedScripts.length + s.stoppedScripts.length : 0);

export const status = {
  current: null,
  /** The last progress of the run shown, kept once the run has ended. */
  lastProgress: null,

  /**
   * Shows status `s` and says what changed for the other views: `started`
   * (a new run), `results` (its record changed: it started, a step landed,
   * or it ended).
   */
  render(s) {
    const previous = this.current;
    this.current = s;
    const state = runState(s.state);
    const badge = $('state-badge');
    badge.dataset.state = s.state;
    badge.className = `badge ${state.className}`;
    badge.textContent = state.label;
    document.title = s.isRunning ? `● ${s.currentScript ?? state.label} · k6 control plane` : 'k6 control plane';

    $('run-meta').textContent = s.runId ? `Run ${s.runId} · started ${format.dateTime(s.startTime)}` : 'No run yet';
    $('current-script').textContent = s.currentScript ?? '—';
    this.renderProgress(s);

    // A new run has no reading yet: dashes, not the last run's numbers.
    this.renderMetrics(s.metrics ?? {});
    $('kpi-users').textContent = format.int(s.currentUserCount);
    document.querySelector('.kpis').dataset.stale = String(!s.isRunning);

    renderChips($('completed-scripts'), s.completedScripts, 'completed');
    renderChips($('failed-scripts'), s.failedScripts, 'failed');
    renderChips($('stopped-scripts'), s.stoppedScripts, 'stopped');
    $('last-error').hidden = !s.lastError;
    $('last-error-text').textContent = s.lastError ?? '';
    $('k6-version').textContent = s.k6Version ?? 'not found';

    // The results follow the run: its steps at the start, each outcome as
    // it lands, the final record at the end.
    const started = s.isRunning && s.runId !== previous?.runId;
    const ended = Boolean(previous?.isRunning && !s.isRunning);
    return { started, results: started || ended || (s.isRunning && finished(s) !== finished(previous)) };
  },

  /** Where the run is; once it ends, where it ended (100 % unless stopped). */
  renderProgress(s) {
    if (s.progress) this.lastProgress = s.progress;
    const p = s.progress ?? (s.isRunning ? null : this.lastProgress);
    $('step').textContent = p ? `${p.step} of ${p.steps}` : '—';
    $('phase').textContent = s.progress ? (s.progress.phase === 'waiting' ? 'Waiting' : 'Running') : (p ? 'Ended' : '—');
    let percent = p ? Math.min(100, Math.max(0, p.percent)) : 0;
    if (p && !s.isRunning && !s.stoppedScripts.length) percent = 100;
    $('progress-fill').style.width = `${percent}%`;
    $('progress-bar').setAttribute('aria-valuenow', String(Math.round(percent)));
    $('progress-percent').textContent = `${formatNumber(percent)} %`;
    $('elapsed').textContent = p ? format.duration(p.elapsedSeconds) : '—';
    $('eta').textContent = s.progress ? format.duration(s.progress.etaSeconds) : '—';
  },

  /** The KPIs from one live reading (`metrics` message or `status.metrics`). */
  renderMetrics(m) {
    $('kpi-users').textContent = format.int(m.vus);
    $('kpi-rps').textContent = format.rate(m.requestRate);
    const [p95, p95Unit] = format.latency(m.latencyP95Ms);
    $('kpi-p95').textContent = p95;
    $('kpi-p95-unit').textContent = p95Unit;
    $('kpi-failed').textContent = format.percent(m.failedRequestRate);
    $('kpi-requests').textContent = format.int(m.requests);
    $('kpi-checks').textContent = format.percent(m.checksRate);
    $('kpi-cpu').textContent = missing(m.cpuPercent) ? '—' : formatNumber(m.cpuPercent, 1);
    const [rss, rssUnit] = format.bytes(m.rssBytes);
    $('kpi-rss').textContent = rss;
    $('kpi-rss-unit').textContent = rssUnit;
  },
};

/** The scripts `names` as chips coloured as their outcome `state`. */
function renderChips(list, names, state) {
  const { className } = runState(state);
  list.replaceChildren(...(names ?? []).map((name) => {
    const item = el('li');
    item.append(el('span', `chip ${className}`, name));
    return item;
  }));
}
