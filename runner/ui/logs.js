// The Logs panel: the backlog (`GET /logs`), the live tail, the level
// filter, and the pause when the user scrolls up. Owns the last line seen
// (`lastSeq`), whether the view follows the tail, the count of lines not
// seen while paused, and which backlog request may render (`generation`).

import { api } from './api.js';
import { $, el } from './dom.js';
import { format, formatNumber } from './format.js';

/** Most lines kept on the page; older ones are dropped from the top. */
const MAX_LOG_LINES = 2000;
const BACKLOG_LINES = 500;

export const logs = {
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
