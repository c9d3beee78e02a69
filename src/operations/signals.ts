import { Type, type Static } from '@sinclair/typebox';
import type { Message } from '../collect/message.js';
import { DefinitionKey } from '../catalogs/definition.js';
import { parseDuration } from '../core/duration.js';
import { badRequest } from '../core/errors.js';

export const SIGNALS_KIND = 'signals';

const Duration = Type.String({ description: 'A duration such as 5m, 15m, 1h.' });

/** One property test of a signal or monitor filter; `property` is a dotted path under `properties`. */
export const PropertyTest = Type.Object(
  {
    property: Type.String({ minLength: 1, description: 'Dotted path under properties, such as sentiment or product.price.' }),
    op: Type.Union([Type.Literal('eq'), Type.Literal('neq'), Type.Literal('in'), Type.Literal('exists'), Type.Literal('gt'), Type.Literal('gte'), Type.Literal('lt'), Type.Literal('lte')], { default: 'eq' }),
    value: Type.Optional(Type.Unknown({ description: 'The value compared with (a list for in; not used by exists).' })),
  },
  { additionalProperties: false },
);
export type PropertyTest = Static<typeof PropertyTest>;

export const SignalBody = Type.Object(
  {
    key: DefinitionKey,
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    event: Type.String({ minLength: 1, description: 'Event name of track calls (or a message type: identify, page, screen, group, alias).' }),
    source: Type.Optional(Type.String({ description: 'Only events of this source key.' })),
    where: Type.Optional(Type.Array(PropertyTest, { description: 'All must hold.' })),
    aggregate: Type.Union([Type.Literal('count'), Type.Literal('sum'), Type.Literal('avg')], { default: 'count' }),
    property: Type.Optional(Type.String({ description: 'The numeric property summed or averaged (sum, avg).' })),
    window: Type.Optional({ ...Duration, default: '15m' }),
  },
  { additionalProperties: false, description: 'A custom signal: count, sum or average of matching events per window (series `signal{signal=<key>}`).' },
);
export type Signal = Static<typeof SignalBody>;

const MESSAGE_TYPES = new Set(['identify', 'page', 'screen', 'group', 'alias']);

/** Checks what the schema cannot; returns the signal. */
export function checkSignal(s: Signal): Signal {
  const window = parseDuration(s.window ?? '15m', 'window');
  if (window < 60_000 || window % 60_000 !== 0) throw badRequest('invalid_window', 'window must be a whole number of minutes, at least 1m', 'window');
  if ((s.aggregate === 'sum' || s.aggregate === 'avg') && !s.property) throw badRequest('missing_property', `property is required when aggregate is ${s.aggregate}`, 'property');
  checkTests(s.where ?? [], 'where');
  return s;
}

export function checkTests(tests: PropertyTest[], path: string): void {
  tests.forEach((t, i) => {
    const op = t.op ?? 'eq';
    if (op === 'exists') return;
    if (t.value === undefined) throw badRequest('missing_value', `${path}[${i}].value is required for op ${op}`, `${path}[${i}].value`);
    if (op === 'in' && !Array.isArray(t.value)) throw badRequest('wrong_type', `${path}[${i}].value must be a list for op in`, `${path}[${i}].value`);
    if (['gt', 'gte', 'lt', 'lte'].includes(op) && typeof t.value !== 'number') throw badRequest('wrong_type', `${path}[${i}].value must be a number for op ${op}`, `${path}[${i}].value`);
  });
}

export function propertyOf(message: Message, path: string): unknown {
  let v: unknown = message.properties ?? {};
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

export function passes(message: Message, tests: PropertyTest[]): boolean {
  for (const t of tests) {
    const v = propertyOf(message, t.property);
    const op = t.op ?? 'eq';
    const ok =
      op === 'exists' ? v !== undefined && v !== null
      : op === 'eq' ? v === t.value
      : op === 'neq' ? v !== t.value
      : op === 'in' ? Array.isArray(t.value) && t.value.includes(v)
      : typeof v === 'number' && typeof t.value === 'number' && (op === 'gt' ? v > t.value : op === 'gte' ? v >= t.value : op === 'lt' ? v < t.value : v <= t.value);
    if (!ok) return false;
  }
  return true;
}

/** The event name a filter compares with: the track event's name, else the message type. */
export const eventName = (m: Message) => (m.type === 'track' ? (m.event ?? '') : m.type);

/** Whether a stored message counts for the signal, and the value it adds (1 for count). */
export function signalValue(s: Signal, m: Message, sourceKey: string): number | undefined {
  if (s.source !== undefined && s.source !== sourceKey) return undefined;
  if (MESSAGE_TYPES.has(s.event) ? m.type !== s.event : m.type !== 'track' || m.event !== s.event) return undefined;
  if (!passes(m, s.where ?? [])) return undefined;
  if (s.aggregate === 'count') return 1;
  const v = propertyOf(m, s.property ?? '');
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
