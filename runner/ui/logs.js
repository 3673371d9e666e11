// The Logs panel: the backlog (`GET /logs`), the live tail (batches of
// lines, each appended at once), catching up after a gap (`since=` the
// last line seen), the level filter, and the pause when the user scrolls
// up. Owns the last line seen (`lastSeq`), whether the view follows the
// tail, the count of lines not seen while paused, which backlog request
// may render (`generation`) and the live lines held while a catch-up runs.

import { api } from './api.js';
import { $, el } from './dom.js';
import { format, formatNumber } from './format.js';

/** Most lines kept on the page; older ones are dropped from the top. */
const MAX_LOG_LINES = 2000;
const BACKLOG_LINES = 500;
/** Most pages one catch-up reads (500 lines each): beyond that the view keeps only the newest anyway. */
const MAX_CATCH_UP_PAGES = 10;

/** Where the live stream left lines out: they are in `GET /logs` and the step's log file. */
function gapItem(count) {
  return el('li', 'log-gap', `… ${formatNumber(count)} ${count === 1 ? 'line' : 'lines'} not sent live (in the step's log file)`);
}

/** One log line as a list item. */
function lineItem(line) {
  const item = el('li', `log-line level-${line.level}`);
  item.dataset.seq = String(line.seq);
  const time = el('time', null, format.time(line.time));
  time.dateTime = line.time;
  item.append(
    time,
    el('span', 'lvl', line.level === 'warning' ? 'WARN' : line.level.toUpperCase()),
    el('span', 'src', line.script || line.stream),
    el('span', 'msg', line.message),
  );
  item.title = `${line.runId} · ${line.step ? `step ${line.step} · ` : ''}${line.stream}`;
  return item;
}

export const logs = {
  lastSeq: 0,
  /** The last line the live stream sent: a jump past it is lines the runner did not send live. */
  lastLiveSeq: 0,
  follow: true,
  /** Where the tail last put the view: scrolling above it is the user's doing. */
  autoScrollTop: 0,
  unseen: 0,
  /** Only the newest backlog request may render: filter changes can overlap. */
  generation: 0,

  /** Live lines that came while a catch-up was reading: added after it, in order. */
  held: null,
  /** Another catch-up was asked for while one was reading. */
  again: false,

  levels() {
    return [...document.querySelectorAll('.level-filter input:checked')].map((box) => box.value);
  },

  /**
   * Fetches the lines after the last one seen (the newest lines at first),
   * page by page until none is left. Live lines that arrive meanwhile are
   * held and added after it, so a line is neither lost nor shown twice.
   */
  async catchUp() {
    const levels = this.levels();
    if (!levels.length) return;
    if (this.held) {
      // One is reading: it reads once more when it is done.
      this.again = true;
      return;
    }
    const generation = this.generation;
    const held = [];
    this.held = held;
    try {
      // The first page is the newest lines (a tail); after that, the lines
      // following the last one seen, oldest first, so that none is skipped.
      for (let page = 0; page < MAX_CATCH_UP_PAGES; page += 1) {
        const query = new URLSearchParams({ limit: String(BACKLOG_LINES), level: levels.join(',') });
        const since = this.lastSeq;
        if (since) query.set('since', String(since));
        const { lines } = await api(`logs?${query}`);
        if (generation !== this.generation) return;
        this.add(lines, true);
        if (!since || lines.length < BACKLOG_LINES) break;
      }
    } catch (error) {
      if (generation === this.generation) {
        this.view().append(el('li', 'log-line level-error', `Could not load the log backlog: ${error.message}`));
      }
    } finally {
      // Unless a new filter started over meanwhile (with its own catch-up).
      if (this.held === held) {
        this.held = null;
        this.add(held);
        if (this.again) {
          this.again = false;
          this.catchUp();
        }
      }
    }
  },

  /**
   * The WebSocket missed events (`lagged`): the lines up to `lastLogSeq`
   * not seen yet are read from the backlog.
   */
  lagged({ lastLogSeq } = {}) {
    // What was missed is read from the backlog, not marked as a gap.
    this.lastLiveSeq = 0;
    if (lastLogSeq === undefined || lastLogSeq > this.lastSeq) this.catchUp();
  },

  /**
   * A batch of the WebSocket. When k6 writes more than a live view can
   * show, the runner sends part of each batch (warnings and errors first);
   * the skipped `seq` numbers are marked where they were left out.
   */
  live(lines) {
    for (const line of lines) {
      if (this.lastLiveSeq && line.seq > this.lastLiveSeq + 1) line.gapBefore = line.seq - this.lastLiveSeq - 1;
      this.lastLiveSeq = Math.max(this.lastLiveSeq, line.seq);
    }
    this.add(lines);
  },

  /** Starts over with the chosen levels. */
  refilter() {
    this.generation += 1;
    this.held = null;
    this.again = false;
    this.lastSeq = 0;
    this.unseen = 0;
    this.view().replaceChildren();
    this.setFollow(true);
    this.catchUp();
  },

  view() {
    return $('log-view');
  },

  /**
   * Adds lines (a batch of the WebSocket, a page of the backlog), oldest
   * first: one fragment appended, one trim, one scroll per batch.
   */
  add(lines, fromBacklog = false) {
    if (this.held && !fromBacklog) {
      this.held.push(...lines);
      return;
    }
    const levels = this.levels();
    const fragment = document.createDocumentFragment();
    let added = 0;
    for (const line of lines) {
      if (line.seq <= this.lastSeq) continue;
      this.lastSeq = line.seq;
      if (line.gapBefore) fragment.append(gapItem(line.gapBefore));
      if (!levels.includes(line.level)) continue;
      fragment.append(lineItem(line));
      added += 1;
    }
    if (!fragment.childElementCount) return;
    const view = this.view();
    view.append(fragment);
    for (let extra = view.childElementCount - MAX_LOG_LINES; extra > 0; extra -= 1) view.firstElementChild.remove();
    if (this.follow) {
      this.scrollToEnd();
    } else {
      this.unseen += added;
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
