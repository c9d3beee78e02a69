import { deflateSync, gzipSync } from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageTypes, RawMessageSchemas, type MessageType } from '../src/collect/message.js';
import { isIsoDate } from '../src/collect/validate.js';
import { createAjv } from '../src/core/json-schema.js';
import { startTandem, type Running } from './harness.js';
import { identity, anyValidMessage, BASE, FIELDS, roundTrip, wrongFor, wrongField, HUGE, hugeLiteral, withHuge } from './collect-arbitraries.js';

/**
 * Property-based tests of /v1 against a running server: whatever a client sends, the answer is a 4xx with
 * { error: { code, message, path? } } naming the problem (never a 5xx), the server stays healthy, and in mixed
 * batches exactly the messages the response counts as accepted are stored.
 */

const RUNS = 100;
let t: Running;
beforeAll(async () => {
  t = await startTandem();
});
afterEach(async () => {
  // The server is still healthy and still collecting after every property.
  expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  const res = await t.collect('/v1/track', { userId: 'after', event: 'Still Alive' });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  // No request of the whole run was answered with a 5xx.
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  const counts = metrics.split('\n').filter((l) => l.startsWith('tandem_http_request_duration_seconds_count'));
  expect(counts.some((l) => /status="400"/.test(l))).toBe(true); // the metric does record statuses
  expect(counts.filter((l) => /status="5/.test(l))).toEqual([]);
  await t.stop();
});

interface Refusal {
  status: number;
  code: string;
  message: string;
  path?: string;
  errors?: { index: number; code: string; path: string; message: string; messageId?: string }[];
}

/** Asserts the answer is a 4xx in the API's error shape, and returns the error. */
async function refusal(res: Response): Promise<Refusal> {
  const text = await res.text();
  expect(res.status, text).toBeGreaterThanOrEqual(400);
  expect(res.status, text).toBeLessThan(500);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: { code: string; message: string; path?: string }; errors?: Refusal['errors'] };
  expect(Object.keys(body).filter((k) => k !== 'errors'), text).toEqual(['error']);
  expect(Object.keys(body.error).every((k) => ['code', 'message', 'path'].includes(k)), text).toBe(true);
  expect(body.error.code).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(body.error.message.length, text).toBeGreaterThan(10);
  if (body.error.path) expectNamesPath(body.error.message, body.error.path);
  return { status: res.status, ...body.error, errors: body.errors };
}

/** The message names the field it is about: its position in the batch and its own name. */
function expectNamesPath(message: string, path: string) {
  const position = /^batch\[\d+\]/.exec(path)?.[0];
  if (position) expect(message, path).toContain(position);
  const field = path.replace(/^batch\[\d+\]\.?/, '').split(/[.[]/)[0];
  if (field) expect(message, path).toContain(field);
}

const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) => t.collect(path, body, headers);

// ---------- generators (test/collect-arbitraries.ts) ----------

let seq = 0;
const nextId = (tag: string) => `fz-${tag}-${Date.now().toString(36)}-${seq++}`;

// ---------- properties ----------

describe('collection API under fuzzing', () => {
  it('refuses malformed and non-object JSON with a 400 that says so', async () => {
    const truncated = anyValidMessage.chain((m) => {
      const text = JSON.stringify(m);
      return fc.integer({ min: 0, max: text.length - 1 }).map((cut) => text.slice(0, cut));
    });
    const garbage = fc.oneof(fc.string({ minLength: 1 }), truncated, fc.constantFrom('{', '{"a":}', "{'a':1}", '{"a":1,}', 'NaN', '{"a":undefined}', '\u0000', '{"a":1}{"b":2}'));
    await fc.assert(
      fc.asyncProperty(fc.oneof(garbage.filter(isNotJson), fc.jsonValue().filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)).map((v) => JSON.stringify(v))), async (text) => {
        const e = await refusal(await post('/v1/track', text));
        expect(e.status).toBe(400);
        if (text === '') expect(e.code).toBe('empty_body');
        else if (isNotJson(text)) expect([e.code, e.message]).toEqual(['invalid_json', expect.stringContaining('not valid JSON')]);
        else expect([e.code, e.message]).toEqual(['invalid_body', expect.stringContaining('must be a JSON object')]);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses content types other than JSON with a 415 naming Content-Type', async () => {
    const accepted = new Set(['application/json', 'text/plain', 'application/x-www-form-urlencoded']);
    const mediaType = fc.oneof(
      fc.constantFrom('application/xml', 'text/html', 'multipart/form-data; boundary=x', 'application/octet-stream', 'image/png', 'application/jsonx', 'application/vnd.api+json', 'text/csv'),
      fc.tuple(fc.stringMatching(/^[a-z]{1,12}$/), fc.stringMatching(/^[a-z0-9.+-]{1,16}$/)).map(([a, b]) => `${a}/${b}`),
    );
    await fc.assert(
      fc.asyncProperty(mediaType.filter((m) => !accepted.has(m.split(';')[0])), async (contentType) => {
        const e = await refusal(await post('/v1/track', JSON.stringify(BASE.track), { 'content-type': contentType }));
        expect([e.status, e.code]).toEqual([415, 'unsupported_media_type']);
        expect(e.message).toContain('Content-Type');
      }),
      { numRuns: RUNS },
    );
    // No Content-Type at all.
    const res = await fetch(`${t.url}/v1/track`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${t.writeKey}:`).toString('base64')}` }, body: new TextEncoder().encode(JSON.stringify(BASE.track)) });
    expect((await refusal(res)).status).toBe(415);
    // Anything printable in the header is a 2xx (it names JSON) or a 4xx, never a 5xx.
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom(...'abcjsonplixt/;=+- ,"'.split('')), maxLength: 30 }), async (contentType) => {
        const res = await post('/v1/track', JSON.stringify({ ...BASE.track, messageId: nextId('ct') }), { 'content-type': contentType });
        if (res.status === 200) expect(accepted.has(contentType.split(';')[0].trim().toLowerCase())).toBe(true);
        else await refusal(res);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses request bodies over 500 KB, plain or decompressed, naming the limit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 600_000 }), fc.constantFrom('identity', 'gzip', 'deflate'), async (count, extra, encoding) => {
        // `count` messages padded so that the JSON body is just over the limit plus `extra` bytes.
        const target = 500 * 1024 + 1 + extra;
        const pad = Math.ceil(target / count);
        const body = Buffer.from(JSON.stringify({ batch: Array.from({ length: count }, (_, i) => ({ type: 'track', userId: `u${i}`, event: 'E', properties: { pad: 'x'.repeat(pad) } })) }));
        expect(body.length).toBeGreaterThan(500 * 1024);
        const sent = encoding === 'gzip' ? gzipSync(body) : encoding === 'deflate' ? deflateSync(body) : body;
        const e = await refusal(await post('/v1/batch', sent, encoding === 'identity' ? {} : { 'content-encoding': encoding }));
        expect([e.status, e.code]).toEqual([400, 'request_too_large']);
        expect(e.message).toContain('500 KB');
      }),
      { numRuns: 25 },
    );
  });

  it('refuses gzip and deflate bombs, corrupt compressed data and unknown encodings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 500 * 1024 + 1, max: 50_000_000 }), fc.constantFrom('gzip', 'x-gzip', 'deflate'), fc.integer({ min: 0, max: 255 }), async (size, encoding, byte) => {
        const bomb = encoding === 'deflate' ? deflateSync(Buffer.alloc(size, byte), { level: 9 }) : gzipSync(Buffer.alloc(size, byte), { level: 9 });
        const e = await refusal(await post('/v1/batch', bomb, { 'content-encoding': encoding }));
        expect([e.status, e.code]).toEqual([400, 'request_too_large']);
      }),
      { numRuns: 20 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.constantFrom('gzip', 'deflate'), async (bytes, encoding) => {
        const e = await refusal(await post('/v1/track', bytes, { 'content-encoding': encoding }));
        expect([e.status, e.code]).toEqual([400, 'invalid_encoding']);
        expect(e.message).toContain(`not valid ${encoding}`);
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('br', 'compress', 'zstd', 'gzip, gzip', 'identity;q=0', 'bogus'), async (encoding) => {
        const e = await refusal(await post('/v1/track', JSON.stringify(BASE.track), { 'content-encoding': encoding }));
        expect([e.status, e.code]).toEqual([415, 'unsupported_encoding']);
        expect(e.message).toContain('Content-Encoding');
      }),
      { numRuns: 12 },
    );
  });

  it('refuses messages over 32 KB, alone or among valid ones in a batch', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MessageTypes), fc.integer({ min: 32 * 1024, max: 200_000 }), fc.constantFrom('context', 'integrations'), async (type, size, field) => {
        const big = { ...BASE[type], [field]: { pad: 'y'.repeat(size) } };
        const single = await refusal(await post(`/v1/${type}`, JSON.stringify(big)));
        expect([single.status, single.code]).toEqual([400, 'message_too_large']);
        expect(single.message).toMatch(/32 KB/);
        const okId = nextId('big-ok');
        const res = await post('/v1/batch', JSON.stringify({ batch: [{ type, ...BASE[type], messageId: okId }, { type, ...big }] }));
        expect(res.status).toBe(200);
        const body = (await res.json()) as { accepted: number; errors: Refusal['errors'] };
        expect(body.accepted).toBe(1);
        expect(body.errors).toEqual([expect.objectContaining({ index: 1, code: 'message_too_large', path: 'batch[1]', message: expect.stringContaining('batch[1]') })]);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses nesting deeper than 32 levels with the path of the deep value, and accepts 32', async () => {
    // Wrapped in {"a": ...} so that arrays sit where an object is required; the wrapper is level 1.
    const nest = (depth: number, arrays: boolean) => `{"a":${arrays ? '['.repeat(depth) + '1' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)}}`;
    const send = (where: string, nested: string) =>
      where === 'batch-context' || where === 'batch-integrations'
        ? post('/v1/batch', `{"${where.slice(6)}":${nested},"batch":[{"type":"track","userId":"u","event":"E","messageId":"${nextId('deep')}"}]}`)
        : post('/v1/track', `{"userId":"u","event":"E","messageId":"${nextId('deep')}","${where}":${nested}}`);
    const where = fc.constantFrom('properties', 'context', 'integrations', 'batch-context', 'batch-integrations');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 31, max: 80_000 }) /* under 500 KB as objects */, fc.boolean(), where, async (depth, arrays, at) => {
        const e = await refusal(await send(at, nest(depth, arrays)));
        expect([e.status, e.code]).toEqual([400, 'too_deep']);
        expect(e.path!.startsWith(at.replace('batch-', ''))).toBe(true);
        expect(e.message).toContain('deeper than 32 levels');
      }),
      { numRuns: 60 },
    );
    // The limit is exactly 32 levels: one level less is accepted.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30 }), fc.boolean(), where, async (depth, arrays, at) => {
        expect((await send(at, nest(depth, arrays))).status).toBe(200);
      }),
      { numRuns: 30 },
    );
  });

  it('refuses __proto__ and constructor.prototype keys anywhere in the body', async () => {
    // Escaped spellings too: JSON.parse reads "\u005f_proto__" as __proto__.
    const poison = fc.constantFrom(
      '"__proto__":{"admin":true}',
      '"constructor":{"prototype":{"admin":true}}',
      '"__proto__":null',
      '"__proto__":[]',
      '"constructor":{"a":1,"prototype":1}',
      '"\\u005f_proto__":{"admin":true}',
      '"__pro\\u0074o__":{"admin":true}',
      '"\\u0063onstructor":{"prototype":{"admin":true}}',
      '"constructor":{"prot\\u006ftype":{"admin":true}}',
    );
    await fc.assert(
      fc.asyncProperty(poison, fc.constantFrom('top', 'properties', 'context', 'nested', 'batch', 'batch-item'), async (key, where) => {
        const text = {
          top: `{"userId":"u","event":"E",${key}}`,
          properties: `{"userId":"u","event":"E","properties":{"x":1,${key}}}`,
          context: `{"userId":"u","event":"E","context":{${key}}}`,
          nested: `{"userId":"u","event":"E","properties":{"a":[{"b":{${key}}}]}}`,
          batch: `{${key},"batch":[{"type":"track","userId":"u","event":"E"}]}`,
          'batch-item': `{"batch":[{"type":"track","userId":"u","event":"E"},{"type":"track","userId":"u","event":"E",${key}}]}`,
        }[where]!;
        const e = await refusal(await post(where.startsWith('batch') ? '/v1/batch' : '/v1/track', text));
        expect([e.status, e.code]).toEqual([400, 'forbidden_key']);
        expect(e.message).toMatch(/__proto__|constructor\.prototype/);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses invalid UTF-8 with a 400 that says so', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 16 }).filter((b) => !isUtf8(b)), fc.constantFrom('event', 'userId', 'key'), async (bad, where) => {
        const parts = { event: ['{"userId":"u","event":"', '"}'], userId: ['{"event":"E","userId":"', '"}'], key: ['{"userId":"u","event":"E","properties":{"', '":1}}'] }[where]!;
        const body = Buffer.concat([Buffer.from(parts[0]), bad, Buffer.from(parts[1])]);
        const e = await refusal(await post('/v1/track', body));
        expect([e.status, e.code]).toEqual([400, 'invalid_utf8']);
        expect(e.message).toContain('UTF-8');
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses numbers JSON cannot carry: 1e400 anywhere, ids beyond 2^53', async () => {
    await fc.assert(
      fc.asyncProperty(hugeLiteral, fc.constantFrom('properties.total', 'context.screen.width', 'version', 'properties.list[2]', 'integrations.x'), async (literal, where) => {
        const msg: Record<string, unknown> = { userId: 'u', event: 'E' };
        if (where === 'version') msg.version = HUGE;
        else if (where === 'properties.list[2]') msg.properties = { list: [1, 2, HUGE] };
        else {
          const [a, ...rest] = where.split('.');
          let leafObj: Record<string, unknown> = (msg[a] = {});
          for (const k of rest.slice(0, -1)) leafObj = leafObj[k] = {};
          leafObj[rest[rest.length - 1]] = HUGE;
        }
        const e = await refusal(await post('/v1/track', withHuge(JSON.stringify(msg), literal)));
        expect([e.status, e.code, e.path]).toEqual([400, 'invalid_number', where]);
      }),
      { numRuns: RUNS },
    );
    // Batch-level context and integrations are merged into every message, so the same rule holds there.
    await fc.assert(
      fc.asyncProperty(hugeLiteral, fc.constantFrom('context', 'integrations'), async (literal, field) => {
        const messageId = nextId('huge-batch');
        const text = withHuge(JSON.stringify({ [field]: { x: HUGE }, batch: [{ type: 'track', ...BASE.track, messageId }] }), literal);
        const e = await refusal(await post('/v1/batch', text));
        expect([e.status, e.code, e.path]).toEqual([400, 'invalid_number', `${field}.x`]);
        await t.settle();
        expect((await (await t.admin(`/events?messageId=${messageId}`)).json()).data).toEqual([]);
      }),
      { numRuns: 30 },
    );
    const bigInt = fc.oneof(fc.bigInt({ min: 2n ** 53n, max: 2n ** 200n }), fc.bigInt({ min: -(2n ** 200n), max: -(2n ** 53n) }), fc.constant(2n ** 64n));
    await fc.assert(
      fc.asyncProperty(bigInt, fc.constantFrom(...(['userId', 'anonymousId', 'groupId', 'previousId'] as const)), async (n, field) => {
        const type = field === 'groupId' ? 'group' : field === 'previousId' ? 'alias' : 'identify';
        const msg = { ...BASE[type], [field]: HUGE };
        const e = await refusal(await post(`/v1/${type}`, withHuge(JSON.stringify(msg), n.toString())));
        expect([e.status, e.code, e.path]).toEqual([400, 'invalid_value', field]);
        expect(e.message).toContain('send it as a string');
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses a wrong type for every field of every message type, naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(wrongField, async ({ type, field, value }) => {
        const single = await refusal(await post(`/v1/${type}`, JSON.stringify({ ...BASE[type], [field]: value })));
        expect(single.status).toBe(400);
        expect(single.path).toBe(field);
        expect(['wrong_type', 'invalid_value']).toContain(single.code);
        expect(single.message).toMatch(/ must /);
        // In a batch the valid sibling is kept and the bad one is reported at its position.
        if (field === 'type' && MessageTypes.includes(value as MessageType)) return; // a different valid type, not a wrong one
        const okId = nextId('wt');
        const res = await post('/v1/batch', JSON.stringify({ batch: [{ type, ...BASE[type], messageId: okId }, { type, ...BASE[type], [field]: value }] }));
        expect(res.status).toBe(200);
        const body = (await res.json()) as { accepted: number; errors: NonNullable<Refusal['errors']> };
        expect(body.accepted).toBe(1);
        expect(body.errors).toHaveLength(1);
        expect(body.errors[0]).toMatchObject({ index: 1, path: `batch[1].${field}` });
        expect(body.errors[0].message).toContain(`batch[1].${field}`);
      }),
      { numRuns: 200 },
    );
    // Every (type, field) pair has a wrong value, so the property above covers all of them.
    for (const [type, field] of FIELDS) expect(fc.sample(wrongFor(type, field), 1)).toHaveLength(1);
  });

  it('refuses timestamps that are not ISO-8601, naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }).filter((s) => !isIsoDate(s)), fc.constantFrom('timestamp', 'sentAt', 'originalTimestamp'), async (value, field) => {
        const e = await refusal(await post('/v1/track', JSON.stringify({ ...BASE.track, [field]: value })));
        expect([e.status, e.code, e.path]).toEqual([400, 'invalid_timestamp', field]);
        expect(e.message).toContain('ISO-8601');
      }),
      { numRuns: RUNS },
    );
  });

  it('accepts any valid ISO-8601 times, however far apart, and stores a valid corrected timestamp', async () => {
    const anyDate = fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString());
    await fc.assert(
      fc.asyncProperty(fc.record({ timestamp: anyDate, sentAt: anyDate, originalTimestamp: anyDate }, { requiredKeys: [] }), fc.option(anyDate), fc.constantFrom('/v1/batch', '/v1/import'), async (times, batchSentAt, path) => {
        const messageId = nextId('time');
        const res = await post(path, JSON.stringify({ ...(batchSentAt ? { sentAt: batchSentAt } : {}), batch: [{ type: 'track', ...BASE.track, ...times, messageId }] }));
        expect(res.status, await res.clone().text()).toBe(200);
        await t.settle();
        const [event] = ((await (await t.admin(`/events?messageId=${messageId}`)).json()) as { data: { message: { timestamp: string; originalTimestamp?: string } }[] }).data;
        expect(isIsoDate(event.message.timestamp)).toBe(true);
        const client = times.timestamp ?? times.originalTimestamp;
        if (client !== undefined) expect(event.message.originalTimestamp).toBe(client);
        // Imports keep the client's time as sent.
        if (path === '/v1/import' && client !== undefined) expect(event.message.timestamp).toBe(client);
      }),
      { numRuns: RUNS },
    );
  });

  it('in mixed batches, stores exactly the messages counted as accepted and none of the refused ones', async () => {
    type Item = { message: Record<string, unknown>; valid: boolean; tag: string };
    const mutation = (m: Record<string, unknown>): fc.Arbitrary<Item> => {
      const type = m.type as MessageType;
      const fields = Object.keys(RawMessageSchemas[type].properties).filter((f) => f !== 'messageId' && f !== 'type');
      const missing = type === 'track' ? ['event'] : type === 'group' ? ['groupId'] : type === 'alias' ? ['previousId'] : ['userId', 'anonymousId'];
      return fc.oneof(
        fc.constant({ message: m, valid: true, tag: 'valid' }),
        fc.constant({ message: m, valid: true, tag: 'valid' }),
        fc.constant({ message: Object.fromEntries(Object.entries(m).filter(([k]) => !missing.includes(k))), valid: false, tag: 'missing' }),
        fc.constantFrom(...fields).chain((f) => wrongFor(type, f).map((v) => ({ message: { ...m, [f]: v }, valid: false, tag: `wrong ${f}` }))),
        fc.string({ maxLength: 20 }).filter((s) => !isIsoDate(s)).map((s) => ({ message: { ...m, timestamp: s }, valid: false, tag: 'timestamp' })),
        fc.constant({ message: { ...m, context: { n: HUGE } }, valid: false, tag: 'huge' }),
        fc.constant({ message: { ...m, context: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) as object }, valid: false, tag: 'deep' }),
        fc.constant({ message: { ...m, context: { pad: 'z'.repeat(33 * 1024) } }, valid: false, tag: 'too large' }),
        fc.constantFrom('purchase', 'Track', '', 5).map((v) => ({ message: { ...m, type: v }, valid: false, tag: 'type' })),
      );
    };
    const batch = fc.array(anyValidMessage.chain(mutation), { minLength: 1, maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(batch, async (items: Item[]) => {
        const sent = items.map((it) => ({ ...it, message: { ...it.message, messageId: nextId('mix') } }));
        const res = await post('/v1/batch', withHuge(JSON.stringify({ batch: sent.map((s) => s.message) }), '1e400'));
        const validIdx = sent.flatMap((s, i) => (s.valid ? [i] : []));
        const invalidIdx = sent.flatMap((s, i) => (s.valid ? [] : [i]));
        let errors: NonNullable<Refusal['errors']>;
        if (validIdx.length) {
          expect(res.status).toBe(200);
          const body = (await res.json()) as { accepted: number; quarantined: number; errors: NonNullable<Refusal['errors']> };
          expect([body.accepted, body.quarantined]).toEqual([validIdx.length, 0]);
          errors = body.errors;
        } else {
          const e = await refusal(res);
          expect(e.status).toBe(400);
          expect(e.message).toMatch(/^no message in the batch was accepted/);
          errors = e.errors!;
        }
        expect(errors.map((e) => e.index)).toEqual(invalidIdx);
        for (const e of errors) {
          expect(e.path.startsWith(`batch[${e.index}]`), `${sent[e.index].tag}: ${e.path}`).toBe(true);
          expect(e.messageId).toBe(sent[e.index].message.messageId);
          expectNamesPath(e.message, e.path);
        }

        await t.settle();
        for (const [i, s] of sent.entries()) {
          const found = (await (await t.admin(`/events?messageId=${encodeURIComponent(s.message.messageId as string)}`)).json()) as { data: { message: Record<string, unknown> }[] };
          expect(found.data, `batch[${i}] (${s.tag})`).toHaveLength(s.valid ? 1 : 0);
          if (!s.valid) continue;
          const m = roundTrip(s.message) as Record<string, unknown>;
          const got = found.data[0].message;
          expect(got.type).toBe(m.type);
          for (const f of ['userId', 'anonymousId', 'groupId', 'previousId'] as const) {
            if (m[f] !== undefined) expect(got[f], f).toBe(String(m[f]));
          }
          for (const f of ['event', 'properties', 'traits', 'context'] as const) {
            if (m[f] !== undefined) expect(got[f], f).toEqual(m[f]);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('answers 401 in the error shape for any Authorization header that is not a valid write key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')), fc.string().map((s) => `Basic ${Buffer.from(`${s}:`).toString('base64')}`), fc.constant('Basic'), fc.constant('Bearer x')), async (header) => {
        const e = await refusal(await post('/v1/track', JSON.stringify(BASE.track), { authorization: header }));
        // An empty header is no header: the body carries no write key either.
        expect([e.status, e.code]).toEqual([401, 'unauthorized']);
        expect(e.message).toMatch(/write key|Authorization/);
      }),
      { numRuns: RUNS },
    );
  });
});

function isNotJson(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}
