/**
 * The collect thread: decodes request bodies, validates, normalises and serialises their messages and checks
 * them against tracking plans (Collector.prepare), beside the event loop that handles HTTP. Tracking plans are
 * read from the store file and dropped from the cache when the main thread says they changed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeBody } from './body.js';
import { Collector, type CollectCall, type PreparedBatch } from './collector.js';
import { TrackingPlans } from './tracking-plan/check.js';
import { systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { TandemError } from '../core/errors.js';
import type { Source } from '../core/ports/store.js';
import { openSqlite } from '../storage/sqlite/database.js';
import { openSqliteStore } from '../storage/sqlite/store.js';

export interface CollectThreadData {
  entry: string;
  storeFile: string;
  limits: Config['collect'];
  partitions: number;
}

export type CollectRequest =
  | { op: 'prepare'; id: number; source: Source; call: CollectCall; body: Uint8Array; encoding: string | undefined; receivedAt: number }
  | { op: 'plansChanged'; workspaceId: string };

export type CollectReply =
  | { id: number; prepared: PreparedBatch }
  | { id: number; error: { code: string; message: string; status: number; path?: string; details?: unknown[] } };

const data = workerData as CollectThreadData;
const store = openSqliteStore(openSqlite(data.storeFile, 'normal'), systemClock);
const plans = new TrackingPlans(store);
// The log is appended to by the main thread; the collector here only prepares batches.
const collector = new Collector({ partitions: data.partitions, append: () => Promise.reject(new Error('not on the collect thread')) }, plans, data.limits);
const port = parentPort!;

port.on('message', async (m: CollectRequest) => {
  if (m.op === 'plansChanged') {
    plans.forget(m.workspaceId);
    return;
  }
  try {
    await plans.prepare(m.source.workspaceId);
    const body = decodeBody(Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength), m.encoding, data.limits.maxRequestBytes);
    port.postMessage({ id: m.id, prepared: collector.prepare(m.source, m.call, body, m.receivedAt) } satisfies CollectReply);
  } catch (error) {
    const e = error instanceof TandemError ? error : new TandemError('internal', (error as Error).message, 500);
    port.postMessage({ id: m.id, error: { code: e.code, message: e.message, status: e.status, path: e.path, details: e.details } } satisfies CollectReply);
  }
});
port.postMessage('ready');
