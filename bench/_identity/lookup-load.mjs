// Open-loop lookup client, run as its own process: GET requests at a fixed rate whatever the answers take, so a
// slow server shows up as latency rather than as a lower offered rate. argv[2] is a JSON job:
//   { url, auth, valuesFile, rate, seconds, warmup }   valuesFile: one email per line, requested in turn
// The result is one JSON line on stdout.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const job = JSON.parse(process.argv[2]);
const values = readFileSync(job.valuesFile, 'utf8').split('\n').filter(Boolean);
const { hostname, port } = new URL(job.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const interval = 1000 / job.rate;
const total = Math.round(job.rate * (job.seconds + job.warmup));
const warmCount = Math.round(job.rate * job.warmup);
const latencies = [];
let sent = 0, done = 0, ok = 0, notFound = 0, non2xx = 0, errors = 0, maxLate = 0, measuredFrom = 0, measuredTo = 0;

const result = await new Promise((resolve) => {
  const start = performance.now();
  const send = (n) => {
    const path = `/api/v1/profiles/lookup?type=email&value=${encodeURIComponent(values[n % values.length])}`;
    const at = performance.now();
    maxLate = Math.max(maxLate, at - (start + n * interval));
    if (n === warmCount) measuredFrom = at;
    const req = http.request({ hostname, port, path, method: 'GET', agent, headers: { authorization: job.auth } }, (res) => {
      res.resume();
      res.on('end', () => {
        const ms = performance.now() - at;
        if (n >= warmCount) {
          measuredTo = performance.now();
          if (res.statusCode === 200) (ok++, latencies.push(ms));
          else if (res.statusCode === 404) notFound++;
          else non2xx++;
        }
        finish();
      });
    });
    req.on('error', () => (errors++, finish()));
    req.end();
  };
  const finish = () => {
    if (++done < total) return;
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    resolve({ ok, notFound, non2xx, errors, offeredRate: job.rate, achievedRate: ok / ((measuredTo - measuredFrom) / 1000), p50: q(0.5), p90: q(0.9), p99: q(0.99), max: latencies[latencies.length - 1], maxSendLateMs: maxLate });
  };
  // Sends every request whose slot has come, so a late timer never lowers the offered rate.
  const tick = () => {
    const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
    while (sent < due) send(sent++);
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
});
process.stdout.write(`${JSON.stringify(result)}\n`);
