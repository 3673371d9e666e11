// The run's status: owns the newest status the runner sent (`status.current`,
// read by the controls) and the last progress of the run shown. Renders
// the state badge, the page title and the Status panel: current script,
// step n of m, progress, each step with its users and state, the live
// KPIs, the scripts completed, failed, stopped and interrupted, the run's
// outcome once it has ended (and "regressed" when it was worse than its
// baseline), the last error and the k6 version.

import { $, el } from './dom.js';
import { format, formatNumber, missing } from './format.js';
import { runOutcome, runState } from './run-state.js';

/** Steps of status `s` that have an outcome (0 without a status). */
function finished(s) {
  if (!s) return 0;
  if (s.steps) return s.steps.filter((step) => step.state !== 'pending' && step.state !== 'running').length;
  return s.completedScripts.length + s.failedScripts.length + s.stoppedScripts.length;
}

/** A step's load in a few words: its users, or the script's own options. */
function stepUsers(step) {
  if (!missing(step.users)) return `${format.int(step.users)} ${step.users === 1 ? 'VU' : 'VUs'}`;
  return step.load === 'script' ? 'own load' : '—';
}

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
    const outcome = $('run-outcome');
    outcome.hidden = s.isRunning || !s.outcome;
    if (s.outcome) {
      const shown = runOutcome(s);
      outcome.className = `outcome ${shown.className}`;
      outcome.dataset.outcome = s.outcome;
      outcome.textContent = shown.label;
    }
    // Against its baselines: `regressed` once the ended run was judged
    // (null while it runs, or with nothing to compare to).
    const regressed = $('run-regressed');
    regressed.hidden = s.isRunning || s.regressed !== true;
    if (s.runId !== regressed.dataset.runId) regressed.title = 'Worse than its baseline by more than a budget';
    regressed.dataset.runId = s.runId ?? '';
    $('current-script').textContent = s.currentScript ?? '—';
    this.renderProgress(s);
    this.renderSteps(s);

    // A new run has no reading yet: dashes, not the last run's numbers.
    this.renderMetrics(s.metrics ?? {});
    $('kpi-users').textContent = format.int(s.currentUserCount);
    document.querySelector('.kpis').dataset.stale = String(!s.isRunning);

    renderChips($('completed-scripts'), s.completedScripts, 'completed');
    renderChips($('failed-scripts'), s.failedScripts, 'failed');
    renderChips($('stopped-scripts'), s.stoppedScripts, 'stopped');
    renderChips($('interrupted-scripts'), s.interruptedScripts, 'interrupted');
    $('interrupted-group').hidden = !s.interruptedScripts?.length;
    $('last-error').hidden = !s.lastError;
    $('last-error-text').textContent = s.lastError ?? '';
    $('k6-version').textContent = s.k6Version ?? 'not found';

    // The results follow the run: its steps at the start, each outcome as
    // it lands, the final record at the end.
    const started = s.isRunning && s.runId !== previous?.runId;
    const ended = Boolean(previous?.isRunning && !s.isRunning);
    return { started, results: started || ended || (s.isRunning && finished(s) !== finished(previous)) };
  },

  /**
   * The `regression` event of a run that ended: the badge names what
   * crossed its budget (`login.js#1: latencyP95Ms`) and against which run;
   * the status that follows shows or hides it.
   */
  renderRegression(notice) {
    const badge = $('run-regressed');
    badge.dataset.runId = notice.runId;
    const crossed = (notice.entries ?? []).filter((entry) => entry.crossed.length);
    badge.title = crossed.length
      ? crossed.map((entry) => `${entry.entry}: ${entry.crossed.join(', ')} (baseline ${entry.baseline})`).join('\n')
      : 'Within the budgets of its baselines';
    badge.hidden = !notice.regressed;
  },

  /** Where the run is; once it ends, where it ended (100 % unless stopped). */
  renderProgress(s) {
    if (s.progress) this.lastProgress = s.progress;
    const p = s.progress ?? (s.isRunning ? null : this.lastProgress);
    // The step running now (between two steps, the one before the pause).
    const current = s.currentStep ?? p?.step;
    const total = s.steps?.length || p?.steps;
    $('step').textContent = p && current && total ? `${current} of ${total}` : '—';
    $('phase').textContent = s.progress ? (s.progress.phase === 'waiting' ? 'Waiting' : 'Running') : (p ? 'Ended' : '—');
    let percent = p ? Math.min(100, Math.max(0, p.percent)) : 0;
    // A run that went through every step ends at 100 %; a stopped or
    // interrupted one where it was.
    const ranThrough = s.outcome ? ['passed', 'failed'].includes(s.outcome) : !s.stoppedScripts.length;
    if (p && !s.isRunning && ranThrough) percent = 100;
    $('progress-fill').style.width = `${percent}%`;
    $('progress-bar').setAttribute('aria-valuenow', String(Math.round(percent)));
    $('progress-percent').textContent = `${formatNumber(percent)} %`;
    $('elapsed').textContent = p ? format.duration(p.elapsedSeconds) : '—';
    $('eta').textContent = s.progress ? format.duration(s.progress.etaSeconds) : '—';
  },

  /** Each step of the run: its position, script, users and state. */
  renderSteps(s) {
    $('step-list').replaceChildren(...(s.steps ?? []).map((step) => {
      const { label, className } = runState(step.state);
      const item = el('li', `chip step-chip ${className}`);
      item.dataset.step = String(step.step);
      item.dataset.state = step.state;
      if (s.isRunning && step.step === s.currentStep) item.setAttribute('aria-current', 'step');
      const users = stepUsers(step);
      item.append(el('span', 'step-no', step.step), ` ${step.script} `, el('span', 'step-users', users));
      item.title = `Step ${step.step}: ${step.script}, ${users}, ${label}`;
      return item;
    }));
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
