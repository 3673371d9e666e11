// Browse the API: a JSON listing and a slow page, grouped like a dashboard
// load, with thresholds that hold against the demo target.
import http from 'k6/http';
import { check, group, sleep } from 'k6';

const BASE = __ENV.TARGET_URL || 'http://127.0.0.1:18080';

export const options = {
  thresholds: {
    'http_req_duration{group:::dashboard}': ['p(95)<1000'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  group('dashboard', function () {
    const list = http.get(`${BASE}/json`);
    check(list, {
      'listing is 200': (r) => r.status === 200,
      'listing has items': (r) => r.json('items').length === 3,
    });
    const slow = http.get(`${BASE}/slow`);
    check(slow, { 'slow page is 200': (r) => r.status === 200 });
  });
  sleep(0.5);
}
