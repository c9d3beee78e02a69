import { Type, type TSchema } from '@sinclair/typebox';
import type { Condition } from '../../condition.js';

/** True when the nested condition is false. */
export interface NotNode {
  not: Condition;
}

export const notSchema = (child: TSchema) => Type.Object({ not: child }, { additionalProperties: false, description: 'The nested condition does not hold.' });
