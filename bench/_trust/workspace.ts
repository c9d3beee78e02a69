// The workspace the crash matrix and the soak run load: a tracking plan checking the default source, two computed
// traits, two audiences on them, a webhook channel to the script's sink and two journeys sending through it. The
// definition change flips the audience's threshold and the trait's window, so each change backfills both.

/** The documents of `POST /api/v1/workspace/apply`; `variant` 0 or 1 picks the side of the definition change. */
export function documents(sinkUrl: string, variant: number): Record<string, unknown>[] {
  return [
    {
      kind: 'tracking-plans', key: 'shop', name: 'Shop',
      events: {
        'Signed Up': { type: 'object', properties: { plan: { type: 'string' } } },
        'Product Viewed': { type: 'object', properties: { sku: { type: 'string' } } },
        'Order Completed': { type: 'object', required: ['total'], properties: { total: { type: 'number', minimum: 0 } } },
      },
      unplannedEvents: 'flag',
    },
    { kind: 'sources', key: 'default', name: 'Default', trackingPlan: 'shop', mode: 'flag' },
    { kind: 'traits', key: 'order_count', event: 'Order Completed', within: variant === 0 ? '365d' : '400d', compute: { count: true } },
    { kind: 'traits', key: 'revenue', event: 'Order Completed', compute: { sum: 'total' } },
    { kind: 'audiences', key: 'buyers', name: 'Buyers', condition: { computed: 'order_count', gte: 1 } },
    { kind: 'audiences', key: 'big_spenders', name: 'Big spenders', condition: { computed: 'revenue', gte: variant === 0 ? 150 : 120 } },
    { kind: 'channels', key: 'hook', type: 'webhook', settings: { url: sinkUrl, secret: { env: 'TANDEM_TRUST_HOOK_SECRET' } }, retry: { maxAttempts: 30, base: '100ms', max: '1s' } },
    {
      kind: 'journeys', key: 'welcome', trigger: { type: 'event', event: 'Signed Up' }, start: 'hello',
      nodes: { hello: { type: 'webhook', channel: 'hook', next: 'wait' }, wait: { type: 'wait', duration: '2s', next: 'reminder' }, reminder: { type: 'webhook', channel: 'hook' } },
    },
    { kind: 'journeys', key: 'vip', trigger: { type: 'audience_entered', audience: 'big_spenders' }, start: 'thanks', nodes: { thanks: { type: 'webhook', channel: 'hook' } } },
  ];
}

/** The definitions the change touches: GET path and the fields the document set. */
export function definitionsOf(docs: Record<string, unknown>[]): { path: string; body: Record<string, unknown> }[] {
  return docs.map(({ kind, ...body }) => ({ path: `/${kind as string}/${encodeURIComponent(String(body.key))}`, body }));
}

/** True when `actual` has every field of `expected` with an equal value (arrays compared whole, objects field by field). */
export function contains(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return actual === expected;
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => contains(actual[i], e));
  if (actual === null || typeof actual !== 'object') return false;
  return Object.entries(expected).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v));
}
