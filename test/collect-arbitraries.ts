// The fast-check generators of collection input, shared by the fuzz test of /v1 (test/fuzz.test.ts) and the soak
// run (bench/soak.ts): valid messages of every type, values of every JSON type, a field given a value its schema
// refuses, numbers JSON cannot represent.
import fc from 'fast-check';
import { MessageTypes, RawMessageSchemas, type MessageType } from '../src/collect/message.js';
import { createAjv } from '../src/core/json-schema.js';

export const safeKey = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_ ]{0,11}$/).filter((k) => k !== 'constructor');
export const leaf = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
export const { obj: jsonObject } = fc.letrec<{ value: unknown; obj: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 3 }, leaf, fc.array(tie('value'), { maxLength: 3 }), tie('obj')),
  obj: fc.dictionary(safeKey, tie('value'), { maxKeys: 4 }),
}));
export const idString = fc.string({ minLength: 1, maxLength: 40 });
export const id = fc.oneof(idString, fc.integer({ min: -1e9, max: 1e9 }));
export const isoDate = fc.date({ min: new Date('2000-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString());

export const identity = fc.oneof(fc.record({ userId: id }), fc.record({ anonymousId: id }), fc.record({ userId: id, anonymousId: id }));
export const common = fc.record({ context: jsonObject, timestamp: isoDate }, { requiredKeys: [] });

/** A valid message of the given type (without messageId). */
export function validMessage(type: MessageType): fc.Arbitrary<Record<string, unknown>> {
  const extra: Record<MessageType, fc.Arbitrary<Record<string, unknown>>> = {
    track: fc.record({ event: fc.string({ minLength: 1, maxLength: 60 }), properties: jsonObject }, { requiredKeys: ['event'] }),
    identify: fc.record({ traits: jsonObject }, { requiredKeys: [] }),
    page: fc.record({ name: fc.string({ maxLength: 30 }), category: fc.string({ maxLength: 30 }), properties: jsonObject }, { requiredKeys: [] }),
    screen: fc.record({ name: fc.string({ maxLength: 30 }), category: fc.string({ maxLength: 30 }), properties: jsonObject }, { requiredKeys: [] }),
    group: fc.record({ groupId: id, traits: jsonObject }, { requiredKeys: ['groupId'] }),
    alias: fc.record({ previousId: id }),
  };
  const who = type === 'alias' ? fc.record({ userId: id }) : identity;
  return fc.tuple(who, common, extra[type]).map(([a, b, c]) => ({ type, ...a, ...b, ...c }));
}
export const anyValidMessage = fc.constantFrom(...MessageTypes).chain(validMessage);

/** A minimal valid message per type, for the properties that break one field at a time. */
export const BASE: Record<MessageType, Record<string, unknown>> = {
  track: { userId: 'u1', event: 'E' },
  identify: { userId: 'u1' },
  page: { userId: 'u1' },
  screen: { userId: 'u1' },
  group: { userId: 'u1', groupId: 'g1' },
  alias: { userId: 'u1', previousId: 'p1' },
};

/** Values of every JSON type; the schema decides which of them are wrong for a field. */
export const anyJson = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(safeKey, fc.integer(), { maxKeys: 2 }),
);
const ajv = createAjv();
export const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
export const FIELDS = MessageTypes.flatMap((type) => Object.keys(RawMessageSchemas[type].properties).map((field) => [type, field] as const));
/** Values the message schema refuses for this field (as the server will see them, after JSON). */
export function wrongFor(type: MessageType, field: string): fc.Arbitrary<unknown> {
  const fieldSchema = (RawMessageSchemas[type].properties as Record<string, object>)[field];
  const valid = ajv.compile(fieldSchema);
  return anyJson.filter((v) => !valid(roundTrip(v)));
}
export const wrongField = fc.constantFrom(...FIELDS).chain(([type, field]) => wrongFor(type, field).map((value) => ({ type, field, value })));

/** A placeholder replaced by a literal JSON cannot represent as a finite number. */
export const HUGE = '__huge_number__';
export const hugeLiteral = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 309, max: 100_000 }), fc.boolean()).map(([m, e, neg]) => `${neg ? '-' : ''}${m}e${e}`),
  fc.constantFrom('1e400', '-1e400', '1.8e308', '123456789012345678901234567890e300'),
);
export const withHuge = (json: string, literal: string) => json.replaceAll(`"${HUGE}"`, literal);

