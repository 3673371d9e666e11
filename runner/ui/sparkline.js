// Sparklines: a small SVG line of a few values (the History view's trend
// per script), drawn with DOM calls (no markup from data). Owns nothing.

const SVG = 'http://www.w3.org/2000/svg';
/** The drawing's size in its own units; CSS scales it. */
const WIDTH = 120;
const HEIGHT = 28;
/** Room at the edges for the line's width and the last point's dot. */
const PAD = 3;

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/**
 * A sparkline of `values` (oldest first; missing ones skipped), its last
 * point marked, titled `label` for a pointer or a screen reader.
 */
export function sparkline(values, label) {
  const shown = values.filter((value) => Number.isFinite(value));
  const node = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'sparkline', role: 'img', 'aria-label': label });
  node.dataset.points = String(shown.length);
  const title = svg('title', {});
  title.textContent = label;
  node.append(title);
  if (!shown.length) return node;
  const min = Math.min(...shown);
  const max = Math.max(...shown);
  // A flat series is drawn in the middle, not on an edge.
  const span = max - min || 1;
  const x = (i) => (shown.length === 1 ? WIDTH / 2 : PAD + (i * (WIDTH - 2 * PAD)) / (shown.length - 1));
  const y = (v) => (max === min ? HEIGHT / 2 : HEIGHT - PAD - ((v - min) * (HEIGHT - 2 * PAD)) / span);
  const points = shown.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  node.append(svg('polyline', { points, fill: 'none', class: 'sparkline-line' }));
  const last = shown.length - 1;
  node.append(svg('circle', { cx: x(last).toFixed(1), cy: y(shown[last]).toFixed(1), r: 2.2, class: 'sparkline-dot' }));
  return node;
}
