import type { ValidateFunction } from 'ajv';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import { createAjv, describeAjvErrors } from '../core/json-schema.js';
import type { Store } from '../core/ports/store.js';
import type { CatalogLookup } from '../conditions/model.js';
import { parseCsv } from './csv.js';
import { CATALOG_KIND, type Catalog } from './definition.js';
import type { CatalogRow, CatalogStore, RowChange } from './ports.js';

export type RowListener = (workspaceId: string, catalog: string, key: string, before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined) => void;

interface Compiled {
  version: number;
  body: Catalog;
  validate?: ValidateFunction;
}

const CACHE_LIMIT = 10_000;
const ajv = createAjv({ allErrors: false });

/** Checks a catalog definition: its row schema must compile. */
export function checkCatalog(body: Catalog): void {
  if (body.schema === undefined) return;
  try {
    ajv.compile(body.schema);
  } catch (error) {
    throw badRequest('invalid_schema', `schema does not compile: ${(error as Error).message}`, 'schema');
  }
}

/**
 * Catalogs: keyed tables of business data, loaded in bulk (JSON or CSV) and changed row by row in real time.
 * Conditions and templates read rows through `lookup(workspaceId)` (synchronous, cached); listeners hear of every
 * change with the row before and after, so that a journey can react to "back in stock".
 */
export class Catalogs {
  private readonly listeners: RowListener[] = [];
  private readonly durable: RowListener[] = [];
  private readonly defs = new Map<string, Promise<Compiled | undefined>>();
  /** Parsed rows by workspace, catalog and key (undefined: known absent); cleared entry by entry on change. */
  private readonly cache = new Map<string, Record<string, unknown> | undefined>();

  constructor(
    private readonly rows: CatalogStore,
    private readonly definitions: Store['definitions'],
    private readonly clock: Clock,
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  onRowChanged(listener: RowListener): void {
    this.listeners.push(listener);
  }

  /**
   * A listener called inside the write's transaction, synchronously, for each changed row: what it records on the
   * same handle commits with the rows (journeys' catalog_changed triggers). A throw rolls the write back.
   */
  onRowChangedDurably(listener: RowListener): void {
    this.durable.push(listener);
  }

  /** The CatalogLookup of the condition language for one workspace. */
  lookup(workspaceId: string): CatalogLookup {
    return { get: (catalog, key) => this.get(workspaceId, catalog, key) };
  }

  get(workspaceId: string, catalog: string, key: string): Record<string, unknown> | undefined {
    const id = `${workspaceId}\u0000${catalog}\u0000${key}`;
    if (this.cache.has(id)) return this.cache.get(id);
    const row = this.rows.get(workspaceId, catalog, key);
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(id, row);
    return row;
  }

  async definition(workspaceId: string, catalog: string): Promise<Compiled> {
    const id = `${workspaceId}\u0000${catalog}`;
    let d = this.defs.get(id);
    if (!d) {
      d = this.definitions.get<Catalog>(workspaceId, CATALOG_KIND, catalog).then((found) =>
        found && { version: found.version, body: found.body, validate: found.body.schema ? ajv.compile(found.body.schema) : undefined },
      );
      this.defs.set(id, d);
      d.catch(() => this.defs.delete(id));
    }
    const found = await d;
    if (!found) throw notFound('catalog', catalog);
    return found;
  }

  /** A definition changed (saved or deleted). Deleting drops its rows. */
  changed(workspaceId: string, catalog: string, deleted: boolean): void {
    this.defs.delete(`${workspaceId}\u0000${catalog}`);
    if (deleted) {
      this.rows.clear(workspaceId, catalog);
      const prefix = `${workspaceId}\u0000${catalog}\u0000`;
      for (const k of [...this.cache.keys()]) if (k.startsWith(prefix)) this.cache.delete(k);
    }
  }

  /** Upserts rows given as JSON objects; all or nothing (a bad row names its index and field). */
  async upsert(workspaceId: string, catalog: string, rows: unknown[]): Promise<{ upserted: number; changed: number }> {
    const def = await this.definition(workspaceId, catalog);
    const prepared = rows.map((r, n) => this.prepare(def, r, `rows[${n}]`));
    return this.write(workspaceId, catalog, prepared);
  }

  /** Upserts rows from CSV text (header first); values take the types the row schema declares, else are inferred. */
  async upsertCsv(workspaceId: string, catalog: string, text: string): Promise<{ upserted: number; changed: number }> {
    const def = await this.definition(workspaceId, catalog);
    const { records } = parseCsv(text);
    const prepared = records.map((r) => this.prepare(def, convertCsv(r.values, def.body.schema), `line ${r.line}`));
    return this.write(workspaceId, catalog, prepared);
  }

  /** Replaces one row; the key in the path wins over (and must agree with) the key field in the body. */
  async put(workspaceId: string, catalog: string, key: string, row: unknown): Promise<{ created: boolean; row: Record<string, unknown> }> {
    const def = await this.definition(workspaceId, catalog);
    const body = isObject(row) ? { ...row } : row;
    if (isObject(body)) {
      const given = body[def.body.keyField];
      if (given === undefined) body[def.body.keyField] = key;
      else if (String(given) !== key) throw badRequest('key_mismatch', `${def.body.keyField} in the body ('${String(given)}') must equal the key in the path ('${key}')`, def.body.keyField);
    }
    const prepared = this.prepare(def, body, '');
    const [change] = this.apply(workspaceId, catalog, [prepared]);
    return { created: change.before === undefined, row: prepared.row };
  }

  async remove(workspaceId: string, catalog: string, key: string): Promise<boolean> {
    await this.definition(workspaceId, catalog);
    const [change] = this.apply(workspaceId, catalog, [{ key, row: undefined }]);
    return change.before !== undefined;
  }

  async page(workspaceId: string, catalog: string, after: string | undefined, limit: number): Promise<{ rows: CatalogRow[]; total: number }> {
    await this.definition(workspaceId, catalog);
    return { rows: this.rows.page(workspaceId, catalog, after ?? '', limit), total: this.rows.count(workspaceId, catalog) };
  }

  private prepare(def: Compiled, row: unknown, path: string): { key: string; row: Record<string, unknown> } {
    const at = (field: string) => (path ? (path.startsWith('line') ? `${path}: ${field}` : `${path}.${field}`) : field);
    if (!isObject(row)) throw badRequest('invalid_row', `${path || 'body'} must be an object`, path || undefined);
    const key = row[def.body.keyField];
    if (typeof key !== 'string' && typeof key !== 'number') throw badRequest('required', `${at(def.body.keyField)} is required (the key field, a string or number)`, at(def.body.keyField));
    if (String(key) === '') throw badRequest('invalid_value', `${at(def.body.keyField)} must not be empty`, at(def.body.keyField));
    if (def.validate && !def.validate(row)) {
      const p = describeAjvErrors(def.validate.errors ?? [], '');
      const field = p.path;
      const message = p.message.startsWith(field) ? p.message.slice(field.length).trimStart() : p.message;
      throw new TandemError(p.code, `${at(field || 'row')} ${message}`, 400, at(field || 'row'));
    }
    return { key: String(key), row };
  }

  private async write(workspaceId: string, catalog: string, rows: { key: string; row: Record<string, unknown> }[]) {
    const changes = this.apply(workspaceId, catalog, rows);
    return { upserted: rows.length, changed: changes.filter((c) => JSON.stringify(c.before) !== JSON.stringify(c.after)).length };
  }

  private apply(workspaceId: string, catalog: string, rows: { key: string; row: Record<string, unknown> | undefined }[]): RowChange[] {
    const within = this.durable.length === 0 ? undefined : (written: RowChange[]) => {
      for (const c of written) {
        if (JSON.stringify(c.before) === JSON.stringify(c.after)) continue;
        for (const listener of this.durable) listener(workspaceId, catalog, c.key, c.before, c.after);
      }
    };
    const changes = this.rows.write(workspaceId, catalog, rows, this.clock.now(), within);
    for (const c of changes) this.cache.delete(`${workspaceId}\u0000${catalog}\u0000${c.key}`);
    for (const c of changes) {
      if (JSON.stringify(c.before) === JSON.stringify(c.after)) continue; // a reload of the same data notifies nobody
      for (const listener of this.listeners) {
        try {
          listener(workspaceId, catalog, c.key, c.before, c.after);
        } catch (error) {
          this.onError(`catalog row listener failed for ${catalog}/${c.key}: ${(error as Error).message}`);
        }
      }
    }
    return changes;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** CSV cells are text: convert each to the type the schema declares for its column, else infer numbers and booleans. */
export function convertCsv(values: Record<string, string>, schema: Record<string, unknown> | undefined): Record<string, unknown> {
  const props = (schema?.properties ?? {}) as Record<string, { type?: string | string[] }>;
  const out: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(values)) {
    const declared = props[name]?.type;
    const types = declared === undefined ? undefined : Array.isArray(declared) ? declared : [declared];
    const value = convertCell(text, types);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function convertCell(text: string, types: string[] | undefined): unknown {
  if (types === undefined) {
    if (text === '') return undefined;
    if (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(text)) return Number(text);
    if (text === 'true' || text === 'false') return text === 'true';
    return text;
  }
  if (types.includes('string')) return text;
  if (text === '') return types.includes('null') ? null : undefined;
  if ((types.includes('number') || types.includes('integer')) && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (types.includes('boolean') && /^(true|false|1|0)$/i.test(text)) return /^(true|1)$/i.test(text);
  if (types.includes('object') || types.includes('array')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text; // left as text: the schema check names the column
    }
  }
  return text;
}
