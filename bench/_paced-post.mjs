// The open-loop sender the load generators share: POSTs `total` requests at a fixed rate from one process (every
// request whose slot has come is sent, so a late timer never lowers the offered rate) and counts the answers.
import http from 'node:http';

/**
 * `next()` builds each request as it is sent: { path, headers?, body } (a Buffer). Resolves with the 2xx and
 * failed counts and the seconds from the first send to the last answer.
 */
export async function pacedPost({ url, rate, total, next }) {
  const { hostname, port } = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const interval = 1000 / rate;
  let sent = 0, done = 0, ok = 0, failed = 0;
  const start = performance.now();
  await new Promise((resolve) => {
    const finish = () => ++done === total && resolve();
    const send = () => {
      const r = next();
      const req = http.request({ hostname, port, path: r.path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': r.body.length, ...r.headers } }, (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode >= 200 && res.statusCode < 300 ? ok++ : failed++), finish()));
      });
      req.on('error', () => (failed++, finish()));
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
  return { ok, failed, seconds: (performance.now() - start) / 1000 };
}
