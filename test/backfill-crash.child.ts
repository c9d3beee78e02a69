// Runs Tandem over an existing data directory with small, slow backfill chunks, so that test/backfill-crash.test.ts
// can kill it with SIGKILL part-way through the backfill of a changed audience and start it again.
import pino from 'pino';
import { createApp } from '../src/app.js';
import { parseConfig } from '../src/core/config.js';

const [dataDir, chunk, delayMs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const config = parseConfig({ dataDir, port: 0, logLevel: 'silent', storage: { sync: 'normal' }, collect: { threads: 0 } });
const app = await createApp({ config, adminToken: 'test-admin-token', logger: pino({ level: 'silent' }) });
app.apply.backfillTuning.chunk = chunk;
app.apply.backfillTuning.beforeChunk = async () => {
  await new Promise((r) => setTimeout(r, delayMs));
  return true;
};
const url = await app.listen();
process.stdout.write(`started ${url}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
