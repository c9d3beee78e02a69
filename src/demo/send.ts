import cliProgress from 'cli-progress';
import { systemClock } from '../core/clock.js';
import { TandemError } from '../core/errors.js';
import type { DemoMessage } from './generate.js';

/**
 * Sends messages to a Tandem through POST /v1/import (historical timestamps are kept), in batches that stay under
 * the collection limits, with a few requests in flight. 429 and 503 are retried with backoff (Retry-After when
 * the server gives one); other refusals are reported and the run goes on, except those that would fail every
 * request alike (bad write key, wrong URL), which stop it.
 */

export interface SendOptions {
  /** Base URL of Tandem, e.g. http://127.0.0.1:8080. */
  url: string;
  writeKey: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Most messages per request (default 500). */
  batchMessages?: number;
  /** Largest request body in bytes (default 450 KB, under the server's 500 KB). */
  batchBytes?: number;
  /** Attempts per request on 429, 503 and network errors before giving up (default 8). */
  maxRetries?: number;
  /** Called after every finished request. */
  onProgress?(progress: SendProgress): void;
  /** Where problems are reported as they happen (default: nowhere; they are also in the result). */
  onProblem?(line: string): void;
  /** For tests: how to wait (default setTimeout). */
  sleep?(ms: number): Promise<void>;
}

export interface SendProgress {
  /** Messages in finished requests, accepted or not. */
  sent: number;
  accepted: number;
  requests: number;
}

export interface SendProblem {
  /** HTTP status, or 0 when the request never got an answer. */
  status: number;
  code: string;
  message: string;
  /** For a refused message: its messageId. */
  messageId?: string;
}

export interface SendResult extends SendProgress {
  quarantined: number;
  /** Messages the server refused (one by one in a 200 answer, or whole batches). */
  refused: number;
  /** Requests that failed as a whole. */
  failedRequests: number;
  retries: number;
  /** The first problems (at most 20). */
  problems: SendProblem[];
  seconds: number;
}

interface ImportAnswer {
  accepted?: number;
  quarantined?: number;
  errors?: { index: number; messageId?: string; code: string; path: string; message: string }[];
}

const MAX_PROBLEMS = 20;
/** `{"batch":[` ... `],"sentAt":"2026-01-01T00:00:00.000Z"}` */
const ENVELOPE_BYTES = 64;

export async function sendMessages(messages: Iterable<DemoMessage> | AsyncIterable<DemoMessage>, options: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const batchMessages = options.batchMessages ?? 500;
  const batchBytes = options.batchBytes ?? 450 * 1024;
  const maxRetries = options.maxRetries ?? 8;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const endpoint = `${options.url.replace(/\/+$/, '')}/v1/import`;
  const authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;

  const result: SendResult = { sent: 0, accepted: 0, requests: 0, quarantined: 0, refused: 0, failedRequests: 0, retries: 0, problems: [], seconds: 0 };
  let fatal: TandemError | undefined;

  const problem = (p: SendProblem) => {
    if (result.problems.length < MAX_PROBLEMS) result.problems.push(p);
    options.onProblem?.(`${p.status ? `HTTP ${p.status} ` : ''}${p.code}: ${p.message}${p.messageId ? ` (messageId ${p.messageId})` : ''}`);
  };

  const post = async (items: string[]): Promise<void> => {
    // sentAt is informational here: /v1/import keeps the messages' own timestamps.
    const body = `{"batch":[${items.join(',')}],"sentAt":"${new Date(systemClock.now()).toISOString()}"}`;
    for (let attempt = 0; ; attempt++) {
      if (fatal) return;
      let res: Response;
      try {
        res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body });
      } catch (error) {
        if (attempt < maxRetries) {
          result.retries++;
          await sleep(backoff(attempt));
          continue;
        }
        fatal = new TandemError('unreachable', `lost the connection to Tandem at ${options.url}: ${describeFetchError(error)}`);
        return;
      }
      result.requests++;
      if (res.ok) {
        const answer = (await res.json().catch(() => ({}))) as ImportAnswer;
        const errors = answer.errors ?? [];
        result.accepted += answer.accepted ?? items.length - errors.length;
        result.quarantined += answer.quarantined ?? 0;
        result.refused += errors.length;
        for (const e of errors) problem({ status: res.status, code: e.code, message: `${e.path}: ${e.message}`, ...(e.messageId ? { messageId: e.messageId } : {}) });
        return;
      }
      if ((res.status === 429 || res.status === 503) && attempt < maxRetries) {
        await res.body?.cancel();
        result.retries++;
        await sleep(retryAfter(res.headers.get('retry-after')) ?? backoff(attempt));
        continue;
      }
      const { code, message } = await errorOf(res);
      if (res.status === 401 || res.status === 403) {
        fatal = new TandemError('unauthorized', `Tandem refused the write key (HTTP ${res.status}): ${message}. Pass the write key of a source with --write-key (or TANDEM_WRITE_KEY).`);
      } else if (res.status === 404) {
        fatal = new TandemError('not_found', `${endpoint} does not exist (HTTP 404): is ${options.url} a Tandem server?`);
      } else {
        result.failedRequests++;
        result.refused += items.length;
        problem({ status: res.status, code, message: `a batch of ${items.length} messages was refused: ${message}` });
      }
      return;
    }
  };

  const inFlight = new Set<Promise<void>>();
  const dispatch = async (items: string[]) => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (fatal) return;
    const request = post(items).then(() => {
      inFlight.delete(request);
      result.sent += items.length;
      options.onProgress?.({ sent: result.sent, accepted: result.accepted, requests: result.requests });
    });
    inFlight.add(request);
  };

  let items: string[] = [];
  let bytes = ENVELOPE_BYTES;
  for await (const message of messages) {
    if (fatal) break;
    const json = JSON.stringify(message);
    const size = Buffer.byteLength(json) + 1;
    if (items.length > 0 && (items.length >= batchMessages || bytes + size > batchBytes)) {
      await dispatch(items);
      items = [];
      bytes = ENVELOPE_BYTES;
    }
    items.push(json);
    bytes += size;
  }
  if (items.length > 0 && !fatal) await dispatch(items);
  await Promise.all(inFlight);
  result.seconds = (performance.now() - started) / 1000;
  if (fatal) throw fatal;
  return result;
}

/** Exponential backoff with jitter, capped at 30 s. */
function backoff(attempt: number): number {
  return Math.min(30_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

/** Retry-After in seconds or as an HTTP date, in milliseconds. */
export function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - systemClock.now()) : undefined;
}

/** The message of an error answer: Tandem's `{ error: { code, message } }`, else the body's start. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; path?: string } };
    if (body.error?.message) return { code: body.error.code ?? `http_${res.status}`, message: body.error.path ? `${body.error.message} (at ${body.error.path})` : body.error.message };
  } catch {
    // not JSON: fall through to the raw text
  }
  return { code: `http_${res.status}`, message: text.trim().slice(0, 300) || res.statusText || 'no details' };
}

/** fetch hides the cause of a network failure (ECONNREFUSED, ENOTFOUND, ...) one level down. */
export function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message && !cause.message.includes(cause.code) ? ` (${cause.message})` : ''}`;
  return cause?.message ?? (error as Error).message ?? String(error);
}

/** A progress bar on stderr: messages sent of the total, and the rate. Draws only on a terminal. */
export function progressBar(total: number, approximate: boolean, stream: NodeJS.WriteStream = process.stderr): { update(p: SendProgress): void; stop(sent: number): void } {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `demo [{bar}] {percentage}% | {value}/${approximate ? '~' : ''}{total} messages | {rate} msg/s | {duration_formatted} elapsed, ETA {eta_formatted}`,
      barsize: 30,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(total, 0, { rate: '0' });
  return {
    update(p) {
      const seconds = (performance.now() - started) / 1000;
      // The total is an estimate for large runs; never let the count run past it.
      if (p.sent > bar.getTotal()) bar.setTotal(p.sent);
      bar.update(p.sent, { rate: seconds > 0 ? Math.round(p.sent / seconds).toLocaleString('en-US') : '0' });
    },
    stop(sent) {
      bar.setTotal(sent);
      bar.update(sent);
      bar.stop();
    },
  };
}
