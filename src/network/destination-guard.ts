import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { TandemError } from '../core/errors.js';
import { formatAddress, inRange, nonPublicKind, parseAddress, parseRange, embeddedIPv4, type Address, type Range } from './address-ranges.js';

/** A destination the guard refuses; never retried (the request was not made). */
export class DestinationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationRefused';
  }
}

export interface GuardedRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** follow: redirects are followed (at most 5), each hop checked like the first; manual: a 3xx is the answer. */
  redirect?: 'follow' | 'manual';
}

const MAX_REDIRECTS = 5;
/** Answers are read into memory for classification and logs only; more than this is cut off. */
const MAX_ANSWER_BYTES = 1024 * 1024;
const LOCAL_NAMES = /^(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)$|\.localhost$/i;

/**
 * The SSRF guard (docs/reliability.md): every URL the server fetches on a user's behalf (webhook, Slack and SMS
 * channels, alert notifications) goes through it. Destinations in private, loopback, link-local, unique-local and
 * other non-public ranges are refused unless allow-listed (config `network.allowPrivate`). Host names are checked
 * after DNS resolution, at connect time (the address checked is the address connected to, so a name that resolves
 * differently a second time gains nothing), and on every redirect.
 */
export class DestinationGuard {
  private readonly allowed: Range[];

  constructor(allowPrivate: readonly string[] = [], private readonly resolve: typeof dnsLookup = dnsLookup) {
    this.allowed = allowPrivate.map((text, i) => {
      try {
        return parseRange(text);
      } catch (error) {
        throw new TandemError('invalid_config', `network.allowPrivate[${i}]: ${(error as Error).message}`, 400, `network.allowPrivate[${i}]`);
      }
    });
  }

  /** Why an address may not be reached, or undefined when it may. */
  refusal(address: Address): string | undefined {
    const kind = nonPublicKind(address);
    if (!kind) return undefined;
    const v4 = embeddedIPv4(address);
    if (this.allowed.some((r) => inRange(address, r) || (v4 !== undefined && inRange(v4, r)))) return undefined;
    return `${formatAddress(v4 ?? address)} is a ${kind} address; allow it with network.allowPrivate in the server configuration if this is intended`;
  }

  /**
   * What can be checked without DNS, for a save: the scheme, and a host written as an IP address or a local name.
   * Throws a 400 naming `path`.
   */
  checkStatic(url: string, path: string): void {
    const problem = this.staticProblem(url);
    if (problem) throw new TandemError('refused_destination', `${path}: ${problem}`, 400, path);
  }

  private staticProblem(url: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return `'${url}' is not a valid URL`;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return `only http and https URLs are allowed, not ${u.protocol}`;
    if (u.username || u.password) return 'credentials in the URL are not allowed; use a header or a secret reference';
    const literal = parseAddress(u.hostname);
    if (literal) return this.refusal(literal);
    if (LOCAL_NAMES.test(u.hostname)) return this.refusal({ family: 4, value: 0x7f000001n });
    return undefined;
  }

  /**
   * One HTTP request through the guard, answered as a fetch Response. Rejects with DestinationRefused (no request
   * made) or, like fetch, a TypeError whose cause is the network error, or the timeout's TimeoutError.
   */
  async fetch(url: string, init: GuardedRequest): Promise<Response> {
    const signal = AbortSignal.timeout(init.timeoutMs);
    let current = url;
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    for (let hop = 0; ; hop++) {
      const problem = this.staticProblem(current);
      if (problem) throw new DestinationRefused(`refused destination ${redact(current)}: ${problem}`);
      const res = await this.once(new URL(current), method, init.headers ?? {}, body, signal);
      const location = res.headers.get('location');
      if (init.redirect !== 'follow' || ![301, 302, 303, 307, 308].includes(res.status) || !location) return res;
      if (hop >= MAX_REDIRECTS) throw new DestinationRefused(`refused destination ${redact(url)}: more than ${MAX_REDIRECTS} redirects`);
      current = new URL(location, current).toString();
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
    }
  }

  private once(u: URL, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<Response> {
    const refuse = this.refusal.bind(this);
    const resolve = this.resolve;
    // Every address a name resolves to is checked before the socket connects to one of them.
    const lookup = (hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
      resolve(hostname, { all: true, family: options.family ?? 0 }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error);
        for (const a of addresses) {
          const parsed = parseAddress(a.address);
          const problem = parsed ? refuse(parsed) : `'${a.address}' is not an IP address`;
          if (problem) return callback(new DestinationRefused(`refused destination ${redact(u.toString())}: ${u.hostname} resolves to ${problem}`));
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      });
    };
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((done, fail) => {
      const failWith = (error: Error) => {
        if (signal.aborted) return fail(signal.reason);
        if (error instanceof DestinationRefused) return fail(error);
        const cause = error as Error & { cause?: unknown };
        if (cause.cause instanceof DestinationRefused) return fail(cause.cause);
        fail(Object.assign(new TypeError('fetch failed'), { cause: error }));
      };
      const req = send(u, { method, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, lookup: lookup as never, signal }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('error', failWith);
        res.on('end', () => {
          const status = res.statusCode ?? 502;
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (Array.isArray(value)) for (const v of value) out.append(name, v);
            else if (value !== undefined) out.set(name, value);
          }
          const nullBody = status === 204 || status === 205 || status === 304 || method === 'HEAD';
          done(new Response(nullBody ? null : Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES), { status: Math.min(Math.max(status, 200), 599), statusText: res.statusMessage, headers: out }));
        });
      });
      req.on('error', failWith);
      req.end(body);
    });
  }
}

/** A URL for messages, without credentials, query string or path (a Slack webhook URL is itself a secret). */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}

/** The guard with no allow-list: what code that was given none uses. */
export const STRICT_GUARD = new DestinationGuard();
