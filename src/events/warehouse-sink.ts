import type { Store } from '../core/ports/store.js';
import type { Warehouse } from '../core/ports/warehouse.js';

const CHUNK = 5000;

/**
 * Copies stored events into the Warehouse in order. The warehouse's own highest event id is the checkpoint,
 * written in the same append, so a restart resumes exactly where it stopped.
 */
export class WarehouseSink {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private last = -1;

  constructor(
    private readonly store: Store,
    private readonly warehouse: Warehouse,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Copies everything stored so far. */
  async drain(): Promise<void> {
    while (await this.tick()) { /* until caught up */ }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.busy;
  }

  private async tick(): Promise<boolean> {
    if (this.busy) {
      await this.busy;
      return true;
    }
    let more = false;
    this.busy = (async () => {
      if (this.last < 0) this.last = await this.warehouse.lastEventId();
      const events = await this.store.events.after(this.last, CHUNK);
      if (events.length === 0) return;
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
      more = events.length === CHUNK;
    })();
    try {
      await this.busy;
    } finally {
      this.busy = undefined;
    }
    return more;
  }
}
