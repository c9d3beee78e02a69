import type { TSchema } from '@sinclair/typebox';
import type { WorkspaceKind } from '../workspace/kinds.js';
import { checkExperiment, EXPERIMENT_KIND, ExperimentBody } from './definition.js';

type CheckShape = <T>(schema: TSchema, body: unknown) => T;

export const EXPERIMENTS_KIND_SCHEMA = { kind: EXPERIMENT_KIND, schema: ExperimentBody, description: 'An experiment: arms, targeting, holdouts, metrics (docs/experiments.md).' };

/** `experiments` as a workspace kind: the same checks as its routes; a change reaches the cache the journey engine reads. */
export function experimentsKind(checkShape: CheckShape, changed: (workspaceId: string, key: string) => Promise<void>): WorkspaceKind {
  return {
    kind: EXPERIMENT_KIND,
    schema: ExperimentBody,
    validate: async (body) => checkExperiment(checkShape<ExperimentBody>(ExperimentBody, body)),
    changed: (workspaceId, key) => changed(workspaceId, key),
  };
}
