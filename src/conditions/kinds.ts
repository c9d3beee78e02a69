import { Type, type TSchema } from '@sinclair/typebox';
import type { Condition } from './condition.js';
import type { NodeKind, StreamingState } from './node-kind.js';
import { allKind } from './nodes/all/index.js';
import { anyKind } from './nodes/any/index.js';
import { bucketKind } from './nodes/bucket/index.js';
import { catalogKind } from './nodes/catalog/index.js';
import { computedKind } from './nodes/computed/index.js';
import { firstPerformedKind } from './nodes/first-performed/index.js';
import { hasIdentifierKind } from './nodes/has-identifier/index.js';
import { inAudienceKind } from './nodes/in-audience/index.js';
import { lastPerformedKind } from './nodes/last-performed/index.js';
import { notKind } from './nodes/not/index.js';
import { performedKind } from './nodes/performed/index.js';
import { subscribedKind } from './nodes/subscribed/index.js';
import { traitKind } from './nodes/trait/index.js';

/** Any registered kind, seen from the generic evaluators; each kind is typed precisely in its own folder. */
export type RegisteredKind = NodeKind<Condition, StreamingState>;

const register = <N, S extends StreamingState>(kind: NodeKind<N, S>): RegisteredKind => kind as unknown as RegisteredKind;

/** Every node kind of the language. A kind is here only with its schema and all three evaluators. */
export const NODE_KINDS: readonly RegisteredKind[] = [
  register(allKind),
  register(anyKind),
  register(notKind),
  register(traitKind),
  register(computedKind),
  register(performedKind),
  register(firstPerformedKind),
  register(lastPerformedKind),
  register(inAudienceKind),
  register(hasIdentifierKind),
  register(subscribedKind),
  register(catalogKind),
  register(bucketKind),
];

const BY_KEY = new Map(NODE_KINDS.map((kind) => [kind.key, kind]));

export const NODE_KEYS = NODE_KINDS.map((kind) => kind.key);

/** The kind keys present on an object (a valid node has exactly one). */
export const kindKeysOf = (node: object): string[] => Object.keys(node).filter((key) => BY_KEY.has(key));

/** The kind of a parsed condition. */
export function kindOf(condition: Condition): RegisteredKind {
  for (const key of Object.keys(condition)) {
    const kind = BY_KEY.get(key);
    if (kind) return kind;
  }
  throw new Error(`not a condition: ${JSON.stringify(condition)}`);
}

export const kindByKey = (key: string): RegisteredKind | undefined => BY_KEY.get(key);

/** The JSON schema of a whole condition (for the API reference and editors); validation goes through parseCondition. */
export const ConditionSchema: TSchema = Type.Recursive((self) => Type.Union(NODE_KINDS.map((kind) => kind.schema(self))), { $id: 'Condition' });
