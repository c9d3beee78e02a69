import type { ValidateFunction } from 'ajv';
import { createAjv, describeAjvErrors } from '../core/json-schema.js';
import { MessageTypes, RawMessageSchemas, type MessageType } from './message.js';

export interface MessageProblem {
  code: string;
  path: string;
  message: string;
}

const ajv = createAjv({ allErrors: true });
const validators = Object.fromEntries(MessageTypes.map((t) => [t, ajv.compile(RawMessageSchemas[t])])) as Record<MessageType, ValidateFunction>;

const join = (prefix: string, field: string) => (prefix ? `${prefix}.${field}` : field);

/**
 * Checks one raw message against the Segment spec for its type. `prefix` is where the message sits in the
 * request (`batch[3]`, or '' for a single call), so every problem names the exact field.
 */
export function checkMessage(raw: unknown, type: MessageType, prefix: string, maxDepth: number): MessageProblem | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { code: 'wrong_type', path: prefix, message: `${prefix || 'body'} must be an object` };
  }
  const validate = validators[type];
  if (!validate(raw)) return describeAjvErrors(validate.errors!, prefix);
  const m = raw as Record<string, unknown>;
  if (type === 'alias') {
    if (!present(m.userId)) return { code: 'required', path: join(prefix, 'userId'), message: `${join(prefix, 'userId')} is required for alias (the new id that previousId is linked to)` };
  } else if (!present(m.userId) && !present(m.anonymousId)) {
    return { code: 'missing_identity', path: join(prefix, 'userId'), message: `${prefix || 'message'} needs a userId or an anonymousId` };
  }
  for (const field of ['userId', 'anonymousId', 'groupId', 'previousId'] as const) {
    const v = m[field];
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      return { code: 'invalid_value', path: join(prefix, field), message: `${join(prefix, field)} is a number that cannot be represented exactly; send it as a string` };
    }
  }
  for (const field of ['timestamp', 'sentAt', 'originalTimestamp'] as const) {
    const v = m[field];
    if (v !== undefined && !isIsoDate(v as string)) {
      return { code: 'invalid_timestamp', path: join(prefix, field), message: `${join(prefix, field)} must be an ISO-8601 date such as 2026-01-31T12:00:00.000Z; got ${JSON.stringify(String(v).slice(0, 40))}` };
    }
  }
  return checkValues(m, prefix, 0, maxDepth);
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
export function isIsoDate(v: string): boolean {
  return ISO.test(v) && Number.isFinite(Date.parse(v));
}

/**
 * The same checks for a batch-level field (`context`, `integrations`), which sits one level below the body just
 * as a message's own fields do: it is merged into every message, so it must obey the same limits.
 */
export function checkBatchField(value: unknown, path: string, maxDepth: number): MessageProblem | undefined {
  return checkValues(value, path, 1, maxDepth);
}

/** Keys named as pointerToPath names them, so every problem's path reads the same way. */
const child = (path: string, key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`);

/** Refuses nesting deeper than maxDepth and numbers JSON cannot carry (1e400 parses to Infinity). */
function checkValues(value: unknown, path: string, depth: number, maxDepth: number): MessageProblem | undefined {
  // Nearly every message passes: a walk that builds no paths decides that; only a failure is walked again to name it.
  return hasBadValue(value, depth, maxDepth) ? describeValues(value, path, depth, maxDepth) : undefined;
}

function hasBadValue(value: unknown, depth: number, maxDepth: number): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value === null || typeof value !== 'object') return false;
  if (depth >= maxDepth) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasBadValue(value[i], depth + 1, maxDepth)) return true;
    return false;
  }
  for (const key in value) if (hasBadValue((value as Record<string, unknown>)[key], depth + 1, maxDepth)) return true;
  return false;
}

function describeValues(value: unknown, path: string, depth: number, maxDepth: number): MessageProblem | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : { code: 'invalid_number', path, message: `${path} is a number too large to represent` };
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= maxDepth) return { code: 'too_deep', path, message: `${path || 'message'} is nested deeper than ${maxDepth} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = describeValues(value[i], `${path}[${i}]`, depth + 1, maxDepth);
      if (p) return p;
    }
    return undefined;
  }
  for (const key in value) {
    const p = describeValues((value as Record<string, unknown>)[key], child(path, key), depth + 1, maxDepth);
    if (p) return p;
  }
  return undefined;
}
