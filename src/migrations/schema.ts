import { Type, type Static } from '@sinclair/typebox';
import { badRequest } from '../core/errors.js';
import { TargetTypes } from './convert.js';

export const MigrationKinds = ['rename-event', 'rename-property', 'retype-property', 'traits-update', 'traits-delete'] as const;
export type MigrationKind = (typeof MigrationKinds)[number];

const Name = (description: string) => Type.String({ minLength: 1, maxLength: 512, description });
const Path = (description: string) => Type.String({ minLength: 1, maxLength: 512, pattern: '^[^.]+(\\.[^.]+)*$', description });

/**
 * A data migration request (docs/migrations.md). One object for every kind, so that a missing field is reported by
 * its name; which fields a kind needs is checked by `checkRequest`.
 */
export const MigrationRequest = Type.Object(
  {
    kind: Type.Union(MigrationKinds.map((k) => Type.Literal(k)), { description: 'What to migrate.' }),
    dryRun: Type.Optional(Type.Boolean({ default: false, description: 'Report what would change and write nothing.' })),
    from: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'rename-event: the old event name; rename-property: the old property path.' })),
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'rename-event: the new event name; rename-property: the new property path.' })),
    event: Type.Optional(Name('rename-property, retype-property: only in track events of this name (default: in every track, page and screen call).')),
    property: Type.Optional(Path('retype-property: the property path under properties, such as price or item.price.')),
    type: Type.Optional(Type.Union(TargetTypes.map((t) => Type.Literal(t)), { description: 'retype-property: the new type.' })),
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('jsonl')], { description: 'traits-update, traits-delete: the format of data.' })),
    data: Type.Optional(Type.String({ maxLength: 16 * 1024 * 1024, description: 'traits-update, traits-delete: the rows, CSV with a header line or JSON lines.' })),
    identifier: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'traits-*: the identifier type that names each row\'s profile (user_id, anonymous_id, email, phone, ...; default user_id).' })),
    column: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'traits-*: the column (CSV) or field (JSON lines) holding the identifier (default: the identifier type).' })),
    traits: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 200, description: 'traits-delete: the traits to remove from every profile listed.' })),
    message: Type.Optional(Type.String({ maxLength: 2000, description: 'Recorded with the workspace version and the audit entry.' })),
    author: Type.Optional(Type.String({ maxLength: 200, description: 'Recorded with the workspace version and the audit entry (default admin).' })),
  },
  { additionalProperties: false },
);
export type MigrationRequest = Static<typeof MigrationRequest>;

const NEEDS: Record<MigrationKind, (keyof MigrationRequest)[]> = {
  'rename-event': ['from', 'to'],
  'rename-property': ['from', 'to'],
  'retype-property': ['property', 'type'],
  'traits-update': ['format', 'data'],
  'traits-delete': ['format', 'data', 'traits'],
};
const ALLOWED: Record<MigrationKind, (keyof MigrationRequest)[]> = {
  'rename-event': ['from', 'to'],
  'rename-property': ['from', 'to', 'event'],
  'retype-property': ['property', 'type', 'event'],
  'traits-update': ['format', 'data', 'identifier', 'column'],
  'traits-delete': ['format', 'data', 'identifier', 'column', 'traits'],
};
const COMMON = new Set<string>(['kind', 'dryRun', 'message', 'author']);
const PROPERTY_PATH = /^[^.]+(\.[^.]+)*$/;

/** What the schema cannot say: the fields each kind needs and accepts. Throws a 400 naming the field. */
export function checkRequest(r: MigrationRequest): MigrationRequest {
  for (const field of NEEDS[r.kind]) if (r[field] === undefined) throw badRequest('required', `${field} is required for ${r.kind}`, field);
  for (const field of Object.keys(r)) {
    if (!COMMON.has(field) && !ALLOWED[r.kind].includes(field as keyof MigrationRequest)) throw badRequest('unknown_field', `${field}: is not used by ${r.kind}`, field);
  }
  if ((r.kind === 'rename-event' || r.kind === 'rename-property') && r.from === r.to) throw badRequest('invalid_value', `to must differ from from ('${r.from}')`, 'to');
  if (r.kind === 'rename-property') {
    for (const f of ['from', 'to'] as const) if (!PROPERTY_PATH.test(r[f]!)) throw badRequest('invalid_value', `${f} must be a property path such as total or shipping.country`, f);
    if (r.to!.startsWith(`${r.from}.`) || r.from!.startsWith(`${r.to}.`)) throw badRequest('invalid_value', `to ('${r.to}') and from ('${r.from}') contain one another`, 'to');
  }
  if (r.kind === 'traits-delete') {
    // Email and phone traits are also identifiers: removing them from the history would unlink them on a recompute.
    r.traits!.forEach((t, i) => {
      if (t === 'email' || t === 'phone') throw badRequest('invalid_value', `traits[${i}]: '${t}' is also an identifier; it cannot be deleted as a trait`, `traits[${i}]`);
    });
  }
  return r;
}
