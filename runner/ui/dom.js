// DOM helpers every view uses: `$` finds an element by id, `el` makes one.
// Owns no state.

export const $ = (id) => document.getElementById(id);

/** Creates an element with a class and text (never HTML: server text stays text). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
