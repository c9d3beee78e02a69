// The lookup ceiling: a bare node:http server that answers every request with the same profile-sized JSON.
// Nothing Tandem does (auth, routing, the identity store, survivorship) can answer faster on the same machine.
import http from 'node:http';

const body = JSON.stringify({
  id: 'p_00000000000000000000', identifiers: [{ type: 'user_id', value: 'u123456', firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-02T00:00:00.000Z' },
    { type: 'email', value: 'person123456@example.com', firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-02T00:00:00.000Z' }],
  traits: { email: 'person123456@example.com', plan: 'pro' }, lineage: {}, computed: {}, audiences: [], mergedFrom: [],
  firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-02T00:00:00.000Z', createdAt: '2026-01-01T00:00:00.000Z',
});
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
