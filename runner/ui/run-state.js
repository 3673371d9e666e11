// What each state of the runner, a run or a script is called and how it is
// coloured: the one place that maps a state to a label and a badge class,
// used by the top bar's badge, the Status panel's outcome chips, the
// Results panel, the History and Compare views, and the state a run's
// `outcome` is shown as. Owns those
// two tables, nothing else. A new state gets one line here (and, for a new
// colour, one `.badge-*` rule in style.css).
//
// Colours carry meaning: green only for success; red for failure, a run
// that finished with failures included; grey and neutral for what was
// stopped or skipped on purpose; amber while stopping; blue while running.

const STATES = {
  // The runner (`status.state`).
  idle: ['idle', 'badge-idle'],
  running: ['running', 'badge-running'],
  stopping: ['stopping', 'badge-stopping'],
  // A run (`results.state`, its `outcome`) and its steps (`steps[].state`).
  pending: ['pending', 'badge-idle'],
  passed: ['passed', 'badge-passed'],
  completed: ['completed', 'badge-passed'],
  finished: ['finished', 'badge-passed'],
  finishedWithFailures: ['finished with failures', 'badge-failed'],
  failed: ['failed', 'badge-failed'],
  interrupted: ['interrupted', 'badge-failed'],
  stopped: ['stopped', 'badge-stopped'],
  skipped: ['skipped', 'badge-skipped'],
  // A run against its baseline (History, Compare, the Status panel): worse
  // by more than a budget is a failure; the baseline itself is a marker,
  // in the accent colour, neither good nor bad.
  regressed: ['regressed', 'badge-failed'],
  baseline: ['baseline', 'badge-baseline'],
  // A comparison's verdicts (`/compare`): within the budgets is success.
  ok: ['within budget', 'badge-passed'],
  incomparable: ['incomparable', 'badge-idle'],
  // A schedule's fire (`/schedules`): it started a run (failed and
  // skipped are the run states' own).
  started: ['started a run', 'badge-passed'],
  // A run a schedule started (History): a marker, neither good nor bad.
  scheduled: ['scheduled', 'badge-idle'],
};

/**
 * The label and the badge class of `state`. A state this page does not know
 * yet shows as it is called, in neutral grey: never green or red by chance.
 */
export function runState(state) {
  const [label, className] = STATES[state] ?? [String(state ?? '—'), 'badge-idle'];
  return { label, className };
}

/** The state a run's `outcome` (`status.outcome`, `results.outcome`) is shown as. */
const OUTCOMES = {
  passed: 'passed',
  failed: 'finishedWithFailures',
  stopped: 'stopped',
  interrupted: 'interrupted',
};

/**
 * The label and badge class of a run: its `outcome` once it has one (a run
 * that finished with failed steps is red, a stopped one neutral grey), else
 * its `state`. A record without an outcome (written before there was one)
 * is judged from its steps, so it never shows green with a failed step.
 */
export function runOutcome({ outcome, state, steps } = {}) {
  if (outcome) return runState(OUTCOMES[outcome] ?? outcome);
  if (state === 'finished' && steps?.some((step) => step.state !== 'completed')) return runState('finishedWithFailures');
  return runState(state);
}
