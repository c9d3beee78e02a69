import { Type, type TSchema } from '@sinclair/typebox';
import type { Condition } from '../../condition.js';

/** True when at least one nested condition is true; an empty list is false. */
export interface AnyNode {
  any: Condition[];
}

export const anySchema = (child: TSchema) =>
  Type.Object({ any: Type.Array(child, { 'x-expected': 'a list of conditions' }) }, { additionalProperties: false, description: 'At least one nested condition holds.' });
