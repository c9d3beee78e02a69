import { evaluate, type Condition, type ReferenceInput } from '../conditions/index.js';
import { pathSegments, valueAt } from '../conditions/values.js';

/** One leaf of a condition as it was evaluated, with the value it read where there is one. */
export interface SeenValue {
  condition: Record<string, unknown>;
  result: boolean;
  value?: unknown;
}

/**
 * Evaluates a condition (with the reference interpreter) and records what each leaf saw: trait and computed
 * values, catalog rows and keys, and the result of every other kind. This is what the trace shows.
 */
export function explain(condition: Condition, input: ReferenceInput): { result: boolean; seen: SeenValue[] } {
  const seen: SeenValue[] = [];
  const walk = (c: Condition): void => {
    const node = c as Record<string, unknown>;
    if ('all' in node || 'any' in node) {
      for (const child of (node.all ?? node.any) as Condition[]) walk(child);
      return;
    }
    if ('not' in node) {
      walk(node.not as Condition);
      return;
    }
    const result = evaluate(c, input);
    const entry: SeenValue = { condition: node, result };
    if (typeof node.trait === 'string') entry.value = valueAt(input.profile.traits, pathSegments(node.trait)) ?? null;
    else if (typeof node.computed === 'string') entry.value = valueAt(input.profile.computed, pathSegments(node.computed)) ?? null;
    else if (typeof node.catalog === 'string') entry.value = catalogSeen(node, input);
    seen.push(entry);
  };
  walk(condition);
  return { result: evaluate(condition, input), seen };
}

function catalogSeen(node: Record<string, unknown>, input: ReferenceInput): unknown {
  const from = node.key_from as { trait?: string; last_event?: string; property?: string };
  let key: unknown;
  if (from.trait !== undefined) key = valueAt(input.profile.traits, pathSegments(from.trait));
  else {
    let ts = -Infinity;
    for (const e of input.events) {
      if (e.event !== from.last_event || e.timestamp > input.now) continue;
      const k = valueAt(e.properties, pathSegments(from.property!));
      if (typeof k === 'string' && e.timestamp >= ts) (ts = e.timestamp), (key = k);
    }
  }
  if (typeof key !== 'string') return { key: key ?? null, row: null };
  return { key, row: input.catalogs.get(node.catalog as string, key) ?? null };
}
