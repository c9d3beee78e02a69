import { Worker } from 'node:worker_threads';
import type { Config } from '../core/config.js';
import { TandemError } from '../core/errors.js';
import type { Source } from '../core/ports/store.js';
import type { CollectCall, PreparedBatch } from './collector.js';
import type { CollectReply, CollectThreadData } from './collect-thread.js';

/**
 * Runs Collector.prepare on collect threads, so that the event loop answering HTTP only moves bytes: on a small
 * machine it is what lets collection use a second core. Requests are spread round-robin; each thread keeps its
 * own compiled tracking plans.
 */
export class CollectPool {
  private next = 1;
  private turn = 0;
  private waiting = new Map<number, { resolve: (p: PreparedBatch) => void; reject: (e: Error) => void; worker: Worker }>();
  private failed: Error | undefined;

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      worker.on('message', (m: CollectReply | 'ready') => {
        if (m === 'ready') return;
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        this.release(worker);
        if (!w) return;
        if ('prepared' in m) w.resolve(m.prepared);
        else w.reject(new TandemError(m.error.code, m.error.message, m.error.status, m.error.path, m.error.details));
      });
      const fail = (error: Error) => {
        this.failed ??= new TandemError('collect_unavailable', `collection is unavailable: ${error.message}`, 503);
        for (const [id, w] of this.waiting) if (w.worker === worker) (this.waiting.delete(id), w.reject(this.failed));
      };
      worker.on('error', fail);
      worker.on('exit', () => fail(new Error('collect thread stopped')));
    }
  }

  static async start(threads: number, data: Omit<CollectThreadData, 'entry'>): Promise<CollectPool> {
    const entry = new URL('./collect-thread.ts', import.meta.url).href;
    const workers = await Promise.all(
      Array.from({ length: threads }, async () => {
        const worker = new Worker(new URL('../core/worker-boot.mjs', import.meta.url), { workerData: { ...data, entry } satisfies CollectThreadData });
        await new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
        });
        worker.unref();
        return worker;
      }),
    );
    return new CollectPool(workers);
  }

  prepare(source: Source, call: CollectCall, body: Buffer, encoding: string | undefined, receivedAt: number): Promise<PreparedBatch> {
    if (this.failed) return Promise.reject(this.failed);
    const worker = this.workers[this.turn++ % this.workers.length];
    const id = this.next++;
    worker.ref(); // an answer is owed: keep the process alive for it
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, worker });
      worker.postMessage({ op: 'prepare', id, source, call, body, encoding, receivedAt });
    });
  }

  /** Tells every thread to reload a workspace's tracking plans. */
  plansChanged(workspaceId: string): void {
    for (const worker of this.workers) worker.postMessage({ op: 'plansChanged', workspaceId });
  }

  private release(worker: Worker): void {
    for (const w of this.waiting.values()) if (w.worker === worker) return;
    worker.unref();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
