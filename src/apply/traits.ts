import { isSqlTrait, parseTraitDefinition, type TraitDefinition } from '../traits/definition.js';
import { createTraitEvaluator } from '../traits/streaming.js';
import { compileTraitQuery } from '../traits/sql.js';
import { noDependencies, traitDefinition } from './definitions.js';
import type { TraitSupport } from './registry.js';

/**
 * Computed traits in the fast loop: event traits through the traits library's streaming evaluator; an event trait
 * reads the events of its `event` name (every event when it has none). SQL traits are batch only.
 */
export const streamingTraits: TraitSupport = {
  definition(key, version, body) {
    const def: TraitDefinition = parseTraitDefinition(body);
    if (isSqlTrait(def)) return undefined;
    const deps = noDependencies();
    deps.events = def.event === undefined ? '*' : new Set([def.event]);
    return traitDefinition(createTraitEvaluator(def), version, deps, (dialect, asOf) => compileTraitQuery(def, dialect, asOf));
  },
};
