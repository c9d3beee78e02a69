import type { Store } from '../core/ports/store.js';
import { parseCondition } from '../conditions/parse.js';
import type { Condition } from '../conditions/condition.js';
import { AUDIENCES, audienceDefinition, DependencyIndex, type ApplyDefinition } from './definitions.js';

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

/** The definitions of each workspace with their dependency index, cached until a definition changes. */
export class DefinitionRegistry {
  private cache = new Map<string, Promise<DependencyIndex>>();
  private traits: TraitSupport | undefined;

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

  invalidate(workspaceId: string): void {
    this.cache.delete(workspaceId);
  }

  private async load(workspaceId: string): Promise<DependencyIndex> {
    const defs: ApplyDefinition[] = [];
    for (const d of await this.store.definitions.list<AudienceBody>(workspaceId, AUDIENCES)) {
      try {
        defs.push(audienceDefinition(d.key, d.version, parseCondition(d.body.condition, 'condition')));
      } catch (error) {
        this.onError(`audience '${d.key}' version ${d.version} is not valid and is not evaluated: ${(error as Error).message}`);
      }
    }
    if (this.traits) {
      for (const d of await this.store.definitions.list<unknown>(workspaceId, 'traits')) {
        try {
          const def = this.traits.definition(d.key, d.version, d.body);
          if (def) defs.push(def);
        } catch (error) {
          this.onError(`trait '${d.key}' version ${d.version} is not valid and is not evaluated: ${(error as Error).message}`);
        }
      }
    }
    return new DependencyIndex(defs);
  }
}
