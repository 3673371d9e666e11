// The error banner under the top bar (`#control-error`): refused controls
// (409, 422, 503…) and errors of the page itself. Owns that banner; any
// module may show or hide it.

import { $, el } from './dom.js';

export function showControlError(message, fields = []) {
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

export function hideControlError() {
  $('control-error').hidden = true;
}
