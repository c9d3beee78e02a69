import { createHash } from 'node:crypto';
import { coerce, type ValueType } from './coerce.js';
import { ID_FIELDS, isForbiddenKey, type FieldMapping, type Mapping } from './mapping.js';

/** One row of an import: CSV cells (strings), a JSON object, or a PostgreSQL row as the driver returns it. */
export interface ImportRow {
  /** Line number in the file (CSV: the line the record starts on), or the row's position in a PostgreSQL run. */
  row: number;
  values: Record<string, unknown>;
  /** What identifies this row's content for its stable messageId (the record's text, or key and version). */
  identity: string;
  /** CSV: an empty cell states nothing (rather than an empty string). */
  emptyIsAbsent: boolean;
  /** Extra fields of a report line (a PostgreSQL row's key). */
  ref?: Record<string, unknown>;
}

/** One problem of one row, as written to the error report. */
export interface RowProblem {
  row: number;
  column?: string;
  field?: string;
  problem: string;
  ref?: Record<string, unknown>;
}

/** A built message, with the column that set each field (to name the column of a problem the server finds). */
export type Built = { ok: true; message: Record<string, unknown>; columns: Map<string, string> } | { ok: false; problems: RowProblem[] };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);

/** Keys of a JSON line that are envelope fields the server sets itself: left out of the message. */
const ENVELOPE = new Set(['sentAt', 'receivedAt', 'version', 'channel', 'writeKey', 'projectId']);

/**
 * A stable messageId: the same row of the same input gives the same id on every run, so re-running an import is
 * deduplicated by the server (within its dedup window, `collect.dedupWindow`).
 */
export function stableMessageId(scope: string, identity: string): string {
  return `imp-${createHash('sha256').update(scope).update('\u0000').update(identity).digest('base64url').slice(0, 32)}`;
}

/**
 * Maps a row to a Segment message (track for events, identify for traits), or lists every problem it has.
 * `scope` names the input (kind, file or table) for the messageId.
 */
export function buildMessage(input: ImportRow, mapping: Mapping, scope: string): Built {
  const problems: RowProblem[] = [];
  const problem = (p: Omit<RowProblem, 'row'>) => problems.push({ row: input.row, ...p, ...(input.ref ? { ref: input.ref } : {}) });
  const message: Record<string, unknown> = { type: mapping.kind === 'events' ? 'track' : 'identify' };
  const setBy = new Map<string, string>();

  const assign = (path: string[], value: unknown, column: string) => {
    const key = path.join('.');
    const earlier = setBy.get(key);
    if (earlier !== undefined) return problem({ column, field: key, problem: `${key} is also set by column '${earlier}'` });
    let node = message;
    for (let i = 0; i < path.length - 1; i++) {
      const next = node[path[i]];
      if (next === undefined) node = node[path[i]] = {} as Record<string, unknown>;
      else if (isObject(next)) node = next;
      else return problem({ column, field: key, problem: `${path.slice(0, i + 1).join('.')} is already a value, so ${key} cannot be set inside it` });
    }
    setBy.set(key, column);
    node[path[path.length - 1]] = value;
  };

  /** `type` undefined: a JSON or database value kept as it is (a date becomes ISO 8601 text). */
  const put = (column: string, path: string[], type: ValueType | undefined, raw: unknown) => {
    if (raw === undefined || (input.emptyIsAbsent && raw === '')) return;
    const field = path.join('.');
    const external = path[0] === 'context' && path[1] === 'externalIds';
    if (raw === null) {
      // null says "no value": an id or a time without one is simply absent; a property or trait is set to null.
      if (path.length > 1 && !external) assign(path, null, column);
      return;
    }
    let value: unknown;
    if (type === undefined) value = raw instanceof Date ? (Number.isNaN(raw.getTime()) ? null : raw.toISOString()) : raw;
    else {
      const c = coerce(raw, type);
      if (!c.ok) return problem({ column, field, problem: c.problem });
      value = c.value;
    }
    if ((path.length === 1 || external) && typeof value === 'string' && value.trim() === '') return;
    if (external) {
      const context = isObject(message.context) ? message.context : (message.context = {} as Record<string, unknown>);
      const list = Array.isArray(context.externalIds) ? context.externalIds : (context.externalIds = [] as unknown[]);
      (list as unknown[]).push({ id: value, type: path[2], collection: 'users', encoding: 'none' });
      return;
    }
    assign(path, value, column);
  };

  const defaultTarget = (column: string): string[] => {
    if (ID_FIELDS.has(column) || column === 'timestamp' || (column === 'event' && mapping.kind === 'events')) return [column];
    return mapping.kind === 'events' ? ['properties', column] : ['traits', column];
  };

  const used = new Set<string>();
  // Mapped columns: a top-level key of the row, or (JSON lines) a dotted path into it.
  for (const [column, list] of mapping.byColumn) {
    let raw: unknown;
    if (Object.hasOwn(input.values, column)) {
      raw = input.values[column];
      used.add(column);
    } else if (column.includes('.')) {
      raw = at(input.values, column.split('.'));
      if (raw !== undefined) used.add(column.split('.')[0]);
    }
    for (const m of list) put(column, m.target, m.type, raw);
  }

  for (const [column, raw] of Object.entries(input.values)) {
    if (used.has(column) || mapping.byColumn.has(column) || mapping.ignore.has(column) || mapping.onlyMapped) continue;
    if (isForbiddenKey(column)) {
      problem({ column, problem: `'${column}' cannot be a field name; leave it out with --ignore ${column}` });
      continue;
    }
    if (!input.emptyIsAbsent) {
      // A JSON line may already be a Segment message: its objects merge into the message's, envelope fields go.
      if (ENVELOPE.has(column)) continue;
      if (column === 'type') {
        const expected = message.type;
        if (raw !== expected) problem({ column, field: 'type', problem: `${show(raw)}: a ${mapping.kind} import sends ${expected} calls only` });
        continue;
      }
      if (column === 'originalTimestamp') {
        if (input.values.timestamp === undefined) put(column, ['timestamp'], 'date', raw);
        continue;
      }
      const own = mapping.kind === 'events' ? ['properties', 'context', 'integrations'] : ['traits', 'context', 'integrations'];
      if (own.includes(column) && isObject(raw)) {
        for (const [key, value] of Object.entries(raw)) {
          if (isForbiddenKey(key)) problem({ column, field: `${column}.${key}`, problem: `'${key}' cannot be a field name` });
          else assign([column, key], value, column);
        }
        continue;
      }
    }
    const target = defaultTarget(column);
    put(column, target, target[0] === 'timestamp' ? 'date' : target.length === 1 ? 'string' : input.emptyIsAbsent ? 'string' : undefined, raw);
  }

  if (mapping.kind === 'events' && message.event === undefined) {
    if (mapping.event !== undefined) message.event = mapping.event;
    else problem({ field: 'event', problem: 'the row has no event name: map a column to event, or give --event NAME' });
  }
  if (message.userId === undefined && message.anonymousId === undefined) {
    const stand = standInId(message, mapping.kind);
    if (stand) message.anonymousId = stand;
    else problem({ field: 'userId', problem: 'the row has no userId or anonymousId: map a column to userId, anonymousId, traits.email, traits.phone or context.externalIds.<type>' });
  }
  if (problems.length) return { ok: false, problems };
  if (message.messageId === undefined) message.messageId = stableMessageId(scope, input.identity);
  return { ok: true, message, columns: setBy };
}

/**
 * A row that names its person only by e-mail, phone or an external id still needs a userId or anonymousId on
 * the wire: it gets a deterministic anonymousId (`import:email:ann@example.com`), and the profile is found or
 * merged through the identifier itself.
 */
function standInId(message: Record<string, unknown>, kind: Mapping['kind']): string | undefined {
  const context = isObject(message.context) ? message.context : {};
  const traits = (kind === 'traits' ? message.traits : context.traits) as Record<string, unknown> | undefined;
  for (const type of ['email', 'phone'] as const) {
    const v = traits?.[type];
    if ((typeof v === 'string' && v.trim() !== '') || typeof v === 'number') return `import:${type}:${String(v).trim().toLowerCase()}`;
  }
  const external = context.externalIds;
  if (Array.isArray(external) && isObject(external[0])) return `import:${String(external[0].type)}:${String(external[0].id)}`;
  return undefined;
}

function at(values: Record<string, unknown>, path: string[]): unknown {
  let node: unknown = values;
  for (const part of path) {
    if (!isObject(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}
