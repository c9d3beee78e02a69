import type { Condition } from './condition.js';
import { kindOf } from './kinds.js';
import type { ReferenceInput } from './model.js';

/**
 * The reference interpreter: reads the definition directly over the profile's raw history, as of input.now.
 * It is the oracle the streaming evaluator and the SQL compiler are tested against; it is not built for speed.
 */
export function evaluate(condition: Condition, input: ReferenceInput): boolean {
  return kindOf(condition).reference(condition, input, (child) => evaluate(child, input));
}
