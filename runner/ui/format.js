// How numbers, durations, times and k6's metric values read on the page.
// Owns the cache of `Intl.NumberFormat`s, one per number of decimals;
// nothing else.

const numberFormats = new Map();

export function formatNumber(value, digits = 0) {
  if (!numberFormats.has(digits)) {
    numberFormats.set(digits, new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  return numberFormats.get(digits).format(value);
}

/** A reading the runner does not have (yet): shown as a dash. */
export const missing = (value) => value === null || value === undefined || Number.isNaN(value);

/** The order a metric's statistics are shown in; others follow by name. */
const STAT_ORDER = ['count', 'rate', 'value', 'avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'passes', 'fails'];

export const format = {
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

  /** A k6 metric's statistics in reading order: `[[name, value], …]`. */
  stats(values) {
    const rank = (name) => (STAT_ORDER.includes(name) ? STAT_ORDER.indexOf(name) : STAT_ORDER.length);
    return Object.entries(values ?? {}).sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : 1));
  },

  /**
   * One statistic `stat` of k6 metric `metric` (`{type, contains}`) in its
   * unit: times in ms or s, data in bytes, a rate metric's `rate` as a
   * percentage, a counter's `rate` per second, plain numbers as they are.
   */
  stat(metric, stat, value) {
    if (missing(value)) return '—';
    if (metric.type === 'rate' && stat === 'rate') return `${format.percent(value)} %`;
    const perSecond = metric.type === 'counter' && stat === 'rate' ? '/s' : '';
    if (metric.contains === 'time') return `${format.latencyText(value)}${perSecond}`;
    if (metric.contains === 'data') return `${format.bytes(value).join(' ')}${perSecond}`;
    if (perSecond) return `${format.rate(value)}/s`;
    return Number.isInteger(value) ? formatNumber(value) : formatNumber(value, Math.abs(value) < 10 ? 2 : 1);
  },
};
