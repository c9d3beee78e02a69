// Open-loop load for POST /v1/personalize, run as its own process. argv[2] is a JSON job
//   { url, path, auth, rate, seconds, warmup, visitors, decisions }
// Every request names a random known visitor, a device and an address; latency is measured per request. The result is one JSON line on stdout.
import http from 'node:http';

const job = JSON.parse(process.argv[2]);
const { hostname, port } = new URL(job.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const UAS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
];
const IPS = ['1.0.0.7', '1.0.1.7', '8.8.8.8'];
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const body = () =>
  Buffer.from(JSON.stringify({
    anonymousId: `a${Math.floor(rand() * job.visitors)}`,
    decisions: job.decisions,
    context: { ip: IPS[Math.floor(rand() * IPS.length)], userAgent: UAS[Math.floor(rand() * UAS.length)], page: { path: '/products/shoes' } },
  }));

const interval = 1000 / job.rate;
const total = Math.round(job.rate * (job.seconds + job.warmup));
const warmCount = Math.round(job.rate * job.warmup);
const latencies = [];
let sent = 0, done = 0, ok = 0, non2xx = 0, errors = 0, maxLate = 0, measuredFrom = 0, measuredTo = 0;
const result = await new Promise((resolve) => {
  const start = performance.now();
  const finish = () => {
    if (++done < total) return;
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    resolve({ requests2xx: ok, non2xx, errors, offeredRate: job.rate, achievedRate: ok / ((measuredTo - measuredFrom) / 1000), p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: latencies[latencies.length - 1], maxSendLateMs: maxLate });
  };
  const send = (n) => {
    const b = body();
    const scheduled = start + n * interval;
    const at = performance.now();
    maxLate = Math.max(maxLate, at - scheduled);
    if (n === warmCount) measuredFrom = at;
    const req = http.request({ hostname, port, path: job.path, method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: job.auth, 'content-length': b.length } }, (res) => {
      res.resume();
      res.on('end', () => {
        // From the send, as bench/_collect/load.mjs measures; how late the sender was is reported beside it.
        const ms = performance.now() - at;
        if (n >= warmCount) {
          measuredTo = performance.now();
          if (res.statusCode >= 200 && res.statusCode < 300) (ok++, latencies.push(ms));
          else non2xx++;
        }
        finish();
      });
    });
    req.on('error', () => (errors++, finish()));
    req.end(b);
  };
  const tick = () => {
    const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
    while (sent < due) send(sent++);
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
});
process.stdout.write(`${JSON.stringify(result)}\n`);
