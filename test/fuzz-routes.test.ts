// Fuzzing of every route in the route table, and of the definition and config parsers (docs/reliability.md).
// test/fuzz.test.ts covers collection (/v1) in depth; this file sends hostile input to every other route too:
// malformed JSON, wrong types, huge numbers, deep nesting, __proto__ keys, invalid UTF-8, odd path parameters
// and query strings. Whatever is sent: no 5xx, the server stays up, and a 4xx says what is wrong in the error
// shape (with the field's path when the schema refused a field). FUZZ_RUNS=<n> runs n cases per route (soak).
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/core/config.js';
import { TandemError } from '../src/core/errors.js';
import { ADMIN_TOKEN, startTandem, type Running } from './harness.js';
import { routeTable } from './route-table.js';

const PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 2);
/** Streams stay open by design: they are checked for a first answer only. */
const STREAMS = new Set(['/api/v1/events/stream']);

let t: Running;
let routes: { method: string; url: string }[] = [];
const failures: string[] = [];
let sent = 0;

beforeAll(async () => {
  t = await startTandem({ config: { collect: { threads: 0 }, network: { signInRateLimit: { perSecond: 0 } } } });
  routes = routeTable(t.app.http).filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
});
afterEach(async () => {
  expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  expect((await t.admin('/sources')).status).toBe(200);
});
afterAll(async () => {
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  const fivexx = metrics.split('\n').filter((l) => l.startsWith('tandem_http_request_duration_seconds_count') && /status="5/.test(l));
  expect(fivexx).toEqual([]);
  console.log(`fuzz-routes: ${sent} requests over ${routes.length} routes, ${PER_ROUTE} per route and kind`);
  await t.stop();
});

/** Raw bodies: each a kind of hostile input a client can send. */
const deep = (n: number, open: string, close: string, inner = '1') => `${open.repeat(n)}${inner}${close.repeat(n)}`;
const hostileBody: fc.Arbitrary<{ label: string; bytes: string | Uint8Array }> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ label: 'random JSON', bytes: JSON.stringify(v) ?? 'null' })),
  fc.string({ maxLength: 40 }).map((s) => ({ label: 'malformed JSON', bytes: `{${s}` })),
  fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '{"key":1e400}', '{"limit":1e400,"key":"x"}').map((s) => ({ label: 'huge number', bytes: s })),
  fc.integer({ min: 100, max: 3000 }).map((n) => ({ label: `nesting ${n}`, bytes: deep(n, '{"a":', '}') })),
  fc.integer({ min: 100, max: 3000 }).map((n) => ({ label: `array nesting ${n}`, bytes: deep(n, '[', ']') })),
  fc.constantFrom('{"__proto__":{"admin":true}}', '{"key":"x","constructor":{"prototype":{"polluted":1}}}', '{"a":{"__proto__":[]}}').map((s) => ({ label: '__proto__', bytes: s })),
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => ({ label: 'invalid UTF-8', bytes: new Uint8Array([0x7b, 0x22, 0x6b, 0x22, 0x3a, 0x22, 0xff, 0xfe, ...b, 0x22, 0x7d]) })),
  fc.record({ key: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.string())), name: fc.anything({ maxDepth: 2 }) }).map((v) => ({ label: 'wrong types', bytes: JSON.stringify(v) })),
);
const hostileSegment = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.constantFrom('..', '%2e%2e', '%00', '__proto__', 'constructor', '-1', '1e400', '99999999999999999999', 'a'.repeat(900), '%F0%9F%92%A9', '%ff%fe', 'null', ' '),
  fc.integer().map(String),
);
const hostileQuery = fc.dictionary(
  fc.constantFrom('limit', 'before', 'after', 'from', 'to', 'type', 'value', 'event', 'source', 'profile_id', 'q', '__proto__', 'x'),
  fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('-1', '1e400', '0', 'NaN', '2026-13-45', '%ff', '[]')),
  { maxKeys: 3 },
);

const fillParams = (url: string, segments: string[]) => {
  let i = 0;
  return url.replace(/:[A-Za-z]+|\*/g, () => encodeURIComponent(segments[i++ % segments.length]).replace(/%25/g, '%'));
};

/** One request; a failure is recorded (with what was sent) rather than thrown, so that every route is tried. */
async function probe(method: string, url: string, body: { label: string; bytes: string | Uint8Array } | undefined, contentType = 'application/json'): Promise<void> {
  sent++;
  const stream = STREAMS.has(url.split('?')[0]);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), stream ? 500 : 20_000);
  let status = 0;
  let text = '';
  try {
    const res = await fetch(`${t.url}${url}`, {
      method,
      signal: controller.signal,
      headers: { authorization: url.startsWith('/v1/') ? `Basic ${Buffer.from(`${t.writeKey}:`).toString('base64')}` : `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': contentType } : {}) },
      body: method === 'GET' || method === 'DELETE' && !body ? undefined : (body?.bytes as BodyInit | undefined),
    });
    status = res.status;
    if (stream && status === 200) return void controller.abort();
    text = await res.text();
  } catch (error) {
    if (stream && controller.signal.aborted) return;
    failures.push(`${method} ${url} [${body?.label ?? 'no body'}]: ${(error as Error).message}`);
    return;
  } finally {
    clearTimeout(timer);
  }
  const what = `${method} ${url} [${body?.label ?? 'no body'}] -> ${status} ${text.slice(0, 160)}`;
  if (status >= 500) return void failures.push(what);
  if (status < 400) return;
  let parsed: { error?: { code?: unknown; message?: unknown; path?: unknown } };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    if (url.startsWith('/api/') || url.startsWith('/v1/')) failures.push(`${what} (not the JSON error shape)`);
    return;
  }
  const e = parsed.error;
  if (!e || typeof e.code !== 'string' || typeof e.message !== 'string' || e.message === '') return void failures.push(`${what} (no error code and message)`);
  // A schema refusal of a field names it.
  if ((e.code === 'required' || e.code === 'wrong_type') && typeof e.path !== 'string') failures.push(`${what} (no path for a refused field)`);
}

describe('every route under hostile input', () => {
  it('answers hostile bodies, path parameters and query strings with a 4xx in the error shape, never a 5xx', async () => {
    expect(routes.length).toBeGreaterThan(200);
    await fc.assert(
      fc.asyncProperty(fc.array(hostileSegment, { minLength: 3, maxLength: 3 }), hostileQuery, hostileBody, async (segments, query, body) => {
        for (const r of routes) {
          const qs = new URLSearchParams(query as Record<string, string>).toString();
          const url = `${fillParams(r.url, segments)}${qs ? `?${qs}` : ''}`;
          await probe(r.method, url, r.method === 'GET' ? undefined : body);
        }
      }),
      { numRuns: PER_ROUTE, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
    );
    expect(failures).toEqual([]);
  });

  it('answers a badly percent-encoded path in the error shape (regression: Fastify answered in its own shape)', async () => {
    for (const url of ['/api/v1/catalogs/x/rows/%ff', '/api/v1/profiles/%E0%A4%A', '/v1/track%ff']) {
      const res = await fetch(`${t.url}${url}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, url).toBe('invalid_url');
    }
  });

  it('answers a body with a content type other than JSON with a 4xx on every route that takes a body', async () => {
    for (const r of routes.filter((x) => x.method === 'POST' || x.method === 'PUT')) {
      await probe(r.method, fillParams(r.url, ['x']), { label: 'text/xml', bytes: '<a/>' }, 'application/xml');
    }
    expect(failures).toEqual([]);
  });
});

describe('definition and config parsers under hostile input', () => {
  it('workspace plan: random documents of every kind are refused with the document and field named, never a 5xx', async () => {
    const kinds = ((await (await t.admin('/workspace/export')).json()) as { documents: { kind: string }[] }).documents.map((d) => d.kind);
    const allKinds = [...new Set([...kinds, 'sources', 'tracking-plans', 'identity-rules', 'traits', 'audiences', 'journeys', 'templates', 'channels', 'catalogs', 'functions', 'models', 'experiments', 'monitors', 'alerts', 'signals', 'decisions', 'models-sql', 'dictionary', 'privacy', 'aliases'])];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...allKinds),
        fc.dictionary(fc.constantFrom('key', 'name', 'type', 'event', 'condition', 'settings', 'nodes', 'start', 'trigger', 'compute', 'sql', 'code', '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
        async (kind, fields) => {
          sent++;
          const res = await t.admin('/workspace/plan', { method: 'POST', json: { documents: [{ kind, key: 'fuzzed', ...fields }] } });
          const text = await res.text();
          if (res.status >= 500) failures.push(`plan ${kind} ${JSON.stringify(fields).slice(0, 200)} -> ${res.status} ${text.slice(0, 200)}`);
          else if (res.status >= 400 && !/"message":"[^"]/.test(text)) failures.push(`plan ${kind} -> ${res.status} without a message: ${text.slice(0, 200)}`);
        },
      ),
      { numRuns: 40 * PER_ROUTE },
    );
    expect(failures).toEqual([]);
  });

  it('config: random settings are refused with a TandemError naming the setting, never another error', () => {
    const setting = fc.constantFrom('port', 'host', 'logLevel', 'storage', 'storage.sync', 'collect.threads', 'collect.rateLimit', 'collect.ipRateLimit.perSecond', 'network.allowPrivate', 'delivery.maxAttempts', 'pipeline.backgroundShare', 'unknown', '__proto__');
    fc.assert(
      fc.property(setting, fc.jsonValue({ maxDepth: 2 }), (name, value) => {
        const input: Record<string, unknown> = {};
        const parts = name.split('.');
        let at = input;
        for (const p of parts.slice(0, -1)) at = (at[p] = {}) as Record<string, unknown>;
        at[parts[parts.length - 1]] = value;
        try {
          parseConfig(input);
        } catch (error) {
          expect(error).toBeInstanceOf(TandemError);
          const e = error as TandemError;
          expect(e.code).toBe('invalid_config');
          expect(e.message).toMatch(/^config: /);
          expect(e.path === undefined || e.message.includes(e.path.split(/[.[]/)[0]) || e.path === '').toBe(true);
        }
      }),
      { numRuns: 300 * PER_ROUTE },
    );
    expect(() => parseConfig({ network: { allowPrivate: ['10.0.0.0/8', 'nonsense'] } })).toThrow(/network.allowPrivate\[1\]/);
  });
});
