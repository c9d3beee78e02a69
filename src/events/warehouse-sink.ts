import type { Store } from '../core/ports/store.js';
import type { Warehouse } from '../core/ports/warehouse.js';
import { StageLoop, type LoadShare } from '../core/stage-loop.js';

const CHUNK = 5000;

/**
 * Copies stored events into the Warehouse in order. The warehouse's own highest event id is the checkpoint,
 * written in the same append, so a restart resumes exactly where it stopped. It wakes on a timer rather than per
 * event, because DuckDB appends best in large chunks.
 */
export class WarehouseSink {
  private readonly loop: StageLoop;
  private last = -1;

  constructor(
    private readonly store: Store,
    private readonly warehouse: Warehouse,
    load: LoadShare,
    intervalMs = 1000,
  ) {
    this.loop = new StageLoop('warehouse sink', (deadline) => this.step(deadline), load, intervalMs);
  }

  start(): void {
    this.loop.start();
  }

  /** Copies everything stored so far. */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async step(deadline: number): Promise<boolean> {
    if (this.last < 0) this.last = await this.warehouse.lastEventId();
    for (;;) {
      const events = await this.store.events.after(this.last, CHUNK);
      if (events.length === 0) return false;
      this.last = await this.warehouse.appendEvents(
        events.map((e) => ({
          id: e.id,
          workspaceId: e.workspaceId,
          sourceId: e.sourceId,
          messageId: e.message.messageId,
          type: e.message.type,
          event: e.message.event ?? null,
          userId: e.message.userId ?? null,
          anonymousId: e.message.anonymousId ?? null,
          timestamp: Date.parse(e.message.timestamp),
          receivedAt: Date.parse(e.message.receivedAt),
          message: JSON.stringify(e.message),
        })),
      );
      if (events.length < CHUNK) return false;
      if (performance.now() >= deadline) return true;
    }
  }
}
