import type { SqlContext } from '../../node-kind.js';
import type { NotNode } from './schema.js';

// Every compiled condition is never NULL, so NOT is the plain two-valued negation.
export const notSql = (node: NotNode, ctx: SqlContext): string => `(NOT ${ctx.compile(node.not)})`;
