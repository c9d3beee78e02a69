import type { Store } from '../core/ports/store.js';
import { parseCondition } from '../conditions/parse.js';
import type { Condition } from '../conditions/condition.js';
import { AUDIENCES, audienceDefinition, definitionId, DependencyIndex, shadowOf, TRAITS, type ApplyDefinition } from './definitions.js';

/** How the traits library plugs in: definitions of kind `traits` as apply definitions (wired in app.ts). */
export interface TraitSupport {
  /** Undefined for a trait the fast loop does not evaluate (batch-only SQL traits). */
  definition(key: string, version: number, body: unknown): ApplyDefinition | undefined;
}

/** The stored body of an audience (kind `audiences`): see src/audiences/schema.ts. */
interface AudienceBody {
  key: string;
  condition: Condition;
}

/**
 * Which version of each definition answers (the apply store's active versions) and the stored bodies of earlier
 * versions. Without it the latest version of every definition is the active one.
 */
export interface ActiveVersions {
  activeVersions(workspaceId: string): Map<string, number>;
  definitionBody(workspaceId: string, kind: string, key: string, version: number): unknown;
}

/**
 * The definitions of each workspace with their dependency index, cached until a definition changes. A definition
 * whose latest version is newer than its active one is evaluated twice: the active version answers, the latest
 * runs beside it as its shadow until the apply stage switches it in (docs/audiences.md, "Changing a definition").
 */
export class DefinitionRegistry {
  private cache = new Map<string, Promise<DependencyIndex>>();
  private traits: TraitSupport | undefined;
  private versions: ActiveVersions | undefined;

  constructor(private readonly store: Store, private readonly onError: (message: string) => void = () => undefined) {}

  useTraits(traits: TraitSupport): void {
    this.traits = traits;
    this.cache.clear();
  }

  for(workspaceId: string): Promise<DependencyIndex> {
    let index = this.cache.get(workspaceId);
    if (!index) {
      index = this.load(workspaceId);
      this.cache.set(workspaceId, index);
      index.catch(() => this.cache.delete(workspaceId));
    }
    return index;
  }

  useVersions(versions: ActiveVersions): void {
    this.versions = versions;
    this.cache.clear();
  }

  /** The index as loaded before any invalidation since (undefined when not loaded). */
  peek(workspaceId: string): Promise<DependencyIndex> | undefined {
    return this.cache.get(workspaceId);
  }

  invalidate(workspaceId: string): void {
    this.cache.delete(workspaceId);
  }

  private async load(workspaceId: string): Promise<DependencyIndex> {
    const defs: ApplyDefinition[] = [];
    const active = this.versions?.activeVersions(workspaceId) ?? new Map<string, number>();
    const audience = (key: string, version: number, body: AudienceBody) => audienceDefinition(key, version, parseCondition(body.condition, 'condition'));
    const trait = (key: string, version: number, body: unknown) => this.traits?.definition(key, version, body);
    const add = <B>(kind: string, key: string, version: number, body: B, build: (key: string, version: number, body: B) => ApplyDefinition | undefined) => {
      let latest: ApplyDefinition | undefined;
      try {
        latest = build(key, version, body);
      } catch (error) {
        this.onError(`${kind === AUDIENCES ? 'audience' : 'trait'} '${key}' version ${version} is not valid and is not evaluated: ${(error as Error).message}`);
        return;
      }
      if (!latest) return;
      const was = active.get(definitionId(kind, key));
      let answering: ApplyDefinition | undefined;
      if (was !== undefined && was < version) {
        try {
          const old = this.versions?.definitionBody(workspaceId, kind, key, was) as B | undefined;
          answering = old === undefined ? undefined : build(key, was, old);
        } catch {
          answering = undefined;
        }
      }
      // The active version answers and the latest is its shadow; without a usable active version the latest answers.
      if (answering) defs.push(answering, shadowOf(latest));
      else defs.push(latest);
    };
    for (const d of await this.store.definitions.list<AudienceBody>(workspaceId, AUDIENCES)) add(AUDIENCES, d.key, d.version, d.body, audience);
    if (this.traits) for (const d of await this.store.definitions.list<unknown>(workspaceId, TRAITS)) add(TRAITS, d.key, d.version, d.body, trait);
    return new DependencyIndex(defs);
  }
}
