import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { badRequest, TandemError } from '../core/errors.js';
import { describeAjvErrors } from '../core/json-schema.js';
import { ANONYMOUS_ID, DEVICE_ID, EMAIL, identifierKey, PHONE, USER_ID, type Identifier } from './model.js';

export const IDENTITY_RULES_KIND = 'identity-rules';
/** The rules a workspace resolves with; other keys are candidates (for simulation) and do not act. */
export const ACTIVE_RULES_KEY = 'default';

/** A string enum (a JSON Schema `enum`, so that a wrong value is reported with the allowed ones). */
const oneOf = <T extends string>(values: readonly T[], options: { default?: T; description?: string }) => Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

const TypeName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'Identifier type: user_id, anonymous_id, email, phone, device_id or a custom type.' });

export const SurvivorshipRule = Type.Object(
  {
    rule: oneOf(['last', 'first', 'most-frequent', 'source-priority'] as const, {
      description: 'last: the value with the latest event timestamp; first: the earliest; most-frequent: the value seen most often; source-priority: the value from the first listed source that sent one.',
    }),
    sources: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'Source keys, most trusted first (source-priority only).' })),
  },
  { additionalProperties: false },
);
export type SurvivorshipRule = Static<typeof SurvivorshipRule>;

/** The `identity-rules` definition: the workspace-as-code format and the body of PUT /api/v1/identity-rules/<key>. */
export const IdentityRulesBody = Type.Object(
  {
    key: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description: `Stable identifier; the workspace resolves with '${ACTIVE_RULES_KEY}'.` }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    priority: Type.Array(TypeName, {
      default: [USER_ID, EMAIL, PHONE, ANONYMOUS_ID, DEVICE_ID],
      description: 'Identifier types, most trusted first. Types not listed rank below all listed ones. When a merge would break a limit, the lowest-priority identifiers are dropped first.',
    }),
    limits: Type.Record(TypeName, Type.Integer({ minimum: 1 }), { default: { [USER_ID]: 1 }, additionalProperties: false, description: 'Most identifiers of a type one profile may hold.' }),
    defaultLimit: Type.Integer({ minimum: 1, default: 5, description: 'Limit for types not in `limits`.' }),
    phoneRegion: Type.String({ pattern: '^[A-Z]{2}$', default: 'US', description: 'Region (ISO 3166 alpha-2) assumed for phone numbers written without a country code.' }),
    blocked: Type.Object(
      {
        values: Type.Array(Type.String(), { default: ['', 'null', 'undefined', 'anonymous', '-1'], description: 'Values never used as identifiers (compared trimmed, case-insensitively).' }),
        patterns: Type.Array(Type.String(), { default: ['^[0-]*$'], description: 'Regular expressions; a value matching any is never used as an identifier.' }),
        maxLength: Type.Integer({ minimum: 1, default: 1024, description: 'Longer values are never used as identifiers.' }),
      },
      { default: {}, additionalProperties: false },
    ),
    traitIdentifiers: Type.Array(
      Type.Object(
        {
          path: Type.String({ pattern: '^[A-Za-z_$][\\w$]*(\\.[A-Za-z_$][\\w$]*)*$', description: 'Dotted path in the message, e.g. traits.crm_id or context.traits.crm_id.' }),
          type: TypeName,
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'Further identifiers read from message fields.' },
    ),
    survivorship: Type.Object(
      {
        default: oneOf(['last', 'first', 'most-frequent'] as const, { default: 'last', description: 'Rule for traits without their own.' }),
        traits: Type.Record(Type.String(), SurvivorshipRule, { default: {}, description: 'Per-trait rules, by trait name.' }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type IdentityRulesBody = Static<typeof IdentityRulesBody>;

/** Rules ready for resolution: blocked patterns compiled, priorities as ranks. */
export interface IdentityRules {
  body: IdentityRulesBody;
  /** Lower is more trusted; types not listed rank after every listed type. */
  rank(type: string): number;
  limit(type: string): number;
  isBlocked(value: string): boolean;
  /** True for an identifier on the workspace's blocked-identifiers list (a value blocked for one type). */
  isBlockedIdentifier(type: string, value: string): boolean;
  /** Keys (identifierKey) of the identifiers an unmerge separated from this one: they never share a profile. */
  separatedFrom(key: string): ReadonlySet<string> | undefined;
  /** Whether any separation exists (the resolver skips the check otherwise). */
  readonly separations: number;
}

/** The graph constraints kept beside the rules: blocked identifiers and separated pairs (docs/decisions/0007). */
export interface GraphConstraints {
  blocked: Identifier[];
  separations: [Identifier, Identifier][];
}

/** The rules with the workspace's graph constraints added (those already on `rules` are kept). */
export function withConstraints(rules: IdentityRules, constraints: GraphConstraints): IdentityRules {
  if (constraints.blocked.length === 0 && constraints.separations.length === 0) return rules;
  const blocked = new Set(constraints.blocked.map(identifierKey));
  const separated = new Map<string, Set<string>>();
  const add = (a: string, b: string) => {
    let s = separated.get(a);
    if (!s) separated.set(a, (s = new Set()));
    s.add(b);
  };
  for (const [a, b] of constraints.separations) (add(identifierKey(a), identifierKey(b)), add(identifierKey(b), identifierKey(a)));
  for (const [key, others] of separated) for (const other of rules.separatedFrom(key) ?? []) others.add(other);
  return {
    ...rules,
    isBlockedIdentifier: (type, value) => blocked.has(identifierKey({ type, value })) || rules.isBlockedIdentifier(type, value),
    separatedFrom: (key) => separated.get(key) ?? rules.separatedFrom(key),
    separations: rules.separations + constraints.separations.length,
  };
}

const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: false });
const validateBody = ajv.compile(IdentityRulesBody);

/** Validates a rules body (filling defaults) and compiles it; errors name the offending field. */
export function compileIdentityRules(input: unknown): IdentityRules {
  const body = structuredClone(input ?? {}) as IdentityRulesBody;
  if (!validateBody(body)) {
    const p = describeAjvErrors(validateBody.errors!);
    throw badRequest(p.code, p.message, p.path);
  }
  return compileValidated(body);
}

function compileValidated(body: IdentityRulesBody): IdentityRules {
  const seen = new Set<string>();
  body.priority.forEach((type, i) => {
    if (seen.has(type)) throw badRequest('invalid_value', `priority lists '${type}' twice`, `priority[${i}]`);
    seen.add(type);
  });
  const patterns = body.blocked.patterns.map((source, i) => {
    try {
      return new RegExp(source, 'u');
    } catch (error) {
      throw badRequest('invalid_value', `blocked.patterns[${i}] is not a valid regular expression: ${(error as Error).message}`, `blocked.patterns[${i}]`);
    }
  });
  for (const [name, rule] of Object.entries(body.survivorship.traits)) {
    if (rule.rule === 'source-priority' && !rule.sources) throw badRequest('required', `survivorship.traits.${name}.sources is required by rule source-priority`, `survivorship.traits.${name}.sources`);
  }
  const ranks = new Map(body.priority.map((t, i) => [t, i]));
  const blockedValues = new Set(body.blocked.values.map((v) => v.trim().toLowerCase()));
  return {
    body,
    rank: (type) => ranks.get(type) ?? body.priority.length,
    limit: (type) => body.limits[type] ?? body.defaultLimit,
    isBlocked(value) {
      const v = value.trim();
      if (v.length > body.blocked.maxLength) return true;
      if (blockedValues.has(v.toLowerCase())) return true;
      return patterns.some((p) => p.test(v));
    },
    isBlockedIdentifier: () => false,
    separatedFrom: () => undefined,
    separations: 0,
  };
}

/** The rules a workspace gets when it has defined none. */
export const defaultIdentityRules = (): IdentityRules => compileIdentityRules({ key: ACTIVE_RULES_KEY });

/** Reads of the stored definitions that the rules need (a slice of the Store port). */
export interface DefinitionReader {
  get<T>(workspaceId: string, kind: string, key: string): Promise<{ version: number; body: T } | undefined>;
}

/**
 * The active rules per workspace, cached until the definition changes. A stored body that no longer compiles
 * (it was valid when saved) is a fault of ours, reported as such rather than silently replaced by defaults.
 */
export class ActiveIdentityRules {
  private cache = new Map<string, Promise<IdentityRules>>();

  /** `constraints`: the workspace's blocked identifiers and separations (the identity store), added to the rules. */
  constructor(
    private readonly definitions: DefinitionReader,
    private readonly constraints?: { constraints(workspaceId: string): Promise<GraphConstraints> },
  ) {}

  for(workspaceId: string): Promise<IdentityRules> {
    let rules = this.cache.get(workspaceId);
    if (!rules) {
      rules = this.load(workspaceId);
      this.cache.set(workspaceId, rules);
      rules.catch(() => this.cache.delete(workspaceId));
    }
    return rules;
  }

  invalidate(workspaceId: string): void {
    this.cache.delete(workspaceId);
  }

  private async load(workspaceId: string): Promise<IdentityRules> {
    const rules = await this.loadRules(workspaceId);
    return this.constraints ? withConstraints(rules, await this.constraints.constraints(workspaceId)) : rules;
  }

  private async loadRules(workspaceId: string): Promise<IdentityRules> {
    const stored = await this.definitions.get<IdentityRulesBody>(workspaceId, IDENTITY_RULES_KIND, ACTIVE_RULES_KEY);
    if (!stored) return defaultIdentityRules();
    try {
      return compileIdentityRules(stored.body);
    } catch (error) {
      throw new TandemError('invalid_stored_rules', `stored identity rules '${ACTIVE_RULES_KEY}' v${stored.version} do not compile: ${(error as Error).message}`, 500);
    }
  }
}
