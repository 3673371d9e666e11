// Smoke test: one fast page, checked, with thresholds that pass against the
// runner's demo target (`k6-runner serve --demo-target 127.0.0.1:18080`).
import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE = __ENV.TARGET_URL || 'http://127.0.0.1:18080';

export const options = {
  thresholds: {
    http_req_duration: ['p(95)<500'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const res = http.get(`${BASE}/fast`);
  check(res, {
    'status is 200': (r) => r.status === 200,
    'body is ok': (r) => r.body === 'ok',
  });
  sleep(0.1);
}
