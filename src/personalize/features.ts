import { evaluate, type CatalogLookup, type ProfileView } from '../conditions/index.js';
import type { CompiledDecision } from './definition.js';

/** What a feature reads: the condition view of the profile (context under traits.context) and the catalogs. */
export interface FeatureInput {
  view: ProfileView;
  context: Record<string, unknown>;
  now: number;
  catalogs: CatalogLookup;
}

export const INTERCEPT = '_intercept';

function at(root: unknown, path: string[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** `traits.x`, `computed.y` or `context.geo.region` read from the request's view. */
export function readPath(input: FeatureInput, path: string): unknown {
  const [root, ...rest] = path.split('.');
  const base = root === 'traits' ? input.view.traits : root === 'computed' ? input.view.computed : root === 'context' ? input.context : undefined;
  return at(base, rest);
}

/** A number (a boolean counts as 1 or 0) times the scale; the default (unscaled) when absent or not a number. */
function scaled(v: unknown, scale = 1, fallback = 0): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v * scale;
  if (typeof v === 'boolean') return Number(v) * scale;
  return fallback;
}

/** The feature values by key, intercept first, in definition order. */
export function featureValues(decision: CompiledDecision, input: FeatureInput): Record<string, number> {
  const out: Record<string, number> = { [INTERCEPT]: 1 };
  for (const f of decision.features) {
    if ('when' in f) out[f.key] = f.parsed && evaluate(f.parsed, { profile: input.view, events: [], now: input.now, catalogs: input.catalogs }) ? 1 : 0;
    else if ('catalog' in f) {
      const key = readPath(input, f.key_from);
      const row = typeof key === 'string' ? input.catalogs.get(f.catalog, key) : undefined;
      out[f.key] = scaled(row === undefined ? undefined : at(row, f.field.split('.')), f.scale, f.default);
    } else {
      out[f.key] = scaled(readPath(input, f.value), f.scale, f.default);
    }
  }
  return out;
}

/** The vector a model reads: intercept, then the features in definition order. */
export const vectorOf = (decision: CompiledDecision, values: Record<string, number>): number[] => [values[INTERCEPT] ?? 1, ...decision.features.map((f) => values[f.key] ?? 0)];
