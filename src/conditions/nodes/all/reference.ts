import type { Condition } from '../../condition.js';
import type { AllNode } from './schema.js';

export const allReference = (node: AllNode, evaluate: (c: Condition) => boolean): boolean => node.all.every(evaluate);
