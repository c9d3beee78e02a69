import type { TSchema } from '@sinclair/typebox';
import { TRAITS } from '../apply/definitions.js';
import { CATALOG_KIND } from '../catalogs/definition.js';
import type { WorkspaceKind } from '../workspace/kinds.js';
import { checkFunction, checkWebhookUnique, FUNCTION_KIND, FunctionBody, type FunctionDefinition } from './function-definition.js';
import { SQL_MODEL_KIND, SqlModelBody, type SqlModelDefinition } from './sql-model-definition.js';
import type { SqlModels } from './sql-models.js';

type CheckShape = <T>(schema: TSchema, body: unknown) => T;

export const TRANSFORMS_KIND_SCHEMAS = [
  { kind: FUNCTION_KIND, schema: FunctionBody, description: 'A sandboxed event or webhook function (docs/transformations.md).' },
  { kind: SQL_MODEL_KIND, schema: SqlModelBody, description: 'A SQL model materialised in the warehouse (docs/transformations.md).' },
];

export interface TransformsEffects {
  functionsChanged(workspaceId: string, key: string): void;
  sqlModels: Pick<SqlModels, 'check' | 'changed'>;
}

/** `functions` and `models-sql` as workspace kinds: the same checks as their routes, against the proposed workspace. */
export function transformsKinds(checkShape: CheckShape, fx: () => TransformsEffects | undefined): WorkspaceKind[] {
  const keysOf = (state: Map<string, Map<string, unknown>>, kind: string) => new Set((state.get(kind) ?? new Map()).keys());
  return [
    {
      kind: FUNCTION_KIND,
      schema: FunctionBody,
      async validate(body, ctx) {
        const def = await checkFunction(checkShape<FunctionDefinition>(FunctionBody, body), keysOf(ctx.proposed, 'sources'));
        checkWebhookUnique(def, (ctx.proposed.get(FUNCTION_KIND) ?? new Map()).entries());
        return def;
      },
      changed: async (workspaceId, key) => fx()?.functionsChanged(workspaceId, key),
    },
    {
      kind: SQL_MODEL_KIND,
      schema: SqlModelBody,
      async validate(body, ctx) {
        const def = checkShape<SqlModelDefinition>(SqlModelBody, body);
        const effects = fx();
        if (!effects) return def;
        const models = new Map([...(ctx.proposed.get(SQL_MODEL_KIND) ?? new Map()).entries()] as [string, SqlModelDefinition][]);
        return effects.sqlModels.check(ctx.workspaceId, def, models, keysOf(ctx.proposed, TRAITS), keysOf(ctx.proposed, CATALOG_KIND));
      },
      changed: async (workspaceId, key, after) => fx()?.sqlModels.changed(workspaceId, key, after === undefined),
    },
  ];
}
