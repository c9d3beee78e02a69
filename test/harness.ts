import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createApp, type App } from '../src/app.js';
import type { Clock } from '../src/core/clock.js';
import { parseConfig, type Config } from '../src/core/config.js';

export const ADMIN_TOKEN = 'test-admin-token';

export interface Running {
  app: App;
  url: string;
  writeKey: string;
  dataDir: string;
  /** fetch against the admin API with the admin token. */
  admin(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** POST a collection call with the default source's write key. */
  collect(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Waits until every logged message has been processed by the events stage and resolved to its profile. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a real Tandem (embedded storage in a fresh temporary directory) on a free port. */
export async function startTandem(options: { config?: Record<string, unknown>; clock?: Clock; dataDir?: string } = {}): Promise<Running> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tandem-test-'));
  const config = parseConfig({ port: 0, logLevel: 'silent', storage: { sync: 'normal' }, ...options.config, dataDir });
  const app = await createApp({ config, clock: options.clock, adminToken: ADMIN_TOKEN, logger: pino({ level: 'silent' }) });
  const url = await app.listen();
  const writeKey = app.firstStart.writeKey ?? '';
  const admin = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json, ...rest } = init;
    return fetch(`${url}/api/v1${path}`, {
      ...rest,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...(rest.headers as Record<string, string>) },
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    });
  };
  const collect = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, ...headers },
      body: typeof body === "string" ? body : body instanceof Uint8Array ? (body as unknown as BodyInit) : JSON.stringify(body),
    });
  return {
    app,
    url,
    writeKey,
    dataDir,
    admin,
    collect,
    async settle() {
      // Until the log stops growing: the apply stage appends membership events that go round the loop again.
      for (let round = 0; round < 10; round++) {
        const heads = async () => (await Promise.all(Array.from({ length: app.log.partitions }, (_, p) => app.log.head(p)))).join(',');
        const before = await heads();
        await app.events.drain();
        await app.resolve.drain();
        await app.apply.drain();
        if ((await heads()) === before) break;
      }
      await app.sink.drain();
    },
    async stop() {
      await app.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
