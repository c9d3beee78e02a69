import type { AllNode } from './nodes/all/index.js';
import type { AnyNode } from './nodes/any/index.js';
import type { BucketNode } from './nodes/bucket/index.js';
import type { CatalogNode } from './nodes/catalog/index.js';
import type { ComputedNode } from './nodes/computed/index.js';
import type { FirstPerformedNode } from './nodes/first-performed/index.js';
import type { HasIdentifierNode } from './nodes/has-identifier/index.js';
import type { InAudienceNode } from './nodes/in-audience/index.js';
import type { LastPerformedNode } from './nodes/last-performed/index.js';
import type { NotNode } from './nodes/not/index.js';
import type { PerformedNode } from './nodes/performed/index.js';
import type { SubscribedNode } from './nodes/subscribed/index.js';
import type { TraitNode } from './nodes/trait/index.js';

/** A condition of the definition language (ARCHITECTURE.md section 5): one node, possibly with nested conditions. */
export type Condition =
  | AllNode
  | AnyNode
  | NotNode
  | TraitNode
  | ComputedNode
  | PerformedNode
  | FirstPerformedNode
  | LastPerformedNode
  | InAudienceNode
  | HasIdentifierNode
  | SubscribedNode
  | CatalogNode
  | BucketNode;
