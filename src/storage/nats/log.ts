import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, headers, nanos, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import type { Log, LogBatch, LogRecord } from '../../core/ports/log.js';
import { TandemError } from '../../core/errors.js';
import { EphemeralConsumer, scan, SubjectReader, type Pulled } from './pull.js';
import { Rewrites, type Rewrite } from './rewrites.js';

export interface NatsLogOptions {
  /** One or more server URLs (nats://host:port), comma-separated or as a list. */
  servers: string | string[];
  partitions: number;
  /** JetStream stream holding the log (created when missing). */
  stream?: string;
  /** Batches of partition p go to subject `<prefix>.<p>`; rewritten batches (erasure) to `<prefix>.rewritten.<p>`. */
  subjectPrefix?: string;
  /** Copies of the stream in a cluster (3 for a production cluster; 1 on a single server). */
  replicas?: number;
  /** How long an append waits for the server's acknowledgement before it fails with 503 (ms). */
  publishTimeoutMs?: number;
  /** How long opening waits for a first connection (ms). */
  connectTimeoutMs?: number;
}

/** The header fields of a stored batch (the payload is the batch's JSON entries, as in the embedded log). */
const H = {
  workspace: 'Tandem-Workspace',
  source: 'Tandem-Source',
  receivedAt: 'Tandem-Received-At',
  count: 'Tandem-Count',
  /** On a rewritten batch: the offset of the batch it replaces, and which log wrote it. */
  offset: 'Tandem-Offset',
  writer: 'Tandem-Writer',
} as const;

const decoder = new TextDecoder();

/**
 * The Log on NATS JetStream (docs/scale-out.md): one stream, one subject per partition, one message per batch.
 * An offset is the message's stream sequence: strictly increasing within a partition, not contiguous (the
 * partitions share the sequence). Any number of processes may append; each one's onAppend listeners also hear
 * about the others' appends through a core NATS subject.
 */
export class NatsLog implements Log {
  readonly partitions: number;
  private readonly stream: string;
  private readonly prefix: string;
  private readonly notifySubject: string;
  private readonly instance = randomUUID();
  private readonly servers: string[];
  private readonly readers = new Map<number, SubjectReader>();
  private readonly reading = new Map<number, Promise<unknown>>();
  private readonly rewrites = new Rewrites();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly listeners: (() => void)[] = [];
  private subscriptions: Subscription[] = [];
  private connected = true;
  private closed = false;
  private announcing = false;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: NatsLogOptions,
  ) {
    this.partitions = options.partitions;
    this.stream = options.stream ?? 'TANDEM_LOG';
    this.prefix = options.subjectPrefix ?? 'tandem.log';
    this.notifySubject = `_TANDEM.${this.stream}.appended`;
    this.servers = serverList(options.servers);
  }

  /** Connects, creates the stream if it is missing, and loads the index of rewritten batches. */
  static async open(options: NatsLogOptions): Promise<NatsLog> {
    const servers = serverList(options.servers);
    let nc: NatsConnection;
    try {
      // Reconnects forever: while the server is away appends fail with 503 and collection clients retry.
      nc = await connect({ servers, name: 'tandem-log', maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: options.connectTimeoutMs ?? 5000 });
    } catch (error) {
      throw new TandemError('log_unavailable', `cannot connect to the NATS log at ${servers.join(', ')}: ${(error as Error).message}`, 503);
    }
    try {
      const timeout = options.publishTimeoutMs ?? 5000;
      const log = new NatsLog(nc, jetstream(nc, { timeout }), await jetstreamManager(nc, { timeout }), options);
      await log.start();
      return log;
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  private subject(partition: number): string {
    return `${this.prefix}.${partition}`;
  }

  private rewriteSubject(partition: number): string {
    return `${this.prefix}.rewritten.${partition}`;
  }

  private async start(): Promise<void> {
    await this.ensureStream();
    // Subscribed before the index is loaded, so no rewrite made meanwhile is missed.
    this.subscriptions.push(
      this.nc.subscribe(`${this.prefix}.rewritten.*`, { callback: (_e, msg) => (msg.headers?.get(H.writer) !== this.instance ? this.refreshRewrites() : undefined) }),
      this.nc.subscribe(this.notifySubject, { callback: (_e, msg) => (msg.string() !== this.instance ? this.notifyAppended() : undefined) }),
    );
    await this.loadRewrites();
    void this.watchConnection();
  }

  private async ensureStream(): Promise<void> {
    const subjects = [`${this.prefix}.*`, `${this.prefix}.rewritten.*`];
    const config: Partial<StreamConfig> & { name: string } = {
      name: this.stream,
      subjects,
      storage: StorageType.File,
      // The events stage trims what it has processed (storage.logRetention); the server never drops a batch itself.
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_msgs: -1,
      max_bytes: -1,
      max_age: 0,
      num_replicas: this.options.replicas ?? 1,
      duplicate_window: nanos(120_000),
    };
    try {
      await this.jsm.streams.add(config);
    } catch (error) {
      // It exists with other settings (replicas, limits): fine if it holds our subjects, an operator's choice.
      const info = await this.jsm.streams.info(this.stream).catch(() => undefined);
      if (!info) throw new TandemError('log_unavailable', `cannot create the JetStream stream ${this.stream}: ${(error as Error).message}`, 503);
      const missing = subjects.filter((s) => !info.config.subjects?.includes(s));
      if (missing.length) throw new TandemError('invalid_config', `the JetStream stream ${this.stream} exists without the subjects ${missing.join(', ')}: set storage.nats.subjectPrefix to its prefix, or another storage.nats.stream`, 400);
    }
  }

  private async watchConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') this.connected = false;
      else if (status.type === 'reconnect') {
        this.connected = true;
        // The server may have restarted: its reading consumers (kept in memory) are gone, rewrites may have been
        // made by others meanwhile, and appends made meanwhile were not announced here.
        for (const reader of this.readers.values()) reader.reset();
        this.refreshRewrites();
        this.notifyAppended();
      }
    }
  }

  private unavailable(reason: string, appending = true): TandemError {
    const consequence = appending ? 'nothing was stored, retry later' : 'retried on the next read';
    return new TandemError('log_unavailable', `the event log (NATS JetStream at ${this.servers.join(', ')}, stream ${this.stream}) is unavailable: ${reason}; ${consequence}`, 503);
  }

  async append(batches: LogBatch[]): Promise<void> {
    if (this.closed) throw new Error('log is closed');
    if (batches.length === 0) return;
    // A wrong partition is our bug, not an outage: refused before anything is sent, and not as a 503.
    for (const b of batches) {
      if (!Number.isInteger(b.partition) || b.partition < 0 || b.partition >= this.partitions) throw new Error(`log partition ${b.partition} does not exist (0 to ${this.partitions - 1})`);
    }
    if (!this.connected) throw this.unavailable('the connection to NATS is down and being re-established');
    const work = Promise.all(batches.map((b) => this.publish(b)));
    this.inflight.add(work);
    try {
      await work;
    } catch (error) {
      throw error instanceof TandemError ? error : this.unavailable((error as Error).message);
    } finally {
      this.inflight.delete(work);
    }
    for (const listener of this.listeners) listener();
    this.announce();
  }

  private async publish(batch: LogBatch): Promise<void> {
    const data = Buffer.from(batch.payload, 'utf8');
    const max = this.nc.info?.max_payload ?? Infinity;
    if (data.length + 512 > max) {
      throw new TandemError('log_batch_too_large', `a log batch of ${data.length} bytes exceeds the NATS server's max_payload of ${max} bytes: raise max_payload in the server's configuration, or lower collect.maxRequestBytes`, 500);
    }
    const h = headers();
    h.set(H.workspace, batch.workspaceId);
    h.set(H.source, batch.sourceId);
    h.set(H.receivedAt, String(batch.receivedAt));
    h.set(H.count, String(batch.count));
    await this.js.publish(this.subject(batch.partition), data, { headers: h, expect: { streamName: this.stream } });
  }

  /** Tells the other processes' logs, once per turn of the event loop however many appends it made. */
  private announce(): void {
    if (this.announcing) return;
    this.announcing = true;
    setImmediate(() => this.announceNow());
  }

  private announceNow(): void {
    if (!this.announcing) return;
    this.announcing = false;
    if (!this.nc.isClosed() && this.connected) this.nc.publish(this.notifySubject, this.instance);
  }

  read(partition: number, afterOffset: number, limit: number): Promise<LogRecord[]> {
    // One reader per partition moves sequentially; concurrent reads of a partition take turns.
    const run = (this.reading.get(partition) ?? Promise.resolve()).then(() => this.readNow(partition, afterOffset, limit));
    this.reading.set(partition, run.catch(() => undefined));
    return run;
  }

  private async readNow(partition: number, after: number, limit: number): Promise<LogRecord[]> {
    if (this.closed) throw new Error('log is closed');
    if (!this.connected) throw this.unavailable('the connection to NATS is down and being re-established', false);
    if (limit <= 0) return [];
    let reader = this.readers.get(partition);
    if (!reader) {
      reader = new SubjectReader((startSeq) => EphemeralConsumer.create(this.nc, this.jsm, this.stream, this.subject(partition), { startSeq }));
      this.readers.set(partition, reader);
    }
    let pulled: Pulled[];
    try {
      pulled = await reader.fetch(after, limit);
    } catch (error) {
      throw this.unavailable((error as Error).message, false);
    }
    const bound = pulled.length === limit ? pulled[pulled.length - 1].seq : Infinity;
    const rewritten = this.rewrites.between(partition, after, bound);
    let records = pulled.filter((m) => !this.rewrites.get(partition, m.seq)).map((m) => toRecord(partition, m.seq, m.msg.headers, m.msg.data));
    if (rewritten.length) {
      const replaced = (await Promise.all(rewritten.map((r) => this.fetchRewrite(partition, r)))).filter((r) => r !== undefined);
      records = [...records, ...replaced].sort((a, b) => a.offset - b.offset).slice(0, limit);
    }
    reader.advance(records.length ? records[records.length - 1].offset : after);
    return records;
  }

  private async fetchRewrite(partition: number, rewrite: Rewrite): Promise<LogRecord | undefined> {
    const stored = await this.jsm.streams.getMessage(this.stream, { seq: rewrite.seq });
    if (!stored) {
      // Trimmed or replaced by another process since this index learnt of it.
      if (this.rewrites.get(partition, rewrite.offset)?.seq === rewrite.seq) this.rewrites.remove(partition, rewrite.offset);
      return undefined;
    }
    return toRecord(partition, rewrite.offset, stored.header, stored.data);
  }

  async head(partition: number): Promise<number> {
    if (!this.connected) throw this.unavailable('the connection to NATS is down and being re-established', false);
    let last;
    try {
      last = await this.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject(partition) });
    } catch (error) {
      throw this.unavailable((error as Error).message, false);
    }
    return Math.max(last?.seq ?? 0, this.rewrites.maxOffset(partition));
  }

  /**
   * Deletes the partition's batches at or below `upToOffset` received before `receivedBefore`: reads their headers
   * only, purges the leading run in one request and deletes any later one singly (received times need not follow
   * offsets exactly when several collect nodes append).
   */
  async trim(partition: number, upToOffset: number, receivedBefore: number): Promise<number> {
    const subject = this.subject(partition);
    let leading = 0;
    let inLeadingRun = true;
    const scattered: number[] = [];
    for await (const m of scan(this.nc, this.jsm, this.stream, subject, upToOffset, { headersOnly: true, chunk: 1000 })) {
      const old = Number(m.msg.headers?.get(H.receivedAt)) < receivedBefore;
      if (old && inLeadingRun) leading = m.seq;
      else {
        inLeadingRun = false;
        if (old) scattered.push(m.seq);
      }
    }
    let removed = 0;
    if (leading > 0) removed += (await this.jsm.streams.purge(this.stream, { filter: subject, seq: leading + 1 })).purged;
    for (const seq of scattered) if (await this.deleteMessage(seq, false)) removed++;
    for (const r of this.rewrites.all(partition)) {
      if (r.offset > upToOffset || r.receivedAt >= receivedBefore) continue;
      this.rewrites.remove(partition, r.offset);
      if (await this.deleteMessage(r.seq, false)) removed++;
    }
    return removed;
  }

  /**
   * Privacy erasure. A stored JetStream message cannot be changed: each batch holding one of these messages is
   * published again without them (on the rewritten subject, naming its original offset, where reads put it back),
   * then the original is deleted with erasure, which overwrites its bytes on the server's disk.
   */
  async forget(workspaceId: string, messageIds: string[]): Promise<number> {
    if (messageIds.length === 0) return 0;
    const ids = new Set(messageIds);
    const needles = messageIds.map((id) => `"messageId":${JSON.stringify(id)}`);
    // Up to the end as of now: the rewrites published below come after it and hold none of these messages.
    const last = (await this.jsm.streams.info(this.stream)).state.last_seq;
    let removed = 0;
    for await (const m of scan(this.nc, this.jsm, this.stream, `${this.prefix}.>`, last, { chunk: 200 })) {
      if (m.msg.headers?.get(H.workspace) !== workspaceId) continue;
      const payload = m.msg.string();
      if (!needles.some((n) => payload.includes(n))) continue;
      removed += await this.rewrite(m, payload, ids);
    }
    return removed;
  }

  private async rewrite(m: Pulled, payload: string, ids: Set<string>): Promise<number> {
    const partition = partitionOf(m.msg.subject);
    const isRewrite = m.msg.subject === this.rewriteSubject(partition);
    const offset = isRewrite ? Number(m.msg.headers?.get(H.offset)) : m.seq;
    const entries = JSON.parse(payload) as { message?: { messageId?: string } }[];
    const kept = entries.filter((e) => !(e && e.message && ids.has(e.message.messageId as string)));
    const h = headers();
    for (const name of [H.workspace, H.source, H.receivedAt]) h.set(name, m.msg.headers?.get(name) ?? '');
    h.set(H.count, String(kept.length));
    h.set(H.offset, String(offset));
    h.set(H.writer, this.instance);
    const previous = this.rewrites.get(partition, offset);
    const ack = await this.js.publish(this.rewriteSubject(partition), JSON.stringify(kept), { headers: h, expect: { streamName: this.stream } });
    await this.deleteMessage(m.seq, true);
    this.rewrites.add(partition, { offset, seq: ack.seq, receivedAt: Number(m.msg.headers?.get(H.receivedAt)) });
    // A rewrite of this offset left by an erasure that stopped half way: it holds no erased message, but is stale.
    if (previous && previous.seq !== m.seq && previous.seq !== ack.seq) await this.deleteMessage(previous.seq, true);
    return entries.length - kept.length;
  }

  /** True if it was there; `erase` overwrites its bytes (privacy) rather than only unlinking it (retention). */
  private async deleteMessage(seq: number, erase: boolean): Promise<boolean> {
    try {
      return await this.jsm.streams.deleteMessage(this.stream, seq, erase);
    } catch (error) {
      if (/no message found|not found/i.test((error as Error).message)) return false;
      throw error;
    }
  }

  /** Reads the rewrites' headers from the stream into the index (at start, after a reconnect, after another process's erasure). */
  private async loadRewrites(): Promise<void> {
    const last = (await this.jsm.streams.info(this.stream)).state.last_seq;
    const found = new Rewrites();
    for await (const m of scan(this.nc, this.jsm, this.stream, `${this.prefix}.rewritten.*`, last, { headersOnly: true, chunk: 1000 })) {
      const rewrite = rewriteOf(m.msg.headers, m.seq);
      if (rewrite) found.add(partitionOf(m.msg.subject), rewrite);
    }
    for (let p = 0; p < this.partitions; p++) this.rewrites.replaceUpTo(p, found.all(p), last);
  }

  /** Another process rewrote a batch: a plain subscriber does not see the stream sequence, so the index is reloaded. */
  private refreshRewrites(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = this.loadRewrites()
      .catch(() => undefined)
      .finally(() => {
        this.refreshing = undefined;
        if (this.refreshAgain && !this.closed) {
          this.refreshAgain = false;
          this.refreshRewrites();
        }
      });
  }

  onAppend(listener: () => void): void {
    this.listeners.push(listener);
  }

  notifyAppended(): void {
    for (const listener of this.listeners) listener();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.inflight]);
    this.closed = true;
    await this.refreshing;
    for (const s of this.subscriptions) s.unsubscribe();
    // A process that appends and stops at once still tells the others.
    this.announceNow();
    if (this.connected) {
      await Promise.allSettled([...this.readers.values()].map((r) => r.close()));
      await this.nc.flush().catch(() => undefined);
    }
    await this.nc.close();
  }
}

function rewriteOf(h: MsgHdrs | undefined, seq: number): Rewrite | undefined {
  const offset = Number(h?.get(H.offset));
  const receivedAt = Number(h?.get(H.receivedAt));
  return Number.isSafeInteger(offset) && offset > 0 ? { offset, seq, receivedAt } : undefined;
}

function toRecord(partition: number, offset: number, h: MsgHdrs | undefined, data: Uint8Array): LogRecord {
  return {
    offset,
    partition,
    workspaceId: h?.get(H.workspace) ?? '',
    sourceId: h?.get(H.source) ?? '',
    receivedAt: Number(h?.get(H.receivedAt)),
    count: Number(h?.get(H.count)),
    payload: decoder.decode(data),
  };
}

function partitionOf(subject: string): number {
  return Number(subject.slice(subject.lastIndexOf('.') + 1));
}

function serverList(servers: string | string[]): string[] {
  return (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter(Boolean);
}
