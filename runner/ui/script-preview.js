// The k6_all.sh preview: what the saved config runs (`GET /script`). Owns
// which refresh may render (`generation`); the text is the server's.

import { api } from './api.js';
import { $ } from './dom.js';

export const preview = {
  generation: 0,

  async refresh() {
    const generation = ++this.generation;
    const code = $('script-preview').querySelector('code');
    let text;
    try {
      text = await api('script', { text: true });
    } catch (error) {
      text = `# The script cannot be rendered: ${error.message}`;
    }
    if (generation === this.generation) code.textContent = text;
  },
};
