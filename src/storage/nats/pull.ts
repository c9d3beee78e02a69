import { AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { createInbox, nanos, type Msg, type NatsConnection } from '@nats-io/transport-node';

/** A message delivered by a pull, with its stream sequence (its position in the stream). */
export interface Pulled {
  seq: number;
  msg: Msg;
}

/** How long the server keeps a reading consumer nobody pulls from (it is recreated on the next read). */
const INACTIVE_MS = 60_000;
/** A no-wait pull is answered at once; this only bounds a lost answer (a connection that dropped mid-pull). */
const PULL_TIMEOUT_MS = 10_000;

/**
 * The stream sequence of a message delivered by a consumer, from its reply subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`, or with a domain and an
 * account hash after `ACK` (12 tokens) on newer servers.
 */
export function streamSequence(reply: string | undefined): number {
  const tokens = (reply ?? '').split('.');
  const seq = Number(tokens.length === 9 ? tokens[5] : tokens[7]);
  if (tokens[0] !== '$JS' || tokens[1] !== 'ACK' || !Number.isSafeInteger(seq)) throw new Error(`not a JetStream delivery: reply subject '${reply}'`);
  return seq;
}

/**
 * An ephemeral pull consumer over one subject filter, without acknowledgements, read with no-wait pulls: a pull
 * returns what is stored now (up to `max`) and never waits for more, which is what a Log read needs. The 2.9 server
 * has no batched direct get, and the client library's fetch waits at least a second for a short batch, so the pull
 * request is made here: one round trip per read.
 */
export class EphemeralConsumer {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    readonly name: string,
  ) {}

  /** From `startSeq` (the first message of the filter when absent); `headersOnly` leaves the payloads on the server. */
  static async create(nc: NatsConnection, jsm: JetStreamManager, stream: string, filter: string, options: { startSeq?: number; headersOnly?: boolean } = {}): Promise<EphemeralConsumer> {
    const info = await jsm.consumers.add(stream, {
      filter_subject: filter,
      ack_policy: AckPolicy.None,
      ...(options.startSeq !== undefined && options.startSeq > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.startSeq } : { deliver_policy: DeliverPolicy.All }),
      headers_only: options.headersOnly ?? false,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(INACTIVE_MS),
    });
    return new EphemeralConsumer(nc, jsm, stream, info.name);
  }

  /** Up to `max` next messages, in stream order; fewer (or none) when no more are stored. */
  pull(max: number): Promise<Pulled[]> {
    return new Promise((resolve, reject) => {
      const out: Pulled[] = [];
      const inbox = createInbox();
      let settled = false;
      const done = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sub.unsubscribe();
        if (error) reject(error);
        else resolve(out);
      };
      const sub = this.nc.subscribe(inbox, {
        callback: (error, msg) => {
          if (error) return done(error);
          const code = msg.headers?.code ?? 0;
          // 404: nothing stored; 408: the no-wait request ended with fewer than `max`. Others are failures.
          if (code === 404 || code === 408) return done();
          if (code !== 0) return done(new Error(`pull from consumer ${this.name} failed: ${code} ${msg.headers?.description ?? ''}`.trim()));
          try {
            out.push({ seq: streamSequence(msg.reply), msg });
          } catch (e) {
            return done(e as Error);
          }
          if (out.length >= max) done();
        },
      });
      const timer = setTimeout(() => done(new Error(`pull from consumer ${this.name} got no answer within ${PULL_TIMEOUT_MS} ms`)), PULL_TIMEOUT_MS);
      this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.name}`, JSON.stringify({ batch: max, no_wait: true }), { reply: inbox });
    });
  }

  /** Best effort: an abandoned consumer also goes away by itself after a minute without pulls. */
  async delete(): Promise<void> {
    await this.jsm.consumers.delete(this.stream, this.name).catch(() => false);
  }
}

/**
 * Sequential reads of one subject, as a Log consumer makes them: read after N, then after the last offset returned,
 * and so on. One consumer serves the whole sequence; a read from anywhere else starts a new one there. Messages
 * pulled but not handed out (the caller took fewer) are kept for the next read.
 */
export class SubjectReader {
  private consumer: EphemeralConsumer | undefined;
  private position = -1;
  private buffer: Pulled[] = [];

  constructor(private readonly open: (startSeq: number) => Promise<EphemeralConsumer>) {}

  /** Up to `limit` messages after `after`, in order; call `advance` with the last offset actually handed out. */
  async fetch(after: number, limit: number): Promise<Pulled[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!this.consumer || this.position !== after) {
          this.reset();
          this.consumer = await this.open(after + 1);
          this.position = after;
        }
        if (this.buffer.length < limit) this.buffer.push(...(await this.consumer.pull(limit - this.buffer.length)));
        return this.buffer.slice(0, limit);
      } catch (error) {
        // The server may have dropped the consumer (idle for a minute, restarted): one more try with a new one.
        this.reset();
        if (attempt > 0) throw error;
      }
    }
  }

  advance(to: number): void {
    this.position = to;
    this.buffer = this.buffer.filter((m) => m.seq > to);
  }

  reset(): void {
    void this.consumer?.delete();
    this.consumer = undefined;
    this.buffer = [];
  }

  async close(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.buffer = [];
    await consumer?.delete();
  }
}

/** Every message of a filter up to stream sequence `last`, `chunk` at a time, on a consumer deleted afterwards. */
export async function* scan(nc: NatsConnection, jsm: JetStreamManager, stream: string, filter: string, last: number, options: { headersOnly?: boolean; chunk?: number } = {}): AsyncGenerator<Pulled> {
  if (last <= 0) return;
  const consumer = await EphemeralConsumer.create(nc, jsm, stream, filter, { headersOnly: options.headersOnly });
  try {
    for (;;) {
      const batch = await consumer.pull(options.chunk ?? 500);
      for (const m of batch) {
        if (m.seq > last) return;
        yield m;
      }
      if (batch.length === 0) return;
    }
  } finally {
    await consumer.delete();
  }
}
