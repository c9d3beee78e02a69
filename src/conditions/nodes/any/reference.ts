import type { Condition } from '../../condition.js';
import type { AnyNode } from './schema.js';

export const anyReference = (node: AnyNode, evaluate: (c: Condition) => boolean): boolean => node.any.some(evaluate);
