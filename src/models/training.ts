import type { JsonValue } from '../conditions/model.js';
import type { SqlValue } from '../core/ports/warehouse.js';

/** What a trainer gets: the workspace's warehouse (read only), the time of training, and a progress callback. */
export interface TrainingContext {
  workspaceId: string;
  now: number;
  sql(sql: string, params: SqlValue[]): Promise<Record<string, unknown>[]>;
  progress(stage: string, fraction: number): void;
}

export interface Trained {
  result: Record<string, unknown>;
  artefact: unknown;
  /** Per-profile values for the model's computed trait. */
  values: Map<string, JsonValue>;
}

/** Rounds for display, keeping JSON small and readable (the artefact keeps full precision). */
export const round = (x: number, digits = 6): number => (Number.isFinite(x) ? Number(x.toPrecision(digits)) : x);
