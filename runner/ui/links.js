// Links to what the API serves as a file (a step's files, a run's report,
// its JUnit XML): the link is the file's URL, so the browser downloads it
// as any link; with a token stored (a link cannot carry it) a click
// fetches the file with the token and saves it from memory. Owns nothing.

import { api, apiUrl, auth } from './api.js';
import { showControlError } from './banner.js';
import { el } from './dom.js';

/** How long a saved file's object URL lives: long enough for the browser to take it. */
const OBJECT_URL_LIFETIME_MS = 60000;

/** A link to API path `path`, saved as `name`, showing `text`. */
export function downloadLink(path, name, text, title, className = 'file-link') {
  const link = el('a', className, text);
  link.href = apiUrl(path).href;
  link.download = name;
  if (title) link.title = title;
  link.addEventListener('click', (event) => {
    if (!auth.token()) return;
    event.preventDefault();
    download(path, name);
  });
  return link;
}

async function download(path, name) {
  try {
    const url = URL.createObjectURL(await api(path, { blob: true }));
    const link = el('a');
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), OBJECT_URL_LIFETIME_MS);
  } catch (error) {
    showControlError(`Could not download ${name}: ${error.message}`);
  }
}
