import type { TSchema } from '@sinclair/typebox';
import type { KindContext, WorkspaceKind } from '../workspace/kinds.js';
import { checkDecision, DECISION_KIND, DecisionBody } from './definition.js';
import { checkExposure, PERSONALIZATION_KIND, PersonalizationBody } from './exposure.js';

type CheckShape = <T>(schema: TSchema, body: unknown) => T;
type Changed = (workspaceId: string, kind: string, key: string, deleted: boolean) => Promise<void>;

export const PERSONALIZE_KIND_SCHEMAS = [
  { kind: PERSONALIZATION_KIND, schema: PersonalizationBody, singleton: true, description: 'What POST /v1/personalize may return about a visitor (docs/personalization.md).' },
  { kind: DECISION_KIND, schema: DecisionBody, description: 'A decision point: offers, eligibility, ranking policy, caps, holdout (docs/personalization.md).' },
];

const audienceKeys = (ctx: KindContext) => new Set((ctx.proposed.get('audiences') ?? new Map()).keys());

/** `personalization` and `decisions` as workspace kinds: the same checks as their routes. */
export function personalizeKinds(checkShape: CheckShape, changed: Changed): WorkspaceKind[] {
  return [
    {
      kind: PERSONALIZATION_KIND,
      schema: PersonalizationBody,
      singleton: true,
      validate: async (body, ctx) => checkExposure(checkShape<PersonalizationBody>(PersonalizationBody, body), audienceKeys(ctx)),
      changed: (workspaceId, key, after) => changed(workspaceId, PERSONALIZATION_KIND, key, after === undefined),
    },
    {
      kind: DECISION_KIND,
      schema: DecisionBody,
      validate: async (body) => checkDecision(checkShape<DecisionBody>(DecisionBody, body)),
      changed: (workspaceId, key, after) => changed(workspaceId, DECISION_KIND, key, after === undefined),
    },
  ];
}
