// The k6 control plane's page: configuration, controls, live status and
// charts, logs, results and the k6_all.sh preview. Plain DOM, no framework;
// uPlot (loaded before this module) draws the charts.
//
// Sections: api (base URL, token, errors) · format · live (WebSocket) ·
// status + controls · charts · config · results · logs · script preview ·
// start-up.

const $ = (id) => document.getElementById(id);

/** Creates an element with a class and text (never HTML: server text stays text). */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// ---------------------------------------------------------------- api ----

const TOKEN_KEY = 'k6-runner.token';

/**
 * The API's base URL: `<meta name="k6-api-base">` (default `api/k6`), or
 * `?api=` on the page's URL, resolved against the page so a host can mount
 * the UI and the API under any prefix. Only same-origin bases are accepted:
 * the bearer token goes with every request and must not leave the origin.
 */
const API_BASE = (() => {
  const fallback = document.querySelector('meta[name="k6-api-base"]')?.content || 'api/k6';
  const resolve = (path) => new URL(path.replace(/\/*$/, '/'), document.baseURI);
  const wanted = resolve(new URLSearchParams(location.search).get('api') || fallback);
  return wanted.origin === location.origin ? wanted : resolve(fallback);
})();

function apiUrl(path) {
  return new URL(path, API_BASE);
}

/** An API error with its HTTP status and the `{error, fields}` body. */
class ApiError extends Error {
  constructor(status, body) {
    super(body?.error || `HTTP ${status}`);
    this.status = status;
    this.fields = Array.isArray(body?.fields) ? body.fields : [];
  }
}

const auth = {
  prompt: null,

  token() {
    return localStorage.getItem(TOKEN_KEY);
  },

  forget() {
    localStorage.removeItem(TOKEN_KEY);
    this.render();
  },

  render() {
    $('auth-info').hidden = !this.token();
  },

  /** Asks for a token in the dialog; concurrent 401s share one prompt. */
  ask(message) {
    this.prompt ??= new Promise((resolve, reject) => {
      const dialog = $('token-dialog');
      $('token-dialog-text').textContent = message;
      $('token-input').value = '';
      dialog.addEventListener('close', () => {
        this.prompt = null;
        const token = $('token-input').value.trim();
        if (dialog.returnValue === 'save' && token) {
          localStorage.setItem(TOKEN_KEY, token);
          this.render();
          resolve();
        } else {
          reject(new ApiError(401, { error: 'The API needs an access token.' }));
        }
      }, { once: true });
      dialog.returnValue = '';
      dialog.showModal();
    });
    return this.prompt;
  },
};

/**
 * Calls the API: JSON in and out (`text: true` for plain text), the stored
 * token on every request, and on 401 a prompt for a token and a retry.
 */
async function api(path, { method = 'GET', body, text = false } = {}) {
  const MAX_TOKEN_PROMPTS = 3;
  for (let prompts = 0; ; prompts += 1) {
    const headers = { Accept: text ? 'text/plain, */*' : 'application/json' };
    const token = auth.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(apiUrl(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (error) {
      throw new ApiError(0, { error: `The runner cannot be reached (${error.message}).` });
    }
    if (response.status === 401 && prompts < MAX_TOKEN_PROMPTS) {
      await auth.ask(token
        ? 'The stored token was refused. Enter a valid token.'
        : "This runner's API asks for a bearer token.");
      continue;
    }
    const raw = await response.text();
    let payload = raw;
    if (!text || !response.ok) {
      try { payload = JSON.parse(raw); } catch { payload = raw; }
    }
    if (!response.ok) {
      throw new ApiError(response.status, typeof payload === 'object' ? payload : { error: raw || response.statusText });
    }
    return payload;
  }
}

// ------------------------------------------------------------- format ----

const numberFormats = new Map();
function formatNumber(value, digits = 0) {
  if (!numberFormats.has(digits)) {
    numberFormats.set(digits, new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  return numberFormats.get(digits).format(value);
}

const missing = (value) => value === null || value === undefined || Number.isNaN(value);

const format = {
  int: (n) => (missing(n) ? '—' : formatNumber(n)),
  rate: (n) => (missing(n) ? '—' : formatNumber(n, n < 100 ? 1 : 0)),
  percent: (ratio) => (missing(ratio) ? '—' : formatNumber(ratio * 100, ratio === 0 || ratio === 1 ? 0 : 2)),

  /** Milliseconds as `[value, unit]`: 0.42 ms, 12.3 ms, 1.25 s. */
  latency(ms) {
    if (missing(ms)) return ['—', 'ms'];
    if (ms >= 1000) return [formatNumber(ms / 1000, 2), 's'];
    return [formatNumber(ms, ms < 10 ? 2 : 1), 'ms'];
  },

  latencyText(ms) {
    const [value, unit] = format.latency(ms);
    return missing(ms) ? value : `${value} ${unit}`;
  },

  /** Bytes as `[value, unit]`. */
  bytes(n) {
    if (missing(n)) return ['—', 'MB'];
    const units = ['B', 'KB', 'MB', 'GB'];
    let value = n;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
    return [formatNumber(value, unit === 0 ? 0 : 1), units[unit]];
  },

  /** Seconds as 42s, 3m 05s, 1h 02m. */
  duration(seconds) {
    if (missing(seconds)) return '—';
    const s = Math.max(0, Math.round(seconds));
    const pad = (n) => String(n).padStart(2, '0');
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
    return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  },

  /** Unix seconds as local HH:MM:SS. */
  clock(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString(undefined, { hour12: false });
  },

  time(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString(undefined, { hour12: false });
  },

  dateTime(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { hour12: false });
  },
};

// --------------------------------------------------------------- live ----

/** The WebSocket: status, metrics and log messages; reconnects with backoff. */
const live = {
  socket: null,
  failures: 0,
  timer: null,

  connect() {
    clearTimeout(this.timer);
    const url = apiUrl('ws');
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // Browsers cannot set headers on a WebSocket: the token rides in the query.
    const token = auth.token();
    if (token) url.searchParams.set('access_token', token);
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.failures = 0;
      setConnection('live', 'Live');
      // Whatever happened while disconnected: missed log lines, a run that ended.
      logs.catchUp();
      results.refresh();
    });
    socket.addEventListener('message', (event) => this.dispatch(event.data));
    socket.addEventListener('close', () => {
      if (this.socket === socket) this.retry();
    });
  },

  dispatch(data) {
    let message;
    try { message = JSON.parse(data); } catch { return; }
    if (message.type === 'status') status.render(message.data);
    else if (message.type === 'metrics') {
      charts.add(message.data);
      status.renderMetrics(message.data);
    } else if (message.type === 'log') logs.add(message.data);
    else if (message.type === 'config') config.stored(message.data);
  },

  retry() {
    const delay = Math.min(15000, 500 * 2 ** this.failures) * (0.8 + Math.random() * 0.4);
    this.failures = Math.min(this.failures + 1, 6);
    setConnection('reconnecting', `Reconnecting in ${Math.ceil(delay / 1000)} s…`);
    this.timer = setTimeout(() => this.probe(), delay);
  },

  /**
   * A WebSocket refused with 401 only shows as a close; ask over HTTP
   * first, which can prompt for a token (and refreshes the status).
   */
  async probe() {
    try {
      status.render(await api('status'));
    } catch (error) {
      if (error.status === 401) {
        setConnection('signed-out', 'Needs an access token');
        showControlError('The API needs an access token. Reload the page to enter one.');
        return;
      }
      if (error.status === 0) {
        this.retry();
        return;
      }
    }
    this.connect();
  },
};

function setConnection(state, text) {
  const node = $('connection');
  node.dataset.connection = state;
  node.textContent = text;
}

// ---------------------------------------------------- status + controls ----

const STATE_NAMES = { idle: 'Idle', running: 'Running', stopping: 'Stopping' };

const status = {
  current: null,
  /** The last progress of the run shown, kept once the run has ended. */
  lastProgress: null,
  busy: false,

  render(s) {
    const previous = this.current;
    this.current = s;
    const badge = $('state-badge');
    badge.dataset.state = s.state;
    badge.textContent = STATE_NAMES[s.state] ?? s.state;
    document.title = s.isRunning ? `● ${s.currentScript ?? STATE_NAMES[s.state]} · k6 control plane` : 'k6 control plane';
    this.renderControls();

    $('run-meta').textContent = s.runId ? `Run ${s.runId} · started ${format.dateTime(s.startTime)}` : 'No run yet';
    $('current-script').textContent = s.currentScript ?? '—';
    this.renderProgress(s);

    // A new run has no reading yet: dashes, not the last run's numbers.
    this.renderMetrics(s.metrics ?? {});
    $('kpi-users').textContent = format.int(s.currentUserCount);
    document.querySelector('.kpis').dataset.stale = String(!s.isRunning);

    renderChips($('completed-scripts'), s.completedScripts);
    renderChips($('failed-scripts'), s.failedScripts);
    renderChips($('stopped-scripts'), s.stoppedScripts);
    $('last-error').hidden = !s.lastError;
    $('last-error-text').textContent = s.lastError ?? '';
    $('k6-version').textContent = s.k6Version ?? 'not found';

    // The results follow the run: its steps at the start, each outcome as
    // it lands, the final record at the end.
    const started = s.isRunning && s.runId !== previous?.runId;
    if (started) charts.reset(s.runId);
    const finished = (x) => (x ? x.completedScripts.length + x.failedScripts.length + x.stoppedScripts.length : 0);
    const ended = previous?.isRunning && !s.isRunning;
    if (started || ended || (s.isRunning && finished(s) !== finished(previous))) results.refresh();
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

  renderControls() {
    const state = this.current?.state;
    $('start-button').disabled = this.busy || state !== 'idle';
    $('stop-button').disabled = this.busy || state !== 'running';
  },

  /** Runs a control request with both buttons held, showing its error. */
  async control(request) {
    this.busy = true;
    this.renderControls();
    hideControlError();
    try {
      await request();
    } catch (error) {
      showControlError(describeControlError(error), error.fields);
      if (error.status === 422) config.showErrors(error.fields);
    } finally {
      this.busy = false;
      this.renderControls();
    }
  },

  start() {
    return this.control(async () => {
      const started = await api('start', { method: 'POST' });
      charts.reset(started.runId);
    });
  },

  stop() {
    return this.control(async () => {
      const reply = await api('stop', { method: 'POST' });
      if (!reply.stopping) showControlError(reply.message ?? 'No run is in progress.');
    });
  },
};

function renderChips(list, names) {
  list.replaceChildren(...(names ?? []).map((name) => {
    const item = el('li');
    item.append(el('span', 'chip', name));
    return item;
  }));
}

function describeControlError(error) {
  switch (error.status) {
    case 403: return `Your token may only view this runner: ${error.message}`;
    case 409: return `A run is already in progress. ${error.message}`;
    case 422: return `The saved configuration cannot be run: ${error.message}`;
    case 503: return `k6 is not usable: ${error.message}`;
    default: return error.message;
  }
}

function showControlError(message, fields = []) {
  const banner = $('control-error');
  const dismiss = el('button', 'btn btn-small banner-dismiss', 'Dismiss');
  dismiss.type = 'button';
  dismiss.addEventListener('click', hideControlError);
  banner.replaceChildren(dismiss, el('strong', null, message));
  if (fields.length) {
    const list = el('ul');
    for (const field of fields) list.append(el('li', null, `${field.field}: ${field.message}`));
    banner.append(list);
  }
  banner.hidden = false;
}

function hideControlError() {
  $('control-error').hidden = true;
}

function confirmStop() {
  const dialog = $('stop-dialog');
  dialog.returnValue = '';
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'confirm') status.stop();
  }, { once: true });
  dialog.showModal();
}

// ------------------------------------------------------------- charts ----

/** Most readings kept per chart: one hour at one per second. */
const MAX_POINTS = 3600;

const CHARTS = [
  { id: 'chart-rps', color: '--blue', read: (m) => m.requestRate, text: (v) => `${format.rate(v)} req/s` },
  { id: 'chart-p95', color: '--amber', read: (m) => m.latencyP95Ms, text: (v) => format.latencyText(v) },
  {
    id: 'chart-failed',
    color: '--red',
    read: (m) => (missing(m.failedRequestRate) ? null : m.failedRequestRate * 100),
    text: (v) => (missing(v) ? '—' : `${formatNumber(v, 2)} %`),
  },
  { id: 'chart-vus', color: '--green', read: (m) => m.vus, text: (v) => `${format.int(v)} VUs` },
];

/** Time-axis tick steps, seconds: whole seconds up to hours. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

/** Decimals that tell apart ticks `step` apart (0.25 → 2, 2.5 → 1, 5 → 0). */
function decimalsFor(step) {
  let decimals = 0;
  while (decimals < 3 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals += 1;
  return decimals;
}

const charts = {
  runId: null,
  step: null,
  times: [],
  series: CHARTS.map(() => []),
  plots: [],

  init() {
    const css = getComputedStyle(document.documentElement);
    const color = (name) => css.getPropertyValue(name).trim();
    const axis = {
      stroke: color('--muted'),
      grid: { stroke: color('--grid'), width: 1 },
      ticks: { stroke: color('--grid'), width: 1 },
      font: '11px system-ui, sans-serif',
    };
    this.plots = CHARTS.map((chart, index) => {
      const target = $(chart.id).querySelector('[data-plot]');
      const stroke = color(chart.color);
      const plot = new uPlot({
        width: Math.max(200, target.clientWidth),
        height: target.clientHeight,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          // At least a 30 s window, so the first readings do not fill the width.
          x: { time: true, range: (u, min, max) => (min === null ? [min, max] : [min, Math.max(max, min + 30)]) },
          y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] },
        },
        axes: [
          { ...axis, space: 80, incrs: TIME_STEPS, values: (u, ticks) => ticks.map((t) => format.clock(t)) },
          { ...axis, size: 52, values: (u, ticks, axisIndex, space, step) => ticks.map((t) => formatNumber(t, decimalsFor(step))) },
        ],
        series: [
          {},
          { stroke, width: 2, fill: `${stroke}22`, points: { show: false }, spanGaps: false },
        ],
      }, [this.times, this.series[index]], target);
      new ResizeObserver(([entry]) => {
        plot.setSize({ width: Math.max(200, Math.floor(entry.contentRect.width)), height: target.clientHeight });
      }).observe(target);
      return plot;
    });
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

// ------------------------------------------------------------- config ----

const NUMBER_FIELDS = ['globalUserCount', 'rampUpDuration', 'maxDuration', 'intervalBetweenTests'];
const TEXT_FIELDS = ['testDuration'];

const config = {
  saved: null,
  /** A config came over the WebSocket (it is never older than a GET's). */
  pushed: false,
  catalogue: [],
  /** Every script shown, in list order: `{ name, enabled }`. */
  scripts: [],

  async load() {
    const [saved, catalogue] = await Promise.all([api('config'), api('scripts').catch(() => [])]);
    this.catalogue = catalogue;
    // A config pushed over the WebSocket while these were in flight is
    // newer than the answer: it stays.
    this.fill(this.pushed ? this.saved : saved);
  },

  /** Shows a config from the server as the form's saved state. */
  fill(saved) {
    this.saved = saved;
    for (const name of [...NUMBER_FIELDS, ...TEXT_FIELDS]) $(`f-${name}`).value = saved[name] ?? '';
    const enabled = saved.enabledScripts ?? [];
    const others = this.catalogue.map((s) => s.name).filter((name) => !enabled.includes(name)).sort();
    this.scripts = [
      ...enabled.map((name) => ({ name, enabled: true })),
      ...others.map((name) => ({ name, enabled: false })),
    ];
    this.renderScripts();
    this.clearErrors();
    this.renderDirty();
  },

  /** The form as a config; numbers that do not parse go as typed, so the server names the problem. */
  read() {
    const value = {};
    for (const name of NUMBER_FIELDS) {
      const text = $(`f-${name}`).value.trim();
      value[name] = /^[+-]?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    }
    value.testDuration = $('f-testDuration').value.trim();
    value.enabledScripts = this.scripts.filter((s) => s.enabled).map((s) => s.name);
    return value;
  },

  isDirty() {
    if (!this.saved) return false;
    const current = this.read();
    return Object.keys(current).some((key) => JSON.stringify(current[key]) !== JSON.stringify(this.saved[key]));
  },

  renderDirty() {
    const dirty = this.isDirty();
    $('config-dirty').hidden = !dirty;
    $('revert-button').disabled = !dirty;
  },

  renderScripts() {
    const known = new Map(this.catalogue.map((s) => [s.name, s]));
    const list = $('script-list');
    let position = 0;
    list.replaceChildren(...this.scripts.map((script, index) => {
      const info = known.get(script.name);
      const item = el('li', 'script-item');
      item.dataset.name = script.name;
      item.dataset.enabled = String(script.enabled);
      if (script.enabled) {
        item.dataset.position = String(position);
        position += 1;
      }

      const label = el('label');
      const box = el('input');
      box.type = 'checkbox';
      box.checked = script.enabled;
      box.id = `script-${index}`;
      box.addEventListener('change', () => this.toggle(index, box.checked));
      label.append(box, el('span', 'script-name', script.name));

      const meta = el('span', 'script-meta');
      if (info) {
        meta.append(el('span', 'kind', info.kind), el('span', 'num', format.bytes(info.sizeBytes).join(' ')));
      } else {
        meta.append(el('span', 'kind kind-missing', 'not found'));
      }
      const moves = el('span', 'script-moves');
      moves.append(
        this.moveButton(index, -1, '↑', `Move ${script.name} up`),
        this.moveButton(index, 1, '↓', `Move ${script.name} down`),
      );
      meta.append(moves);

      const order = el('span', 'order', script.enabled ? `${position}.` : '');
      item.append(order, label, meta);
      return item;
    }));
  },

  moveButton(index, by, symbol, label) {
    const button = el('button', 'btn btn-icon', symbol);
    button.type = 'button';
    button.setAttribute('aria-label', label);
    button.title = label;
    const target = index + by;
    button.disabled = target < 0 || target >= this.scripts.length;
    button.addEventListener('click', () => this.move(index, target, by < 0 ? 'up' : 'down'));
    return button;
  },

  toggle(index, enabled) {
    const [script] = this.scripts.splice(index, 1);
    script.enabled = enabled;
    // A newly ticked script joins the end of the run order; an unticked one
    // joins the unticked scripts below it.
    const firstOff = this.scripts.findIndex((s) => !s.enabled);
    this.scripts.splice(firstOff === -1 ? this.scripts.length : firstOff, 0, script);
    this.renderScripts();
    this.changed();
    $(`script-${this.scripts.indexOf(script)}`).focus();
  },

  move(from, to, direction) {
    const [script] = this.scripts.splice(from, 1);
    this.scripts.splice(to, 0, script);
    this.renderScripts();
    this.changed();
    // Keep the keyboard on the same button so repeated moves are easy.
    const label = `Move ${script.name} ${direction}`;
    const button = [...$('script-list').querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === label);
    if (button && !button.disabled) button.focus();
    else $(`script-${to}`).focus();
  },

  changed() {
    $('config-success').hidden = true;
    this.renderDirty();
  },

  clearErrors() {
    $('config-summary').hidden = true;
    for (const node of document.querySelectorAll('#config-form [data-error-for]')) node.textContent = '';
    for (const node of document.querySelectorAll('#config-form [aria-invalid]')) node.removeAttribute('aria-invalid');
    for (const node of document.querySelectorAll('#script-list .field-error')) node.remove();
    for (const node of document.querySelectorAll('#script-list [data-invalid]')) delete node.dataset.invalid;
  },

  /**
   * Puts each field error next to its input (`enabledScripts[2]` next to the
   * third ticked script) and lists them all in the summary.
   */
  showErrors(fields) {
    this.clearErrors();
    const summary = $('config-summary');
    const list = el('ul');
    for (const error of fields) {
      const target = this.placeError(error);
      const item = el('li');
      if (target) {
        const link = el('button', 'link-button', error.message);
        link.type = 'button';
        link.addEventListener('click', () => target.focus());
        item.append(link);
      } else {
        item.textContent = error.field ? `${error.field}: ${error.message}` : error.message;
      }
      list.append(item);
    }
    const count = fields.length === 1 ? '1 problem' : `${fields.length} problems`;
    summary.replaceChildren(el('strong', null, `Not saved: ${count} to fix.`), list);
    summary.hidden = false;
    summary.focus();
  },

  /** Shows one error at its field; returns the control to focus, if any. */
  placeError({ field, message }) {
    const indexed = /^enabledScripts\[(\d+)\]$/.exec(field);
    if (indexed) {
      const item = $('script-list').querySelector(`[data-position="${indexed[1]}"]`);
      if (!item) return this.placeError({ field: 'enabledScripts', message });
      item.dataset.invalid = 'true';
      const box = item.querySelector('input');
      const note = el('p', 'field-error', message);
      note.id = `${box.id}-error`;
      box.setAttribute('aria-invalid', 'true');
      box.setAttribute('aria-describedby', note.id);
      item.append(note);
      return box;
    }
    const slot = document.querySelector(`#config-form [data-error-for="${CSS.escape(field)}"]`);
    if (!slot) return null;
    slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
    const input = $(`f-${field}`) ?? $('script-list').querySelector('input');
    input?.setAttribute('aria-invalid', 'true');
    return input;
  },

  async save(request, successText) {
    const buttons = ['save-button', 'reset-button'].map($);
    for (const button of buttons) button.disabled = true;
    $('config-success').hidden = true;
    try {
      this.fill(await request());
      const success = $('config-success');
      success.textContent = `${successText} ${this.describe()}`;
      success.hidden = false;
      preview.refresh();
    } catch (error) {
      if (error.status === 422 && error.fields.length) this.showErrors(error.fields);
      else this.showErrors([{ field: '', message: error.message }]);
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  },

  /**
   * A config stored by anyone (this page, another page, curl), pushed over
   * the WebSocket. Shown at once unless the form holds unsaved edits, which
   * stay and are now compared with the new saved state.
   */
  stored(saved) {
    this.pushed = true;
    if (JSON.stringify(saved) === JSON.stringify(this.saved)) return;
    if (this.isDirty()) {
      this.saved = saved;
      this.renderDirty();
    } else {
      this.fill(saved);
    }
    preview.refresh();
  },

  describe() {
    const c = this.saved;
    const scripts = c.enabledScripts.length === 1 ? '1 script' : `${c.enabledScripts.length} scripts`;
    return `The next run: ${c.globalUserCount} VUs × ${scripts}, ${c.testDuration} each.`;
  },

  bind() {
    const form = $('config-form');
    form.addEventListener('input', () => this.changed());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.save(() => api('config', { method: 'PUT', body: this.read() }), 'Saved.');
    });
    $('reset-button').addEventListener('click', () => {
      this.save(() => api('config/reset', { method: 'POST' }), 'Reset to the defaults.');
    });
    $('revert-button').addEventListener('click', () => {
      this.fill(this.saved);
      $('config-success').hidden = true;
    });
  },
};

// ------------------------------------------------------------ results ----

const results = {
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

// --------------------------------------------------------------- logs ----

/** Most lines kept on the page; older ones are dropped from the top. */
const MAX_LOG_LINES = 2000;
const BACKLOG_LINES = 500;

const logs = {
  lastSeq: 0,
  follow: true,
  /** Where the tail last put the view: scrolling above it is the user's doing. */
  autoScrollTop: 0,
  unseen: 0,
  /** Only the newest backlog request may render: filter changes can overlap. */
  generation: 0,

  levels() {
    return [...document.querySelectorAll('.level-filter input:checked')].map((box) => box.value);
  },

  /** Fetches the lines after the last one seen (the backlog at first). */
  async catchUp() {
    const levels = this.levels();
    if (!levels.length) return;
    const generation = this.generation;
    // The first page is the newest lines (a tail); after that, the lines
    // following the last one seen, oldest first, so that none is skipped.
    const query = new URLSearchParams({ limit: String(BACKLOG_LINES), level: levels.join(',') });
    if (this.lastSeq) query.set('since', String(this.lastSeq));
    try {
      const page = await api(`logs?${query}`);
      if (generation !== this.generation) return;
      for (const line of page.lines) this.add(line);
    } catch (error) {
      this.view().append(el('li', 'log-line level-error', `Could not load the log backlog: ${error.message}`));
    }
  },

  /** Starts over with the chosen levels. */
  refilter() {
    this.generation += 1;
    this.lastSeq = 0;
    this.unseen = 0;
    this.view().replaceChildren();
    this.setFollow(true);
    this.catchUp();
  },

  view() {
    return $('log-view');
  },

  add(line) {
    if (line.seq <= this.lastSeq) return;
    this.lastSeq = line.seq;
    if (!this.levels().includes(line.level)) return;
    const view = this.view();
    const item = el('li', `log-line level-${line.level}`);
    const time = el('time', null, format.time(line.time));
    time.dateTime = line.time;
    item.append(
      time,
      el('span', 'lvl', line.level === 'warning' ? 'WARN' : line.level.toUpperCase()),
      el('span', 'src', line.script || line.stream),
      el('span', 'msg', line.message),
    );
    item.title = `${line.runId} · ${line.stream}`;
    view.append(item);
    while (view.childElementCount > MAX_LOG_LINES) view.firstElementChild.remove();
    if (this.follow) {
      this.scrollToEnd();
    } else {
      this.unseen += 1;
      this.renderFollow();
    }
  },

  setFollow(follow) {
    this.follow = follow;
    if (follow) {
      this.unseen = 0;
      this.scrollToEnd();
    }
    this.renderFollow();
  },

  scrollToEnd() {
    const view = this.view();
    view.scrollTop = view.scrollHeight;
    this.autoScrollTop = view.scrollTop;
  },

  renderFollow() {
    const button = $('log-follow');
    button.hidden = this.follow;
    button.textContent = this.unseen ? `Paused · ${formatNumber(this.unseen)} new · jump to latest` : 'Paused · jump to latest';
  },

  bind() {
    const view = this.view();
    const pause = () => this.follow && this.setFollow(false);
    // The user's intent to look back pauses the tail at once: a scroll event
    // alone comes too late when lines stream in and pull the view down.
    view.addEventListener('wheel', (event) => event.deltaY < 0 && pause(), { passive: true });
    view.addEventListener('keydown', (event) => ['ArrowUp', 'PageUp', 'Home'].includes(event.key) && pause());
    view.addEventListener('pointerdown', pause);
    // Scrolled up some other way (touch, scrollbar) pauses too; back at the
    // bottom resumes.
    view.addEventListener('scroll', () => {
      const atBottom = view.scrollHeight - view.scrollTop - view.clientHeight < 24;
      if (atBottom && !this.follow) this.setFollow(true);
      else if (!atBottom && this.follow && view.scrollTop < this.autoScrollTop - 4) this.setFollow(false);
    });
    $('log-follow').addEventListener('click', () => this.setFollow(true));
    for (const box of document.querySelectorAll('.level-filter input')) {
      box.addEventListener('change', () => this.refilter());
    }
  },
};

// ------------------------------------------------------ script preview ----

const preview = {
  generation: 0,

  async refresh() {
    const generation = ++this.generation;
    const code = $('script-preview').querySelector('code');
    let text;
    try {
      text = await api('script', { text: true });
    } catch (error) {
      text = `# The script cannot be rendered: ${error.message}`;
    }
    if (generation === this.generation) code.textContent = text;
  },
};

// ----------------------------------------------------------- start-up ----

function bindControls() {
  $('start-button').addEventListener('click', () => status.start());
  $('stop-button').addEventListener('click', confirmStop);
  $('forget-token').addEventListener('click', () => auth.forget());
}

async function main() {
  // A bug in this page must be seen, not leave a half-working dashboard.
  window.addEventListener('error', (event) => showControlError(`This page hit an error: ${event.message}`));
  window.addEventListener('unhandledrejection', (event) => {
    showControlError(`This page hit an error: ${event.reason?.message ?? event.reason}`);
  });
  auth.render();
  bindControls();
  config.bind();
  logs.bind();
  charts.init();
  try {
    // The status first: a 401 here prompts for the token once, before the
    // other requests and the WebSocket need it.
    status.render(await api('status'));
  } catch (error) {
    showControlError(error.message);
    if (error.status === 401) {
      setConnection('signed-out', 'Needs an access token');
      return;
    }
  }
  await charts.load();
  live.connect();
  config.load().catch((error) => config.showErrors([{ field: '', message: `Could not load the configuration: ${error.message}` }]));
  preview.refresh();
}

main();
