import type { Condition } from '../conditions/condition.js';
import { parseCondition } from '../conditions/parse.js';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import type { ApplyStage } from '../apply/apply-stage.js';
import type { ApplyStore, MemberRow } from '../apply/ports.js';
import { AUDIENCE_KIND, type AudienceBody } from './schema.js';
import type { WarehouseConditions } from './warehouse-inputs.js';

export interface AudiencesDeps {
  store: Store;
  apply: ApplyStage;
  applyStore: ApplyStore;
  conditions: WarehouseConditions;
  clock: Clock;
}

/** Every `in_audience` reference of a condition with its path in the definition (`condition.all[1].in_audience`). */
export function audienceReferencesWithPaths(condition: Condition, path = 'condition'): { key: string; path: string }[] {
  const c = condition as Record<string, unknown>;
  if (Array.isArray(c.all)) return (c.all as Condition[]).flatMap((child, i) => audienceReferencesWithPaths(child, `${path}.all[${i}]`));
  if (Array.isArray(c.any)) return (c.any as Condition[]).flatMap((child, i) => audienceReferencesWithPaths(child, `${path}.any[${i}]`));
  if (c.not !== undefined) return audienceReferencesWithPaths(c.not as Condition, `${path}.not`);
  if (typeof c.in_audience === 'string') return [{ key: c.in_audience, path: `${path}.in_audience` }];
  return [];
}

/**
 * Audiences (kind `audiences`, issue #4 parts 5 and 6): definitions validated on save (the condition, its audience
 * references, no cycles), memberships kept by the apply stage, previews answered with SQL over the warehouse.
 */
export class Audiences {
  constructor(private readonly deps: AudiencesDeps) {}

  async list(workspaceId: string): Promise<AudienceBody[]> {
    return (await this.deps.store.definitions.list<AudienceBody>(workspaceId, AUDIENCE_KIND)).map((d) => d.body);
  }

  async get(workspaceId: string, key: string): Promise<{ version: number; body: AudienceBody }> {
    const found = await this.deps.store.definitions.get<AudienceBody>(workspaceId, AUDIENCE_KIND, key);
    if (!found) throw notFound('audience', key);
    return found;
  }

  /**
   * Checks a definition against the workspace's other audiences: the condition parses, every referenced audience
   * exists, and the references form no cycle (409 with the cycle's path of keys).
   */
  async validate(workspaceId: string, body: AudienceBody): Promise<AudienceBody> {
    return validateAudience(body, new Map((await this.list(workspaceId)).map((a) => [a.key, a])));
  }

  async create(workspaceId: string, body: AudienceBody): Promise<number> {
    if (await this.deps.store.definitions.get(workspaceId, AUDIENCE_KIND, body.key)) throw new TandemError('conflict', `audience '${body.key}' already exists; use PUT to change it`, 409, 'key');
    return this.save(workspaceId, await this.validate(workspaceId, body), 'audience.create');
  }

  async update(workspaceId: string, key: string, body: AudienceBody): Promise<number> {
    if (body.key !== key) throw badRequest('key_mismatch', `key in the body ('${body.key}') must equal the key in the path ('${key}')`, 'key');
    await this.get(workspaceId, key);
    return this.save(workspaceId, await this.validate(workspaceId, body), 'audience.update');
  }

  async remove(workspaceId: string, key: string): Promise<void> {
    await this.get(workspaceId, key);
    const users = (await this.list(workspaceId)).filter((a) => a.key !== key && audienceReferencesWithPaths(a.condition).some((r) => r.key === key)).map((a) => a.key);
    if (users.length) throw new TandemError('in_use', `audience '${key}' is referenced by audience ${users.map((k) => `'${k}'`).join(', ')}; change them first`, 409);
    await this.deps.store.definitions.remove(workspaceId, AUDIENCE_KIND, key);
    await this.deps.store.audit.add({ workspaceId, actor: 'admin', action: 'audience.delete', target: key }, this.deps.clock.now());
    await this.deps.apply.definitionChanged(workspaceId, AUDIENCE_KIND, key);
  }

  /** Size and a sample of a draft condition now, computed with SQL over the full history (nothing is stored). */
  async preview(workspaceId: string, raw: unknown, sample: number): Promise<{ size: number; sample: string[]; asOf: number }> {
    const condition = parseCondition(raw, 'condition');
    for (const ref of audienceReferencesWithPaths(condition)) {
      if (!(await this.deps.store.definitions.get(workspaceId, AUDIENCE_KIND, ref.key))) throw badRequest('unknown_audience', `${ref.path}: audience '${ref.key}' does not exist`, ref.path);
    }
    const asOf = this.deps.clock.now();
    return { ...(await this.deps.conditions.preview(workspaceId, condition, asOf, sample)), asOf };
  }

  async members(workspaceId: string, key: string, after: string, limit: number): Promise<MemberRow[]> {
    await this.get(workspaceId, key);
    return this.deps.applyStore.members(workspaceId, key, after, limit);
  }

  async size(workspaceId: string, key: string, from: number, to: number): Promise<{ size: number; before: number; points: { at: number; size: number }[] }> {
    await this.get(workspaceId, key);
    return { size: this.deps.applyStore.size(workspaceId, key), ...this.deps.applyStore.sizes(workspaceId, key, from, to) };
  }

  private async save(workspaceId: string, body: AudienceBody, action: string): Promise<number> {
    const version = await this.deps.store.definitions.put(workspaceId, AUDIENCE_KIND, body.key, body);
    await this.deps.store.audit.add({ workspaceId, actor: 'admin', action, target: body.key, detail: { version } }, this.deps.clock.now());
    await this.deps.apply.definitionChanged(workspaceId, AUDIENCE_KIND, body.key);
    return version;
  }
}

/**
 * Checks an audience against the workspace's audiences by key (the one saved is replaced by `body`): the condition
 * parses, every referenced audience exists, and the references form no cycle (409 with the cycle's path of keys).
 * Shared by the audiences API and workspace plan / apply (src/workspace/kinds.ts).
 */
export function validateAudience(body: AudienceBody, audiences: ReadonlyMap<string, { condition: Condition }>): AudienceBody {
  const condition = parseCondition(body.condition, 'condition');
  const others = new Map(audiences);
  others.delete(body.key);
  const refs = audienceReferencesWithPaths(condition);
  for (const ref of refs) {
    if (ref.key !== body.key && !others.has(ref.key)) throw badRequest('unknown_audience', `${ref.path}: audience '${ref.key}' does not exist`, ref.path);
  }
  // Depth-first from the new definition through the stored ones: a path back to it is a cycle.
  const readsOf = (key: string): string[] => (key === body.key ? refs.map((r) => r.key) : audienceReferencesWithPaths(others.get(key)?.condition ?? ({} as Condition)).map((r) => r.key));
  const cycle = findCycle(body.key, readsOf);
  if (cycle) {
    const first = refs.find((r) => r.key === cycle[1]);
    throw new TandemError('audience_cycle', `${first?.path ?? 'condition'}: audiences would reference each other in a cycle: ${cycle.join(' -> ')}`, 409, first?.path ?? 'condition');
  }
  return { ...body, condition };
}

/** A cycle through `start` (as a path of keys from start back to start), if any. */
export function findCycle(start: string, reads: (key: string) => string[]): string[] | undefined {
  const seen = new Set<string>();
  const walk = (key: string, path: string[]): string[] | undefined => {
    for (const next of reads(key)) {
      if (next === start) return [...path, start];
      if (seen.has(next)) continue;
      seen.add(next);
      const found = walk(next, [...path, next]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(start, [start]);
}
