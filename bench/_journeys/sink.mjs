// The local HTTP sink of the journeys benchmark, in its own process: every POST carries `payload.event.sent_at`
// (epoch ms, high resolution, stamped by the sender as it sent the event); the sink records now - sent_at per
// path (/journey: through Tandem's webhook channel; /direct: the sender's own POST, the baseline).
// GET /stats answers { path: sorted latencies } and clears them. Prints "listening <port>" when ready.
import http from 'node:http';

const now = () => performance.timeOrigin + performance.now();
const latencies = new Map();
const keys = new Map();
const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    const out = {};
    for (const [path, list] of latencies) out[path] = { latencies: list.sort((a, b) => a - b), repeats: list.length - keys.get(path).size };
    latencies.clear();
    keys.clear();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = now();
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString());
      const sentAt = Number(body?.payload?.event?.sent_at);
      const path = req.url.startsWith('/direct') ? 'direct' : 'journey';
      if (Number.isFinite(sentAt)) {
        if (!latencies.has(path)) (latencies.set(path, []), keys.set(path, new Set()));
        latencies.get(path).push(at - sentAt);
        keys.get(path).add(String(req.headers['idempotency-key'] ?? body?.message_id ?? Math.random()));
      }
    } catch { /* not a benchmark request */ }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
