import type { Warehouse } from '../core/ports/warehouse.js';
import { StageLoop, type LoadShare } from '../core/stage-loop.js';

const CHUNK = 5000;

/**
 * Keeps the Warehouse caught up with the event store. The copying itself runs where the warehouse adapter puts
 * it (the embedded one on its own thread); this loop only paces it, waking on a timer because DuckDB appends
 * best in large chunks.
 */
export class WarehouseSink {
  private readonly loop: StageLoop;

  constructor(
    private readonly warehouse: Warehouse,
    load: LoadShare,
    intervalMs = 1000,
  ) {
    this.loop = new StageLoop('warehouse sink', () => this.warehouse.catchUp(CHUNK), load, intervalMs);
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
}
