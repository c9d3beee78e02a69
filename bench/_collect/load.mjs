// Load generator, run as its own process so it never shares an event loop with the server under test.
// argv[2] is a JSON job; the result is one JSON line on stdout.
//   { mode: 'closed', url, path, auth, perRequest, connections, seconds, warmup }  autocannon, as fast as answered
//   { mode: 'paced', url, path, auth, perRequest, rate, seconds, warmup }          open loop at a fixed rate
import autocannon from 'autocannon';
import http from 'node:http';
import { bodyPool } from './bodies.mjs';

const job = JSON.parse(process.argv[2]);
const bodies = bodyPool(job.perRequest);
const headers = { 'content-type': 'application/json', authorization: job.auth };

function closed() {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const warmEnd = start + job.warmup * 1000;
    let ok = 0, non2xx = 0, firstAt = 0, lastAt = 0;
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: job.seconds + job.warmup,
        requests: [{ method: 'POST', path: job.path, headers, setupRequest: (req) => ({ ...req, body: bodies.next() }) }],
      },
      (error, result) => {
        if (error) return reject(error);
        const seconds = (lastAt - firstAt) / 1000;
        resolve({
          requests2xx: ok,
          non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          seconds,
          requestsPerSecond: ok / seconds,
          eventsPerSecond: (ok * job.perRequest) / seconds,
          meanEventBytes: bodies.meanEventBytes,
          meanBodyBytes: bodies.meanBodyBytes,
        });
      },
    );
    // Only responses after the warm-up count, so JIT compilation and connection set-up are not in the figure.
    instance.on('response', (_client, status) => {
      const now = performance.now();
      if (now < warmEnd) return;
      if (!firstAt) firstAt = now;
      lastAt = now;
      if (status >= 200 && status < 300) ok++;
      else non2xx++;
    });
  });
}

function paced() {
  const { hostname, port } = new URL(job.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const interval = 1000 / job.rate;
  const total = Math.round(job.rate * (job.seconds + job.warmup));
  const warmCount = Math.round(job.rate * job.warmup);
  const latencies = [];
  let sent = 0, done = 0, ok = 0, non2xx = 0, errors = 0, maxLate = 0, measuredFrom = 0, measuredTo = 0;
  return new Promise((resolve) => {
    const start = performance.now();
    const send = (n) => {
      const body = bodies.next();
      const at = performance.now();
      maxLate = Math.max(maxLate, at - (start + n * interval));
      if (n === warmCount) measuredFrom = at;
      const req = http.request({ hostname, port, path: job.path, method: 'POST', agent, headers: { ...headers, 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => {
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
      req.end(body);
    };
    const finish = () => {
      if (++done < total) return;
      agent.destroy();
      latencies.sort((a, b) => a - b);
      const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
      resolve({
        requests2xx: ok,
        non2xx,
        errors,
        offeredRate: job.rate,
        achievedRate: ok / ((measuredTo - measuredFrom) / 1000),
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        max: latencies[latencies.length - 1],
        maxSendLateMs: maxLate,
        meanBodyBytes: bodies.meanBodyBytes,
      });
    };
    // Sends every request whose slot has come, so a late timer never lowers the offered rate.
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      while (sent < due) send(sent++);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

const result = job.mode === 'paced' ? await paced() : await closed();
process.stdout.write(`${JSON.stringify(result)}\n`);
