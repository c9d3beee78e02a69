// Load for the journeys benchmark, in its own process, open loop at a fixed rate. argv[2] is a JSON job
// { mode: 'tandem' | 'direct', url, auth?, rate (events/s), perRequest, seconds, users }. mode tandem: /v1/batch
// requests of `perRequest` `Bench Ping` track events; mode direct: one POST per event straight to the sink (the
// baseline). Each event carries properties.sent_at (epoch ms, high resolution). Prints one JSON line.
import http from 'node:http';

const job = JSON.parse(process.argv[2]);
const { hostname, port } = new URL(job.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const now = () => performance.timeOrigin + performance.now();
let seq = 0;
let state = 4242;
const rnd = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
const perRequest = job.mode === 'direct' ? 1 : job.perRequest;

function request() {
  if (job.mode === 'direct') {
    const id = `direct-${process.pid}-${++seq}`;
    return { path: '/direct', headers: { 'idempotency-key': id }, body: Buffer.from(JSON.stringify({ message_id: id, payload: { event: { sent_at: now() } } })) };
  }
  const iso = new Date().toISOString();
  const batch = Array.from({ length: perRequest }, () => ({
    type: 'track', event: 'Bench Ping', userId: `bench-${Math.floor(rnd() * job.users)}`, messageId: `ping-${process.pid}-${++seq}`, timestamp: iso,
    properties: { sent_at: now() },
  }));
  return { path: '/v1/batch', headers: { authorization: job.auth }, body: Buffer.from(JSON.stringify({ batch, sentAt: iso })) };
}

const requestsPerSecond = job.rate / perRequest;
const total = Math.round(requestsPerSecond * job.seconds);
const interval = 1000 / requestsPerSecond;
let sent = 0, done = 0, ok = 0, failed = 0;
const start = performance.now();
await new Promise((resolve) => {
  const send = () => {
    const r = request();
    const req = http.request({ hostname, port, path: r.path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': r.body.length, ...r.headers } }, (res) => {
      res.resume();
      res.on('end', () => ((res.statusCode >= 200 && res.statusCode < 300 ? ok++ : failed++), ++done === total && resolve()));
    });
    req.on('error', () => (failed++, ++done === total && resolve()));
    req.end(r.body);
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
process.stdout.write(`${JSON.stringify({ events: ok * perRequest, failedRequests: failed, seconds, achievedRate: (ok * perRequest) / seconds })}\n`);
