// The webhook sink of the crash matrix and the soak run: a real HTTP server in the script's process that records
// every delivery with its idempotency key. It answers after a short delay, so that a kill can land while
// requests are in flight, and counts what a deduplicating receiver would keep.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery { key: string; profile: string; node: string; journey: string }

export class Sink {
  /** Every request received, repeats included, in arrival order. */
  readonly hits: Delivery[] = [];
  /** Idempotency key -> the delivery (what a deduplicating receiver keeps). */
  readonly byKey = new Map<string, Delivery>();
  inFlight = 0;
  private server!: Server;
  url = '';

  private constructor(private readonly delayMs: number) {}

  static async start(delayMs = 15): Promise<Sink> {
    const sink = new Sink(delayMs);
    sink.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      sink.inFlight++;
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: { profile_id?: string; node?: string; journey?: string } = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString()) as typeof body;
        } catch {
          // recorded with empty fields: a malformed delivery shows up as a wrong profile in the checks
        }
        const d: Delivery = { key: String(req.headers['idempotency-key'] ?? ''), profile: String(body.profile_id ?? ''), node: String(body.node ?? ''), journey: String(body.journey ?? '') };
        sink.hits.push(d);
        if (!sink.byKey.has(d.key)) sink.byKey.set(d.key, d);
        setTimeout(() => {
          sink.inFlight--;
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        }, sink.delayMs);
      });
      req.on('error', () => sink.inFlight--);
    });
    await new Promise<void>((r) => sink.server.listen(0, '127.0.0.1', r));
    sink.url = `http://127.0.0.1:${(sink.server.address() as AddressInfo).port}`;
    return sink;
  }

  /** Logical messages (journey, profile, node) that arrived under more than one idempotency key: must be none. */
  duplicates(): { journey: string; profile: string; node: string; keys: string[] }[] {
    const keys = new Map<string, Set<string>>();
    for (const d of this.byKey.values()) {
      const id = `${d.journey}\u0000${d.profile}\u0000${d.node}`;
      if (!keys.has(id)) keys.set(id, new Set());
      keys.get(id)!.add(d.key);
    }
    return [...keys].filter(([, k]) => k.size > 1).map(([id, k]) => {
      const [journey, profile, node] = id.split('\u0000');
      return { journey, profile, node, keys: [...k] };
    });
  }

  /** Requests repeated with a key already received: in flight at a kill, resent with the same key (deduplicated). */
  repeats(): number {
    return this.hits.length - this.byKey.size;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
