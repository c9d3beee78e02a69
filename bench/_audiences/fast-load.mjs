// Load for the fast loop of the audiences benchmark, in its own process: /v1/batch requests of `perRequest` track
// events at a fixed rate (open loop), each event stamped with the instant it is sent, for a pool of `users`.
// argv[2] is a JSON job { url, auth, rate (events/s), perRequest, seconds, users }; prints one JSON line.
import http from 'node:http';

const job = JSON.parse(process.argv[2]);
const { hostname, port } = new URL(job.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const EVENTS = ['Page Viewed', 'Product Viewed', 'Product Viewed', 'Product Added', 'Email Opened', 'Email Clicked', 'Order Completed', 'Signed Up', 'Search', 'Cart Viewed'];
const CATEGORIES = ['shoes', 'shirts', 'bags', 'hats', 'socks', 'coats'];
const CHANNELS = ['web', 'ios', 'android'];
let seq = 0;
let state = 12345;
const rnd = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
const pick = (list) => list[Math.floor(rnd() * list.length)];

function body() {
  const now = new Date().toISOString();
  const batch = Array.from({ length: job.perRequest }, () => ({
    type: 'track',
    event: pick(EVENTS),
    userId: `user-${Math.floor(rnd() * job.users)}`,
    messageId: `fast-${process.pid}-${++seq}`,
    timestamp: now,
    properties: { price: Math.floor(rnd() * 20000) / 100, category: pick(CATEGORIES), quantity: 1 + Math.floor(rnd() * 5), channel: pick(CHANNELS) },
  }));
  return Buffer.from(JSON.stringify({ batch, sentAt: now }));
}

const requestsPerSecond = job.rate / job.perRequest;
const total = Math.round(requestsPerSecond * job.seconds);
const interval = 1000 / requestsPerSecond;
let sent = 0, done = 0, ok = 0, failed = 0;
const start = performance.now();
await new Promise((resolve) => {
  const send = () => {
    const b = body();
    const req = http.request({ hostname, port, path: '/v1/batch', method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: job.auth, 'content-length': b.length } }, (res) => {
      res.resume();
      res.on('end', () => ((res.statusCode >= 200 && res.statusCode < 300 ? ok++ : failed++), ++done === total && resolve()));
    });
    req.on('error', () => (failed++, ++done === total && resolve()));
    req.end(b);
  };
  const tick = () => {
    const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
    while (sent < due) (send(), sent++);
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
});
agent.destroy();
const seconds = (performance.now() - start) / 1000;
process.stdout.write(`${JSON.stringify({ events: ok * job.perRequest, failedRequests: failed, seconds, achievedRate: (ok * job.perRequest) / seconds })}\n`);
