import type { Condition } from '../../condition.js';
import type { NotNode } from './schema.js';

export const notReference = (node: NotNode, evaluate: (c: Condition) => boolean): boolean => !evaluate(node.not);
