// The live WebSocket (`api/k6/ws`): connects with the token in the query,
// hands each message to the view that wants it, and reconnects with
// backoff. Owns the socket, the retry count and timer, and the connection
// indicator in the top bar (`#connection`). What a message does is not
// its business: `live.connect(handlers)` is told by app.js.

import { api, apiUrl, auth } from './api.js';
import { showControlError } from './banner.js';
import { $ } from './dom.js';

/** Longest pause between two attempts, before jitter. */
const MAX_BACKOFF_MS = 15000;

export function setConnection(state, text) {
  const node = $('connection');
  node.dataset.connection = state;
  node.textContent = text;
}

/** What each message type is handed to: `logs` batches (and the older one-line `log`), `lagged` notices. */
const ROUTES = {
  status: (handlers, data) => handlers.status(data),
  metrics: (handlers, data) => handlers.metrics(data),
  logs: (handlers, data) => Array.isArray(data) && handlers.logs(data),
  log: (handlers, data) => handlers.logs([data]),
  lagged: (handlers, data) => handlers.lagged(data ?? {}),
  config: (handlers, data) => handlers.config(data),
  regression: (handlers, data) => handlers.regression(data ?? {}),
};

/** The WebSocket: status, metrics, logs, lagged, config and regression messages; reconnects with backoff. */
export const live = {
  socket: null,
  failures: 0,
  timer: null,
  /**
   * `{ open(), status(s), metrics(m), logs(lines), lagged({missedEvents, lastLogSeq}), config(c),
   * regression(notice) }`,
   * set by the first `connect`.
   */
  handlers: null,

  connect(handlers = this.handlers) {
    this.handlers = handlers;
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
      this.handlers.open();
    });
    socket.addEventListener('message', (event) => this.dispatch(event.data));
    socket.addEventListener('close', () => {
      if (this.socket === socket) this.retry();
    });
  },

  dispatch(data) {
    let message;
    try { message = JSON.parse(data); } catch { return; }
    if (Object.hasOwn(ROUTES, message?.type)) ROUTES[message.type](this.handlers, message.data);
  },

  retry() {
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.failures) * (0.8 + Math.random() * 0.4);
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
      this.handlers.status(await api('status'));
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
