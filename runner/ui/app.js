// The k6 control plane's page: the entry module. It owns no state; it
// wires the views to each other and starts them. Each module owns one
// piece (see its opening comment):
//
//   views.js          which view shows (Live, History, Compare, Schedules), from the URL's hash
//   api.js            the API's URL, requests and errors, the bearer token, whoami
//   socket.js         the live WebSocket, its reconnects, the connection indicator
//   status.js         the runner's status: badge, title, Status panel
//   controls.js       Start, Stop and its dialog
//   charts.js         the Live metrics charts (uPlot)
//   config-form.js    the Configuration panel
//   results.js        the Results panel
//   logs.js           the Logs panel
//   script-preview.js the k6_all.sh preview
//   history.js        the History view: stored runs, filters, trends, baselines, reports
//   compare.js        the Compare view: two runs' deltas and overlaid charts
//   schedules.js      the Schedules view: cron schedules, their next and last fires
//   links.js          download links to API files (with the token when there is one)
//   sparkline.js      the trends' small SVG lines
//   run-state.js      each state's label and colour (badges, chips, outcomes)
//   banner.js         the error banner under the top bar
//   dom.js, format.js helpers
//
// Plain DOM, no framework, no bundler: the browser loads these as native
// ES modules (runner/src/ui.rs serves each with its content hash).

import { api, auth } from './api.js';
import { showControlError } from './banner.js';
import { charts } from './charts.js';
import { compare } from './compare.js';
import { config } from './config-form.js';
import { controls } from './controls.js';
import { history } from './history.js';
import { logs } from './logs.js';
import { results } from './results.js';
import { schedules } from './schedules.js';
import { preview } from './script-preview.js';
import { live, setConnection } from './socket.js';
import { status } from './status.js';
import { views } from './views.js';

/** A status from anywhere (first read, WebSocket, reconnect probe). */
function showStatus(s) {
  const change = status.render(s);
  controls.render();
  if (change.started) charts.reset(s.runId);
  if (change.results) results.refresh();
  // A run that starts or ends changes the history: an open History view
  // shows it without a reload.
  const ended = change.results && !s.isRunning;
  if ((change.started || ended) && views.current === 'history') history.load(null);
  // A schedule that starts a run has a new last fire.
  if (change.started && views.current === 'schedules') schedules.load();
}

async function main() {
  // A bug in this page must be seen, not leave a half-working dashboard.
  window.addEventListener('error', (event) => showControlError(`This page hit an error: ${event.message}`));
  window.addEventListener('unhandledrejection', (event) => {
    showControlError(`This page hit an error: ${event.reason?.message ?? event.reason}`);
  });
  auth.bind();
  controls.bind({
    started: (reply) => charts.reset(reply.runId),
    refused: (error) => error.status === 422 && config.showErrors(error.fields),
  });
  config.bind({ stored: () => preview.refresh() });
  logs.bind();
  history.bind();
  compare.bind();
  schedules.bind();
  charts.init();
  try {
    // The status first: a 401 here prompts for the token once, before the
    // other requests and the WebSocket need it.
    showStatus(await api('status'));
  } catch (error) {
    showControlError(error.message);
    if (error.status === 401) {
      setConnection('signed-out', 'Needs an access token');
      return;
    }
  }
  // The view the URL names: History, Compare and Schedules load what they show.
  views.bind({ history, compare, schedules });
  await charts.load();
  live.connect({
    open() {
      logs.catchUp();
      results.refresh();
    },
    status: showStatus,
    metrics(m) {
      charts.add(m);
      status.renderMetrics(m);
    },
    logs: (lines) => logs.live(lines),
    // Events were missed: the log lines from the backlog, the run's record
    // and the config again; the status that follows the notice says the rest.
    lagged(notice) {
      logs.lagged(notice);
      results.refresh();
      config.reload().catch(() => {});
    },
    config: (saved) => config.stored(saved),
    regression(notice) {
      status.renderRegression(notice);
      // The record now carries its verdict.
      results.refresh();
    },
  });
  config.load().catch((error) => config.showErrors([{ field: '', message: `Could not load the configuration: ${error.message}` }]));
  preview.refresh();
}

main();
