// Which view shows: Live (the dashboard), History, Compare or Schedules, named by the
// URL's hash with the view's parameters (`#history?state=failed`,
// `#compare?base=<id>&run=<id>`), so that every view is a link and the
// browser's back button goes back a view. Owns the current view's name;
// what a view does when it shows is told by app.js
// (`views.bind({ history, compare, schedules })`). No framework: one `<main
// data-view>` per view, the others hidden.

import { $ } from './dom.js';

const VIEWS = ['live', 'history', 'compare', 'schedules'];

/** The hash of view `name` with `params` (`{ key: value }`; empty values left out). */
export function viewHash(name, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
  }
  const text = query.toString();
  return `#${name}${text ? `?${text}` : ''}`;
}

export const views = {
  current: null,
  /** `{ history: { show(params, again) }, compare: …, schedules: … }`, from `bind`. */
  handlers: {},

  bind(handlers) {
    this.handlers = handlers;
    window.addEventListener('hashchange', () => this.route());
    this.route();
  },

  /** The view and parameters the hash names (the live view for anything else). */
  parse() {
    const [name, query = ''] = location.hash.replace(/^#/, '').split('?');
    return { name: VIEWS.includes(name) ? name : 'live', params: new URLSearchParams(query) };
  },

  route() {
    const { name, params } = this.parse();
    const again = this.current === name;
    this.current = name;
    for (const view of VIEWS) $(`view-${view}`).hidden = view !== name;
    for (const link of document.querySelectorAll('.view-tabs a[data-view]')) {
      if (link.dataset.view === name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    this.handlers[name]?.show(params, again);
  },

  /**
   * Shows view `name` with `params`. The same hash again (a reload of the
   * view, after an action) fires no `hashchange`: it is routed here.
   */
  go(name, params = {}) {
    const hash = viewHash(name, params);
    if (location.hash === hash) this.route();
    else location.hash = hash;
  },
};
