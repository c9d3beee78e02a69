// `tandem apply` waits for the backfills of the audiences and traits it changed (a progress bar on a terminal, a
// line per finished backfill otherwise) until they have switched; `--no-wait` returns at once.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTandem, type Running } from './harness.js';

const run = promisify(execFile);
const cli = (args: string[], url: string) =>
  run(process.execPath, [join(process.cwd(), 'bin/tandem.js'), ...args, '--url', url], { env: { ...process.env, TANDEM_ADMIN_TOKEN: ADMIN_TOKEN } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

let t: Running | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  t = dir = undefined;
});

describe('tandem apply and backfills', () => {
  it('--no-wait returns while the change backfills; without it apply returns once the backfill has switched', async () => {
    t = await startTandem();
    const running = t;
    dir = mkdtempSync(join(tmpdir(), 'tandem-apply-wait-'));
    const file = join(dir, 'audiences.yaml');
    writeFileSync(file, 'kind: audiences\nkey: viewers\ncondition: { performed: Product Viewed }\n');
    expect((await cli(['apply', '-f', file], t.url)).code).toBe(0);
    for (let i = 0; i < 4; i++) await t.collect('/v1/track', { userId: `u${i}`, event: i % 2 ? 'Product Viewed' : 'Order Completed' });
    await t.settle();

    let open = false;
    t.app.apply.backfillTuning.chunk = 1;
    t.app.apply.backfillTuning.beforeChunk = () => open;
    const backfill = async () => (await (await running.admin('/audiences/viewers/backfill')).json()) as { state: string; version: number };

    writeFileSync(file, 'kind: audiences\nkey: viewers\ncondition: { performed: Order Completed }\n');
    const quick = await cli(['apply', '-f', file, '--no-wait'], t.url);
    expect(quick.code, quick.stderr).toBe(0);
    expect(await backfill()).toMatchObject({ state: 'backfilling', version: 2 });

    writeFileSync(file, 'kind: audiences\nkey: viewers\ncondition: { any: [{ performed: Order Completed }, { performed: Signed Up }] }\n');
    let returned = false;
    const waiting = cli(['apply', '-f', file], t.url).then((r) => ((returned = true), r));
    for (let i = 0; (await backfill()).version !== 3; i++) {
      if (i > 400) throw new Error('the apply did not start the backfill');
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 1500));
    expect(returned).toBe(false);
    open = true;
    t.app.apply.wake();
    const done = await waiting;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain('audiences/viewers: backfilled');
    expect(await backfill()).toMatchObject({ state: 'active', version: 3 });
  }, 60_000);
});
