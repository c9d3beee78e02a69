// The ceiling: a bare node:http server that reads the body, parses it and answers 200. Nothing Tandem does
// (validation, normalisation, the durable log) can be faster than this on the same machine.
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const accepted = Array.isArray(body.batch) ? body.batch.length : 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"success":true,"accepted":${accepted},"quarantined":0,"errors":[]}`);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
