// The run controls: Start, Stop and its confirmation dialog. Owns `busy`
// (a control request in flight holds both buttons) and the buttons'
// enabled state, which follows the status module's current state. What a
// started run or a refused start means for other views is told by app.js
// (`controls.bind({ started, refused })`).

import { api } from './api.js';
import { hideControlError, showControlError } from './banner.js';
import { $ } from './dom.js';
import { status } from './status.js';

function describeControlError(error) {
  switch (error.status) {
    case 403: return `Your token may only view this runner: ${error.message}`;
    case 409: return `A run is already in progress. ${error.message}`;
    case 422: return `The saved configuration cannot be run: ${error.message}`;
    case 503: return `k6 is not usable: ${error.message}`;
    default: return error.message;
  }
}

export const controls = {
  busy: false,
  /** `{ started(reply), refused(error) }`, from `bind`. */
  hooks: null,

  bind(hooks) {
    this.hooks = hooks;
    $('start-button').addEventListener('click', () => this.start());
    $('stop-button').addEventListener('click', () => this.confirmStop());
  },

  render() {
    const state = status.current?.state;
    $('start-button').disabled = this.busy || state !== 'idle';
    $('stop-button').disabled = this.busy || state !== 'running';
  },

  /** Runs a control request with both buttons held, showing its error. */
  async control(request) {
    this.busy = true;
    this.render();
    hideControlError();
    try {
      await request();
    } catch (error) {
      showControlError(describeControlError(error), error.fields);
      this.hooks.refused(error);
    } finally {
      this.busy = false;
      this.render();
    }
  },

  start() {
    return this.control(async () => {
      this.hooks.started(await api('start', { method: 'POST' }));
    });
  },

  stop() {
    return this.control(async () => {
      const reply = await api('stop', { method: 'POST' });
      if (!reply.stopping) showControlError(reply.message ?? 'No run is in progress.');
    });
  },

  confirmStop() {
    const dialog = $('stop-dialog');
    dialog.returnValue = '';
    dialog.addEventListener('close', () => {
      if (dialog.returnValue === 'confirm') this.stop();
    }, { once: true });
    dialog.showModal();
  },
};
