import type { TSchema } from '@sinclair/typebox';
import { TRAITS } from '../apply/definitions.js';
import { badRequest } from '../core/errors.js';
import type { WorkspaceKind } from '../workspace/kinds.js';
import { checkModel, MODEL_KIND, ModelBody, outputOf, type ModelDefinition } from './definition.js';

type CheckShape = <T>(schema: TSchema, body: unknown) => T;

export const MODELS_KIND_SCHEMA = { kind: MODEL_KIND, schema: ModelBody, description: 'A model: lifetime value, propensity or send time (docs/models.md).' };

/** Refuses an output trait that a trait definition or another model already owns (in `traits` and `models` as given). */
export function checkOutput(def: ModelDefinition, traitKeys: Iterable<string>, models: Iterable<[string, unknown]>): void {
  const output = outputOf(def);
  const field = def.output !== undefined ? 'output' : 'key';
  for (const t of traitKeys) if (t === output) throw badRequest('output_taken', `${field}: '${output}' is a computed trait definition; name the model's output differently (output: ...)`, field);
  for (const [key, body] of models) {
    if (key === def.key || body === null || typeof body !== 'object') continue;
    if (outputOf(body as ModelDefinition) === output) throw badRequest('output_taken', `${field}: model '${key}' already writes the computed trait '${output}'`, field);
  }
}

/** `models` as a workspace kind: the same checks as its routes; a change reaches the models' scheduler. */
export function modelsKind(checkShape: CheckShape, changed: (workspaceId: string, key: string, deleted: boolean) => Promise<void>): WorkspaceKind {
  return {
    kind: MODEL_KIND,
    schema: ModelBody,
    async validate(body, ctx) {
      const def = checkModel(checkShape<ModelDefinition>(ModelBody, body));
      checkOutput(def, (ctx.proposed.get(TRAITS) ?? new Map()).keys(), (ctx.proposed.get(MODEL_KIND) ?? new Map()).entries());
      return def;
    },
    changed: (workspaceId, key, after) => changed(workspaceId, key, after === undefined),
  };
}
