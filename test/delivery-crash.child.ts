// Runs Tandem's dispatcher over an existing data directory until the outbox is empty (test/delivery-crash.test.ts
// kills it with SIGKILL part-way and starts it again).
import pino from 'pino';
import { createApp } from '../src/app.js';
import { parseConfig } from '../src/core/config.js';

const dataDir = process.argv[2];
const config = parseConfig({
  dataDir, port: 0, logLevel: 'silent', storage: { sync: 'normal' }, collect: { threads: 0 },
  delivery: { retryBase: '200ms', retryMax: '1s', concurrency: 8 },
  network: { allowPrivate: ['127.0.0.1/32'] }, // the test's sink is on loopback
});
const app = await createApp({ config, adminToken: 'crash-test', logger: pino({ level: 'silent' }) });
process.stdout.write('started\n');
for (;;) {
  await app.delivery.dispatcher.drain();
  if (app.delivery.deps.store.list('default', { state: 'pending', limit: 1 }).length === 0) break;
  await new Promise((r) => setTimeout(r, 50));
}
await app.close();
process.stdout.write('done\n');
process.exit(0);
