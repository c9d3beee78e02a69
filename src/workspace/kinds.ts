import { Type, type TSchema } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { conditionDependencies, AUDIENCES, TRAITS } from '../apply/definitions.js';
import { validateAudience } from '../audiences/audiences.js';
import { AUDIENCE_KIND, AudienceBody } from '../audiences/schema.js';
import { checkCatalog } from '../catalogs/catalogs.js';
import { CATALOG_KIND, CatalogBody } from '../catalogs/definition.js';
import { checkChannel, CHANNEL_KIND, ChannelBody, type ChannelDefinition } from '../channels/definition.js';
import { checkChannelDestinations } from '../channels/destinations.js';
import { STRICT_GUARD, type DestinationGuard } from '../network/destination-guard.js';
import { SourceBody } from '../collect/source.js';
import { compilePlan } from '../collect/tracking-plan/check.js';
import { TRACKING_PLAN_KIND, TrackingPlanBody, type TrackingPlan } from '../collect/tracking-plan/schema.js';
import { ConditionSchema } from '../conditions/index.js';
import { badRequest, TandemError } from '../core/errors.js';
import { describeAjvErrors } from '../core/json-schema.js';
import { compileIdentityRules, IDENTITY_RULES_KIND, IdentityRulesBody } from '../identity/rules.js';
import { JOURNEY_KIND, JourneyBody, NODE_SCHEMAS, parseJourney } from '../journeys/definition.js';
import { GUARDRAILS_KIND, GuardrailsBody, parseGuardrails } from '../journeys/guardrails.js';
import { TEMPLATE_KIND, TemplateBody, type Template } from '../templates/definition.js';
import { isSqlTrait, parseTraitDefinition, TraitDefinitionSchema, type TraitDefinition } from '../traits/definition.js';
import type { Condition } from '../conditions/condition.js';
import { OPERATIONS_KIND_SCHEMAS, operationsKinds } from '../operations/kinds.js';
import { MODELS_KIND_SCHEMA, modelsKind } from '../models/kind.js';
import { EXPERIMENTS_KIND_SCHEMA, experimentsKind } from '../experiments/kind.js';
import { ALIASES_KIND_SCHEMA, aliasesKind } from '../migrations/kind.js';
import type { Aliases } from '../migrations/aliases.js';
import { TRANSFORMS_KIND_SCHEMAS, transformsKinds, type TransformsEffects } from '../transforms/kinds.js';
import { DICTIONARY_KIND_SCHEMA, dictionaryKind } from '../metadata/dictionary.js';
import { PERSONALIZE_KIND_SCHEMAS, personalizeKinds } from '../personalize/kind.js';

/** Definitions by kind, then key: the workspace now, or as it would be after a plan's documents. */
export type WorkspaceState = Map<string, Map<string, unknown>>;

export interface KindContext {
  workspaceId: string;
  /** The workspace as it would be after the change (the stored definitions overlaid by the documents). */
  proposed: WorkspaceState;
  /** The workspace as stored. */
  current: WorkspaceState;
}

/**
 * One definable kind (docs/workspace.md): its name (the path of its admin API, `/api/v1/<kind>`, and `kind:` in a
 * workspace file), the JSON Schema of its body, its validation and its side effects after a commit. Validation here
 * calls the same functions the kind's routes call, so the API and workspace files accept exactly the same bodies.
 */
export interface WorkspaceKind {
  kind: string;
  /** The schema of the body (for the published workspace schema and the shape check of `validate`). */
  schema: TSchema;
  /** A kind with one definition per workspace (key `default`) whose body has no `key` field. */
  singleton?: boolean;
  /** Checks a body against the proposed workspace; returns the body to store (defaults filled in). Throws a TandemError naming the field. */
  validate(body: unknown, ctx: KindContext): Promise<unknown>;
  /** Refuses deleting a definition the proposed workspace still needs. */
  checkDelete?(key: string, ctx: KindContext): void;
  /** After the commit: caches, backfills and engines learn of the change (`after` undefined: deleted). */
  changed(workspaceId: string, key: string, after: { version: number; body: unknown } | undefined): Promise<void>;
}

/** The components whose caches and engines a committed change must reach (wired in src/app.ts). */
export interface KindEffects {
  plans: { prepare(workspaceId: string): Promise<void>; saved(workspaceId: string, plan: ReturnType<typeof compilePlan>): void; removed(workspaceId: string, key: string): void };
  identityRules: { invalidate(workspaceId: string): void };
  apply: { definitionChanged(workspaceId: string, kind: string, key: string, options?: { batchOnly?: boolean }): Promise<void> };
  sqlTraits: { wake(): void; forget(workspaceId: string, key: string): void };
  delivery: {
    channels: { changed(workspaceId: string, key: string): void };
    templates: { changed(workspaceId: string, key: string): void };
    renderer: { check(t: Template): Promise<void> };
  };
  catalogs: { changed(workspaceId: string, key: string, deleted: boolean): void };
  journeys: {
    prepare(workspaceId: string): Promise<void>;
    engine: { setStatus(workspaceId: string, key: string, status: 'archived'): void };
    stage: { wake(): void };
    store: { setGuardrails(workspaceId: string, g: ReturnType<typeof parseGuardrails>, at: number): void };
  };
  sourcesChanged(): void;
  now(): number;
  /** Signals, monitors and alert rules (src/operations): re-read after a change. */
  operations?: { definitionsChanged(workspaceId: string): Promise<void> };
  /** Aliases applied at collection (src/migrations/aliases.ts): every collecting thread learns of a change. */
  aliases?: { changed(workspaceId: string, body: Aliases | undefined): Promise<void> };
  /** Models (src/models): a deleted model's runs and values go; a changed one is rescheduled. */
  models?: { changed(workspaceId: string, key: string, deleted: boolean): Promise<void> };
  /** Experiments (src/experiments): the cache the journey engine reads. */
  experiments?: { changed(workspaceId: string, key: string): Promise<void> };
  /** The data dictionary (src/metadata): classifications are cached for masking. */
  metadata?: { dictionaryChanged(workspaceId: string): void };
  /** Personalization (src/personalize): cached settings and decisions are read again; a deleted decision's log goes. */
  personalize?: { changed(workspaceId: string, kind: string, key: string, deleted: boolean): void };
  /** Event and webhook functions, SQL models (src/transforms). */
  transforms?: TransformsEffects;
  /** The SSRF guard (src/network): channel and alert URLs written as refused addresses are refused on save. */
  destinations?: DestinationGuard;
}

export const SETTINGS_KIND = 'workspace-settings';
export const SOURCES_KIND = 'sources';

/** Workspace-wide settings of workspace as code (kind `workspace-settings`, one per workspace). */
export const WorkspaceSettingsBody = Type.Object(
  {
    strict: Type.Optional(Type.Boolean({ description: 'Refuse a plan or apply whose audiences, traits or journeys name an event or property that neither a tracking plan nor the stored history knows (default false: warn).' })),
  },
  { additionalProperties: false, description: 'Settings of workspace as code (kind `workspace-settings`, key `default`).' },
);

// The same options as the admin API's validator (src/server/http.ts), so a file and an API body are read alike.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, coerceTypes: 'array', useDefaults: true, strict: false, allowUnionTypes: true }));
const validators = new Map<TSchema, ValidateFunction>();

/** The schema check the admin API applies to a body before its route runs; returns a copy with defaults filled in. */
export function checkShape<T>(schema: TSchema, body: unknown): T {
  let validate = validators.get(schema);
  if (!validate) validators.set(schema, (validate = ajv.compile(schema)));
  const copy = structuredClone(body);
  if (!validate(copy)) {
    const errors = validate.errors ?? [];
    const extra = errors.find((e) => e.keyword === 'additionalProperties');
    if (extra) {
      const field = (extra.params as { additionalProperty: string }).additionalProperty;
      const parent = extra.instancePath.slice(1).replace(/\//g, '.');
      const path = parent ? `${parent}.${field}` : field;
      throw badRequest('unknown_field', `${path}: is not a known field here`, path);
    }
    const p = describeAjvErrors(errors);
    throw badRequest(p.code, p.message, p.path);
  }
  return copy as T;
}

const listOf = <T>(state: WorkspaceState, kind: string) => [...(state.get(kind) ?? new Map<string, unknown>()).entries()] as [string, T][];
const quoted = (keys: string[]) => keys.map((k) => `'${k}'`).join(', ');

/** The schemas of the definable kinds, for the published workspace schema (no running components needed). */
export const KIND_SCHEMAS: { kind: string; schema: TSchema; singleton?: boolean; description: string }[] = [
  { kind: SETTINGS_KIND, schema: WorkspaceSettingsBody, singleton: true, description: 'Settings of workspace as code.' },
  ALIASES_KIND_SCHEMA,
  { kind: TRACKING_PLAN_KIND, schema: TrackingPlanBody, description: 'A tracking plan (docs/tracking-plans.md).' },
  { kind: SOURCES_KIND, schema: SourceBody, description: 'A source; its write key is shown once, in the answer to the apply that creates it.' },
  { kind: IDENTITY_RULES_KIND, schema: IdentityRulesBody, description: "Identity rules; the workspace resolves with the ones keyed 'default'." },
  { kind: CATALOG_KIND, schema: CatalogBody, description: 'A catalog definition (its rows are data, not workspace as code).' },
  { kind: TRAITS, schema: TraitDefinitionSchema, description: 'A computed trait.' },
  {
    kind: AUDIENCE_KIND,
    schema: Type.Object({ ...AudienceBody.properties, condition: ConditionSchema }, { additionalProperties: false }),
    description: 'An audience.',
  },
  { kind: CHANNEL_KIND, schema: ChannelBody, description: 'A channel; secrets only by reference: { env: NAME }.' },
  { kind: TEMPLATE_KIND, schema: TemplateBody, description: 'A message template.' },
  { kind: GUARDRAILS_KIND, schema: GuardrailsBody, singleton: true, description: 'Guardrails of every journey send.' },
  EXPERIMENTS_KIND_SCHEMA,
  {
    kind: JOURNEY_KIND,
    schema: Type.Object({ ...JourneyBody.properties, nodes: Type.Record(Type.String(), Type.Union(Object.values(NODE_SCHEMAS))) }, { additionalProperties: false }),
    description: 'A journey (docs/journeys.md).',
  },
  ...OPERATIONS_KIND_SCHEMAS,
  MODELS_KIND_SCHEMA,
  ...PERSONALIZE_KIND_SCHEMAS,
  DICTIONARY_KIND_SCHEMA,
  ...TRANSFORMS_KIND_SCHEMAS,
];

/**
 * The registry of definable kinds, in dependency order (a kind's definitions may name those of kinds before it):
 * validation, commit side effects and exports follow this order.
 */
export function createWorkspaceKinds(fx: KindEffects): WorkspaceKind[] {
  const kinds: WorkspaceKind[] = [
    {
      kind: SETTINGS_KIND,
      schema: WorkspaceSettingsBody,
      singleton: true,
      validate: async (body) => checkShape(WorkspaceSettingsBody, body),
      changed: async () => undefined,
    },
    // Before tracking plans: a plan checks messages after collection has applied the aliases.
    aliasesKind(checkShape, async (ws, body) => fx.aliases?.changed(ws, body)),
    {
      kind: TRACKING_PLAN_KIND,
      schema: TrackingPlanBody,
      async validate(body) {
        const plan = checkShape<TrackingPlan>(TrackingPlanBody, body);
        compilePlan(plan);
        return plan;
      },
      checkDelete(key, ctx) {
        const users = listOf<{ trackingPlan?: string }>(ctx.proposed, SOURCES_KIND).filter(([, s]) => s.trackingPlan === key).map(([k]) => k);
        // As DELETE /api/v1/tracking-plans refuses: deleting a plan in use would silently stop checking those sources.
        if (users.length) throw new TandemError('in_use', `tracking plan '${key}' is used by source ${quoted(users)}; point them elsewhere first`, 409);
      },
      async changed(workspaceId, key, after) {
        await fx.plans.prepare(workspaceId);
        if (after) fx.plans.saved(workspaceId, compilePlan(after.body as TrackingPlan, after.version));
        else fx.plans.removed(workspaceId, key);
      },
    },
    {
      kind: SOURCES_KIND,
      schema: SourceBody,
      validate: async (body) => checkShape(SourceBody, body),
      changed: async () => fx.sourcesChanged(),
    },
    {
      kind: IDENTITY_RULES_KIND,
      schema: IdentityRulesBody,
      validate: async (body) => compileIdentityRules(body).body,
      changed: async (workspaceId, key) => {
        if (key === 'default') fx.identityRules.invalidate(workspaceId);
      },
    },
    {
      kind: CATALOG_KIND,
      schema: CatalogBody,
      async validate(body, ctx) {
        const catalog = checkShape<{ key: string; keyField: string; schema?: object }>(CatalogBody, body);
        checkCatalog(catalog as Parameters<typeof checkCatalog>[0]);
        const before = ctx.current.get(CATALOG_KIND)?.get(catalog.key) as { keyField: string } | undefined;
        if (before && before.keyField !== catalog.keyField) {
          throw badRequest('key_field_changed', `keyField cannot change from '${before.keyField}' to '${catalog.keyField}' while the catalog has rows; delete and re-create it`, 'keyField');
        }
        return catalog;
      },
      changed: async (workspaceId, key, after) => fx.catalogs.changed(workspaceId, key, after === undefined),
    },
    {
      kind: TRAITS,
      schema: TraitDefinitionSchema,
      validate: async (body) => parseTraitDefinition(body),
      checkDelete(key, ctx) {
        const readers = listOf<{ condition: Condition }>(ctx.proposed, AUDIENCES).filter(([, a]) => safeDeps(a.condition)?.computed.has(key)).map(([k]) => k);
        if (readers.length) throw new TandemError('in_use', `trait '${key}' is read by audience ${quoted(readers)}; change them first`, 409);
      },
      async changed(workspaceId, key, after) {
        const sql = after !== undefined && isSqlTrait(after.body as TraitDefinition);
        await fx.apply.definitionChanged(workspaceId, TRAITS, key, after ? { batchOnly: sql } : {});
        if (sql) fx.sqlTraits.wake();
        if (!after) fx.sqlTraits.forget(workspaceId, key);
      },
    },
    {
      kind: AUDIENCE_KIND,
      schema: AudienceBody,
      async validate(body, ctx) {
        const audience = checkShape<AudienceBody>(AudienceBody, body);
        // Against the proposed audiences: references to audiences created by the same apply resolve.
        const others = new Map(listOf<AudienceBody>(ctx.proposed, AUDIENCE_KIND).filter(([, a]) => a !== null && typeof a === 'object' && typeof a.condition === 'object' && a.condition !== null));
        return validateAudience(audience, others);
      },
      checkDelete(key, ctx) {
        const users = listOf<AudienceBody>(ctx.proposed, AUDIENCE_KIND).filter(([k, a]) => k !== key && safeDeps(a.condition)?.audiences.has(key)).map(([k]) => k);
        if (users.length) throw new TandemError('in_use', `audience '${key}' is referenced by audience ${quoted(users)}; change them first`, 409);
      },
      changed: (workspaceId, key) => fx.apply.definitionChanged(workspaceId, AUDIENCES, key),
    },
    {
      kind: CHANNEL_KIND,
      schema: ChannelBody,
      validate: async (body) => checkChannelDestinations(checkChannel(checkShape<ChannelDefinition>(ChannelBody, body)), fx.destinations ?? STRICT_GUARD),
      changed: async (workspaceId, key) => fx.delivery.channels.changed(workspaceId, key),
    },
    {
      kind: TEMPLATE_KIND,
      schema: TemplateBody,
      async validate(body) {
        const template = checkShape<Template>(TemplateBody, body);
        await fx.delivery.renderer.check(template);
        return template;
      },
      changed: async (workspaceId, key) => fx.delivery.templates.changed(workspaceId, key),
    },
    {
      kind: GUARDRAILS_KIND,
      schema: GuardrailsBody,
      singleton: true,
      validate: async (body) => parseGuardrails(body),
      async changed(workspaceId, _key, after) {
        fx.journeys.store.setGuardrails(workspaceId, after ? parseGuardrails(after.body) : {}, fx.now());
      },
    },
    // Before journeys: a split may be bound to an experiment.
    experimentsKind(checkShape, async (ws, key) => fx.experiments?.changed(ws, key)),
    {
      kind: JOURNEY_KIND,
      schema: JourneyBody,
      validate: async (body) => parseJourney(body),
      async changed(workspaceId, key, after) {
        // prepare() records every saved version the journey tables have not seen (this one) and drops cached triggers.
        if (!after) fx.journeys.engine.setStatus(workspaceId, key, 'archived');
        await fx.journeys.prepare(workspaceId);
        fx.journeys.stage.wake();
      },
    },
    ...operationsKinds(checkShape, async (ws) => fx.operations?.definitionsChanged(ws), (message) => new TandemError('in_use', message, 409), fx.destinations),
    modelsKind(checkShape, async (ws, key, deleted) => fx.models?.changed(ws, key, deleted)),
    ...personalizeKinds(checkShape, async (ws, kind, key, deleted) => fx.personalize?.changed(ws, kind, key, deleted)),
    dictionaryKind(checkShape, async (ws) => fx.metadata?.dictionaryChanged(ws)),
    ...transformsKinds(checkShape, () => fx.transforms),
  ];
  return kinds;
}

function safeDeps(condition: unknown) {
  try {
    return conditionDependencies(condition as Condition);
  } catch {
    return undefined;
  }
}
