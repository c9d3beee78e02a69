import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { badRequest } from '../core/errors.js';
import type { WorkspaceKind } from '../workspace/kinds.js';

export const DICTIONARY_KIND = 'dictionary';

export const PII_TYPES = ['email', 'phone', 'name', 'address', 'free_text'] as const;
export type PiiType = (typeof PII_TYPES)[number];
export const CLASSIFICATIONS = ['pii', 'sensitive', 'none'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

const Key = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$', description: 'Unique key of the entry (letters, digits, `_`, `.`, `-`).' });

/**
 * One entry of the data dictionary (kind `dictionary`): what an event, an event property, an identify trait or a
 * computed trait means, who owns it, its status and its classification. Exactly one target: `event` (with
 * `property`, a property of that event), `property` alone (that property path in every event), `trait`, or `computed`.
 */
export const DictionaryBody = Type.Object(
  {
    key: Key,
    event: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'The event name (track), or a message type (identify, page, screen, group).' })),
    property: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'A property path: `total`, `address.city`, `products[].price`. With event: of that event; alone: of every event.' })),
    trait: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'An identify trait (dotted path).' })),
    computed: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'A computed trait (its key).' })),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    owners: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 20, description: 'People or teams answerable for it.' })),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
    status: Type.Optional(Type.Union([Type.Literal('planned'), Type.Literal('live'), Type.Literal('deprecated')], { default: 'live', description: 'planned, live or deprecated; definitions that use a deprecated one are warned.' })),
    replacement: Type.Optional(Type.String({ maxLength: 512, description: 'For a deprecated entry: what to use instead (shown in the warnings).' })),
    classification: Type.Optional(Type.Union(CLASSIFICATIONS.map((c) => Type.Literal(c)), { default: 'none', description: 'pii (personal data: needs piiType), sensitive, or none.' })),
    piiType: Type.Optional(Type.Union(PII_TYPES.map((c) => Type.Literal(c)), { description: 'The kind of personal data: email, phone, name, address or free_text.' })),
    allow: Type.Optional(
      Type.Object(
        {
          exports: Type.Optional(Type.Boolean({ description: 'Personal data may leave in exports and webhook payloads (default false).' })),
          channels: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Channels (destinations) allowed to receive it although it is personal data.' })),
        },
        { additionalProperties: false, description: 'Where personal or sensitive data may go (default: nowhere outside Tandem but the channels that need it to deliver).' },
      ),
    ),
    confirmedBy: Type.Optional(Type.String({ maxLength: 200, description: 'Who confirmed the classification (set when a suggestion is confirmed).' })),
  },
  { additionalProperties: false, description: 'A data dictionary entry (docs/metadata.md).' },
);
export type DictionaryEntry = Static<typeof DictionaryBody>;

export const DICTIONARY_KIND_SCHEMA = { kind: DICTIONARY_KIND, schema: DictionaryBody, description: 'A data dictionary entry: meaning, owners, status and classification of an event, property or trait (docs/metadata.md).' };

/** What the entry describes, as one string: `event:Order Completed`, `property:Order Completed:total`, `property:*:email`, `trait:email`, `computed:ltv`. */
export function targetOf(e: Pick<DictionaryEntry, 'event' | 'property' | 'trait' | 'computed'>): string {
  if (e.trait !== undefined) return `trait:${e.trait}`;
  if (e.computed !== undefined) return `computed:${e.computed}`;
  if (e.property !== undefined) return `property:${e.event ?? '*'}:${e.property}`;
  return `event:${e.event}`;
}

/** Checks what the schema cannot; returns the entry to store (defaults filled in). Errors name the field. */
export function checkDictionaryEntry(e: DictionaryEntry): DictionaryEntry {
  const targets = [e.event !== undefined || e.property !== undefined, e.trait !== undefined, e.computed !== undefined].filter(Boolean).length;
  if (targets === 0) throw badRequest('missing_target', 'event, property, trait or computed: the entry must name what it describes', 'event');
  if (targets > 1) throw badRequest('invalid_target', `${e.trait !== undefined ? 'trait' : 'computed'}: name one target (event with property, property, trait or computed), not several`, e.trait !== undefined ? 'trait' : 'computed');
  const classification = e.classification ?? 'none';
  if (classification === 'pii' && e.piiType === undefined) throw badRequest('required', 'piiType: is required when classification is pii (email, phone, name, address or free_text)', 'piiType');
  if (classification !== 'pii' && e.piiType !== undefined) throw badRequest('invalid_value', `piiType: only for classification pii (this entry is ${classification})`, 'piiType');
  if (e.replacement !== undefined && e.status !== 'deprecated') throw badRequest('invalid_value', 'replacement: only for a deprecated entry', 'replacement');
  for (const [field, path] of [['property', e.property], ['trait', e.trait]] as const) {
    if (path !== undefined && (/^[.[]|\.$|\.\.|\.\[/.test(path) || /\[(?!\])/.test(path))) throw badRequest('invalid_path', `${field}: '${path}' is not a path such as total, address.city or products[].price`, field);
  }
  return { ...e, status: e.status ?? 'live', classification };
}

/** Refuses two entries for one target (the proposed workspace, or the stored entries for a single save). */
export function checkUniqueTarget(entry: DictionaryEntry, others: Iterable<[string, unknown]>): void {
  const target = targetOf(entry);
  for (const [key, body] of others) {
    if (key === entry.key || body === null || typeof body !== 'object') continue;
    if (targetOf(body as DictionaryEntry) === target) throw badRequest('duplicate_target', `${target.split(':')[0]}: entry '${key}' already describes ${describeTarget(entry)}`, target.split(':')[0]);
  }
}

export function describeTarget(e: Pick<DictionaryEntry, 'event' | 'property' | 'trait' | 'computed'>): string {
  if (e.trait !== undefined) return `trait '${e.trait}'`;
  if (e.computed !== undefined) return `computed trait '${e.computed}'`;
  if (e.property !== undefined) return e.event !== undefined ? `property '${e.property}' of '${e.event}'` : `property '${e.property}' (any event)`;
  return `event '${e.event}'`;
}

export const isPersonal = (e: Pick<DictionaryEntry, 'classification'>): boolean => e.classification === 'pii' || e.classification === 'sensitive';

type CheckShape = <T>(schema: TSchema, body: unknown) => T;

/** `dictionary` as a workspace kind: the same checks as its routes; a change drops the governance caches. */
export function dictionaryKind(checkShape: CheckShape, changed: (workspaceId: string) => Promise<void>): WorkspaceKind {
  return {
    kind: DICTIONARY_KIND,
    schema: DictionaryBody,
    async validate(body, ctx) {
      const entry = checkDictionaryEntry(checkShape<DictionaryEntry>(DictionaryBody, body));
      checkUniqueTarget(entry, (ctx.proposed.get(DICTIONARY_KIND) ?? new Map<string, unknown>()).entries());
      return entry;
    },
    changed: (workspaceId) => changed(workspaceId),
  };
}
