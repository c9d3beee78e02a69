import { Type, type TSchema } from '@sinclair/typebox';
import type { Condition } from '../../condition.js';

/** True when every nested condition is true; an empty list is true. */
export interface AllNode {
  all: Condition[];
}

export const allSchema = (child: TSchema) =>
  Type.Object({ all: Type.Array(child, { 'x-expected': 'a list of conditions' }) }, { additionalProperties: false, description: 'Every nested condition holds.' });
