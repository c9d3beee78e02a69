import { Type, type Static } from '@sinclair/typebox';

export const SQL_MODEL_KIND = 'models-sql';

/** Workspace-scoped read-only views a model's SELECT reads (sql-models-ops.mjs builds them); not model keys. */
export const SQL_VIEWS = ['events', 'profiles', 'identifiers', 'memberships', 'catalogs'] as const;

const Duration = (description: string) => Type.String({ pattern: '^\\d+(\\.\\d+)?(ms|s|m|h|d|w)$', description });

export const SqlModelBody = Type.Object(
  {
    key: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$', description: 'The name other models read it by: lower-case letters, digits and _.' }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    sql: Type.String({ minLength: 1, maxLength: 100_000, description: `One SELECT over ${SQL_VIEWS.join(', ')} and other models (by key).` }),
    materialized: Type.Optional(
      Type.Union([Type.Literal('table'), Type.Literal('incremental')], {
        default: 'table',
        description: 'table: rebuilt on every run; incremental: each run reads only events newer than the last run (by event id) and appends, or replaces rows by uniqueKey.',
      }),
    ),
    uniqueKey: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'incremental: columns identifying a row; a new row replaces the stored one with the same values.' })),
    schedule: Type.Optional(Duration('Run every this long (e.g. 1h); without it the model runs on demand (POST /api/v1/models-sql/<key>/run).')),
    timeout: Type.Optional(Duration('Statement timeout of one run (default 60s).')),
    output: Type.Optional(
      Type.Union([
        Type.Object({ trait: Type.String({ minLength: 1, description: 'Computed trait written from the columns profile_id and value after each run.' }) }, { additionalProperties: false }),
        Type.Object({ catalog: Type.String({ minLength: 1, description: "Catalog whose rows become the model's rows after each run (each row keyed by the catalog's keyField)." }) }, { additionalProperties: false }),
      ]),
    ),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false, description: 'A SQL model materialised in the warehouse (docs/transformations.md).' },
);
export type SqlModelDefinition = Static<typeof SqlModelBody>;

export const DEFAULT_TIMEOUT_MS = 60_000;
