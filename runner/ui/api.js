// The API client: where the API is (`API_BASE`), one `api()` call for
// every request, the API's errors (`ApiError`), and the bearer token.
// Owns the token (in `localStorage`, read on every request, never copied),
// the token dialog, the "signed in" line of the footer, and who the token
// belongs to (`auth.whoami()`, asked once per token).

import { $ } from './dom.js';

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

export function apiUrl(path) {
  return new URL(path, API_BASE);
}

/** An API error with its HTTP status and the `{error, fields}` body. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error || `HTTP ${status}`);
    this.status = status;
    this.fields = Array.isArray(body?.fields) ? body.fields : [];
  }
}

export const auth = {
  prompt: null,
  /** The answer of `GET whoami` for the current token (a promise), or null. */
  identity: null,

  token() {
    return localStorage.getItem(TOKEN_KEY);
  },

  forget() {
    localStorage.removeItem(TOKEN_KEY);
    this.identity = null;
    this.render();
  },

  /**
   * The caller's `{ name, role }`, so that a view offers only what the
   * caller may do. A runner that cannot say (an older one, a host's own
   * auth in front) gives `role: null`: the actions are shown and the API
   * decides, as for the live controls.
   */
  whoami() {
    this.identity ??= api('whoami').catch(() => ({ name: null, role: null }));
    return this.identity;
  },

  /** Whether the caller may be offered operator actions (not a known viewer). */
  async mayOperate() {
    return (await this.whoami()).role !== 'viewer';
  },

  render() {
    $('auth-info').hidden = !this.token();
  },

  bind() {
    $('forget-token').addEventListener('click', () => this.forget());
    this.render();
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
          this.identity = null;
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
 * Calls the API: JSON in and out (`text: true` for plain text, `blob: true`
 * for a file's bytes), the stored token on every request, and on 401 a
 * prompt for a token and a retry.
 */
export async function api(path, { method = 'GET', body, text = false, blob = false } = {}) {
  const MAX_TOKEN_PROMPTS = 3;
  for (let prompts = 0; ; prompts += 1) {
    const headers = { Accept: blob ? '*/*' : text ? 'text/plain, */*' : 'application/json' };
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
    if (blob && response.ok) return response.blob();
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
