import { TandemError } from '../core/errors.js';
import { describeFetchError, errorOf, retryAfter } from '../demo/send.js';

/**
 * Posts batches of messages to a Tandem's collection API and returns what it said about each message. Busy and
 * failing answers (429, 500, 502, 503, 504, a lost connection) are retried, after Retry-After when the server
 * gives one: safe, because every imported message has a stable messageId and the server deduplicates. A batch the
 * server finds too large is split in two. Only what can never succeed (bad write key, wrong URL) or what keeps
 * failing after the retries throws.
 */

export interface MessageRefusal {
  /** Position of the message in the posted batch. */
  index: number;
  code: string;
  /** Field of the message, e.g. `properties.revenue` (empty for the whole message). */
  path: string;
  message: string;
}

export interface Ack {
  accepted: number;
  quarantined: number;
  refusals: MessageRefusal[];
}

export interface SenderOptions {
  /** Base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  writeKey: string;
  /** /v1/import keeps historical timestamps (events); /v1/batch for identify calls. */
  endpoint: '/v1/import' | '/v1/batch';
  /** Attempts after the first, per request (default 8). */
  maxRetries?: number;
  /** For tests: how to wait (default setTimeout). */
  sleep?(ms: number): Promise<void>;
}

const RETRIED = new Set([429, 500, 502, 503, 504]);

export class Sender {
  requests = 0;
  retries = 0;
  private readonly target: string;
  private readonly authorization: string;

  constructor(private readonly options: SenderOptions) {
    this.target = `${options.url.replace(/\/+$/, '')}${options.endpoint}`;
    this.authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  }

  /** Posts the messages (JSON texts) as one batch. */
  async post(items: string[]): Promise<Ack> {
    const maxRetries = this.options.maxRetries ?? 8;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const body = `{"batch":[${items.join(',')}]}`;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.target, { method: 'POST', headers: { 'content-type': 'application/json', authorization: this.authorization }, body });
      } catch (error) {
        if (attempt < maxRetries) {
          this.retries++;
          await sleep(backoff(attempt));
          continue;
        }
        throw new TandemError('unreachable', `could not reach Tandem at ${this.options.url} after ${attempt + 1} attempts: ${describeFetchError(error)}`, 503);
      }
      this.requests++;
      if (res.ok) {
        const answer = (await res.json().catch(() => ({}))) as { accepted?: number; quarantined?: number; errors?: MessageRefusal[] };
        const refusals = (answer.errors ?? []).map(refusal);
        return { accepted: answer.accepted ?? items.length - refusals.length, quarantined: answer.quarantined ?? 0, refusals };
      }
      if (RETRIED.has(res.status) && attempt < maxRetries) {
        const wait = retryAfter(res.headers.get('retry-after'));
        await res.body?.cancel();
        this.retries++;
        await sleep(wait ?? backoff(attempt));
        continue;
      }
      const text = await res.text().catch(() => '');
      const parsed = parseJson(text) as { error?: { code?: string; message?: string }; errors?: MessageRefusal[] } | undefined;
      if (res.status === 400 && Array.isArray(parsed?.errors)) {
        // No message of the batch was accepted; each one's problem is listed.
        return { accepted: 0, quarantined: 0, refusals: parsed.errors.map(refusal) };
      }
      if (res.status === 400 && parsed?.error?.code === 'request_too_large' && items.length > 1) {
        const half = Math.ceil(items.length / 2);
        const [a, b] = [await this.post(items.slice(0, half)), await this.post(items.slice(half))];
        return { accepted: a.accepted + b.accepted, quarantined: a.quarantined + b.quarantined, refusals: [...a.refusals, ...b.refusals.map((r) => ({ ...r, index: r.index + half }))] };
      }
      const { code, message } = await errorOf(new Response(text, { status: res.status }));
      if (res.status === 401 || res.status === 403) {
        throw new TandemError('unauthorized', `Tandem refused the write key (HTTP ${res.status}): ${message}. Pass the write key of a source with --write-key (or TANDEM_WRITE_KEY).`, 401);
      }
      if (res.status === 404) throw new TandemError('not_found', `${this.target} does not exist (HTTP 404): is ${this.options.url} a Tandem server?`, 404);
      if (res.status >= 500 || res.status === 429) throw new TandemError('unavailable', `Tandem kept answering HTTP ${res.status} after ${attempt + 1} attempts: ${message}`, 503);
      // Any other refusal concerns the request as a whole: every message of it is refused for that reason.
      return { accepted: 0, quarantined: 0, refusals: items.map((_, index) => ({ index, code, path: '', message: `HTTP ${res.status}: ${message}` })) };
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The server names fields as `batch[3].properties.revenue`; the report names them within the message. */
function refusal(e: MessageRefusal): MessageRefusal {
  return { index: e.index, code: e.code, path: String(e.path ?? '').replace(/^batch\[\d+\]\.?/, ''), message: String(e.message).replace(/batch\[\d+\]\./g, '').replace(/batch\[\d+\]/g, 'the message') };
}

/** Exponential backoff with jitter, capped at 30 s. */
function backoff(attempt: number): number {
  return Math.min(30_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
}
