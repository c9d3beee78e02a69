// Load for the trust scripts: batches of Segment-style messages with unique messageIds, sent with a few requests
// in flight and paced to a rate; every messageId acknowledged with a 2xx (and counted as accepted) is remembered.
export interface Target { url: string; auth: string }

export class Sender {
  /** messageIds the server acknowledged (2xx, the whole batch accepted). */
  readonly acked = new Set<string>();
  /** userIds whose Signed Up was acknowledged (each enters the welcome journey). */
  readonly signups = new Set<string>();
  readonly statuses = new Map<number | 'error', number>();
  sent = 0;
  inFlight = 0;
  private next = 0;
  private users = 0;
  private stopping = false;
  private workers: Promise<void>[] = [];

  constructor(
    private readonly target: () => Target,
    private readonly options: { prefix: string; batch?: number; concurrency?: number; batchesPerSecond?: number; newUsersPerBatch?: number } ,
  ) {}

  /** One batch: a few new users signing up, the rest views and orders of earlier users. */
  makeBatch(): { ids: string[]; signups: string[]; body: string } {
    const size = this.options.batch ?? 50;
    const fresh = this.options.newUsersPerBatch ?? 1;
    const batch: Record<string, unknown>[] = [];
    const signups: string[] = [];
    for (let i = 0; i < fresh; i++) {
      const userId = `${this.options.prefix}-u${this.users++}`;
      signups.push(userId);
      batch.push({ type: 'identify', userId, traits: { email: `${userId}@example.com` }, messageId: `${this.options.prefix}-m${this.next++}` });
      batch.push({ type: 'track', userId, event: 'Signed Up', properties: { plan: 'free' }, messageId: `${this.options.prefix}-m${this.next++}` });
    }
    while (batch.length < size) {
      const userId = `${this.options.prefix}-u${Math.floor(Math.random() * Math.max(1, this.users))}`;
      const order = Math.random() < 0.3;
      batch.push(order
        ? { type: 'track', userId, event: 'Order Completed', properties: { total: Math.round(Math.random() * 6000) / 100 }, messageId: `${this.options.prefix}-m${this.next++}` }
        : { type: 'track', userId, event: 'Product Viewed', properties: { sku: `sku-${Math.floor(Math.random() * 50)}` }, messageId: `${this.options.prefix}-m${this.next++}` });
    }
    return { ids: batch.map((m) => m.messageId as string), signups, body: JSON.stringify({ batch }) };
  }

  /** Sends one batch; answers the status (0 for a failed connection). */
  async sendOne(): Promise<number> {
    const { ids, signups, body } = this.makeBatch();
    const { url, auth } = this.target();
    this.sent += ids.length;
    this.inFlight++;
    try {
      const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body, signal: AbortSignal.timeout(30_000) });
      const answer = (await res.json().catch(() => ({}))) as { accepted?: number };
      this.statuses.set(res.status, (this.statuses.get(res.status) ?? 0) + 1);
      if (res.ok) {
        if (answer.accepted !== ids.length) throw new Error(`a 2xx accepted ${answer.accepted} of ${ids.length} messages`);
        for (const id of ids) this.acked.add(id);
        for (const u of signups) this.signups.add(u);
      }
      return res.status;
    } catch (error) {
      if ((error as Error).message.startsWith('a 2xx')) throw error;
      this.statuses.set('error', (this.statuses.get('error') ?? 0) + 1);
      return 0;
    } finally {
      this.inFlight--;
    }
  }

  start(): void {
    this.stopping = false;
    const concurrency = this.options.concurrency ?? 4;
    const gapMs = this.options.batchesPerSecond ? (1000 * concurrency) / this.options.batchesPerSecond : 0;
    this.workers = Array.from({ length: concurrency }, async () => {
      while (!this.stopping) {
        const started = performance.now();
        const status = await this.sendOne();
        // A refused connection (the server is down) is retried after a pause, not in a tight loop.
        const wait = status === 0 ? 100 : gapMs - (performance.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
    this.workers = [];
  }
}
