// The k6 script behind the legacy wrapper `scripts/legacy/overall-1.sh`.
// VUs and duration come from the wrapper's command line.
import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE = __ENV.TARGET_URL || 'http://127.0.0.1:18080';

export const options = {
  thresholds: { http_req_failed: ['rate<0.01'] },
};

export default function () {
  check(http.get(`${BASE}/fast`), { 'status is 200': (r) => r.status === 200 });
  check(http.get(`${BASE}/json`), { 'json is 200': (r) => r.status === 200 });
  sleep(0.2);
}
