import { Type, type Static } from '@sinclair/typebox';

/**
 * The Segment spec messages that /v1 accepts. These schemas validate input, type the code and generate the
 * API reference. Identifiers may arrive as numbers (some SDKs send them) and are stored as strings.
 */
const Identifier = Type.Union([Type.String({ maxLength: 1024 }), Type.Number()]);
const Json = Type.Object({}, { additionalProperties: true });

export const MessageTypes = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MessageTypes)[number];

const common = {
  messageId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Unique id; generated when missing.' })),
  userId: Type.Optional(Type.Union([Identifier, Type.Null()])),
  anonymousId: Type.Optional(Type.Union([Identifier, Type.Null()])),
  timestamp: Type.Optional(Type.String({ description: 'ISO-8601 time the event happened (client clock).' })),
  sentAt: Type.Optional(Type.String({ description: 'ISO-8601 time the client sent the message; used to correct clock skew.' })),
  originalTimestamp: Type.Optional(Type.String()),
  context: Type.Optional(Json),
  integrations: Type.Optional(Json),
  writeKey: Type.Optional(Type.String()),
  version: Type.Optional(Type.Union([Type.Number(), Type.String()])),
  channel: Type.Optional(Type.String()),
};

export const RawTrack = Type.Object({ ...common, type: Type.Optional(Type.Literal('track')), event: Type.String({ minLength: 1, maxLength: 512 }), properties: Type.Optional(Json) });
export const RawIdentify = Type.Object({ ...common, type: Type.Optional(Type.Literal('identify')), traits: Type.Optional(Json) });
export const RawPage = Type.Object({ ...common, type: Type.Optional(Type.Literal('page')), name: Type.Optional(Type.Union([Type.String(), Type.Null()])), category: Type.Optional(Type.Union([Type.String(), Type.Null()])), properties: Type.Optional(Json) });
export const RawScreen = Type.Object({ ...common, type: Type.Optional(Type.Literal('screen')), name: Type.Optional(Type.Union([Type.String(), Type.Null()])), category: Type.Optional(Type.Union([Type.String(), Type.Null()])), properties: Type.Optional(Json) });
export const RawGroup = Type.Object({ ...common, type: Type.Optional(Type.Literal('group')), groupId: Identifier, traits: Type.Optional(Json) });
export const RawAlias = Type.Object({ ...common, type: Type.Optional(Type.Literal('alias')), previousId: Identifier });

export const RawMessageSchemas = { track: RawTrack, identify: RawIdentify, page: RawPage, screen: RawScreen, group: RawGroup, alias: RawAlias } as const;

export const RawBatch = Type.Object({
  batch: Type.Array(Type.Object({ type: Type.Union(MessageTypes.map((t) => Type.Literal(t))) }, { additionalProperties: true })),
  context: Type.Optional(Json),
  integrations: Type.Optional(Json),
  sentAt: Type.Optional(Type.String()),
  writeKey: Type.Optional(Type.String()),
});

/** A message as stored in the log after validation and normalisation. */
export interface Message {
  type: MessageType;
  messageId: string;
  userId?: string;
  anonymousId?: string;
  event?: string;
  name?: string;
  category?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  groupId?: string;
  previousId?: string;
  context: Record<string, unknown>;
  integrations: Record<string, unknown>;
  /** Corrected event time, ISO-8601. */
  timestamp: string;
  /** The client's own timestamp, before skew correction. */
  originalTimestamp?: string;
  sentAt?: string;
  receivedAt: string;
}

export type RawMessage = Static<typeof RawTrack> | Static<typeof RawIdentify> | Static<typeof RawPage> | Static<typeof RawScreen> | Static<typeof RawGroup> | Static<typeof RawAlias>;

/** One tracking-plan violation, with the JSON path it concerns. */
export interface Violation {
  kind: 'unplanned_event' | 'unplanned_property' | 'required_missing' | 'type_mismatch' | 'schema_error';
  path: string;
  message: string;
}

/** What collection writes to the log: an accepted event, or a message held in quarantine with its reasons. */
export interface LogEntry {
  kind: 'event' | 'quarantine';
  message: Message;
  violations: Violation[];
  /** Set on entries that came back from the quarantine. */
  replayOf?: number;
}
