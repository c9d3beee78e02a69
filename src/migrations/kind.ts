import type { TSchema } from '@sinclair/typebox';
import type { WorkspaceKind } from '../workspace/kinds.js';
import { ALIASES_KIND, AliasesBody, checkAliases, type Aliases } from './aliases.js';

type CheckShape = <T>(schema: TSchema, body: unknown) => T;

export const ALIASES_KIND_SCHEMA = { kind: ALIASES_KIND, schema: AliasesBody, singleton: true, description: 'Aliases applied at collection: renamed events and properties, retyped properties (docs/migrations.md).' };

/** `aliases` as a workspace kind (singleton): a change reaches collection on every thread (`changed`). */
export function aliasesKind(checkShape: CheckShape, changed: (workspaceId: string, body: Aliases | undefined) => Promise<void>): WorkspaceKind {
  return {
    kind: ALIASES_KIND,
    schema: AliasesBody,
    singleton: true,
    validate: async (body) => checkAliases(checkShape<Aliases>(AliasesBody, body)),
    changed: (workspaceId, _key, after) => changed(workspaceId, after?.body as Aliases | undefined),
  };
}
