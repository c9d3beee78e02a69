import type { FastifyRequest } from 'fastify';
import type { ApplyCommit } from '../apply/ports.js';
import type { Clock } from '../core/clock.js';
import { badRequest } from '../core/errors.js';
import type { StoredEvent, Store } from '../core/ports/store.js';
import type { Sqlite } from '../storage/sqlite/database.js';
import { openSqliteMetadataStore, type FieldRow, type MetadataStore } from '../storage/sqlite/metadata-store.js';
import type { WorkspaceState } from '../workspace/kinds.js';
import { suggestClassification, type ClassificationGuess } from './classify.js';
import { checkDictionaryEntry, checkUniqueTarget, DICTIONARY_KIND, isPersonal, targetOf, type Classification, type DictionaryEntry, type PiiType } from './dictionary.js';
import { Classifications, deprecationWarnings, maskExport, maskMessage, maskProfile, maskValue, payloadForDestination, profileForDestination, roleOf, seesPersonalData, type DestinationProfile } from './governance.js';
import { HyperLogLog } from './hyperloglog.js';
import { computedTarget, definitionTarget, eventTarget, LineageIndex, propertyTarget, traitTarget, type Lineage } from './lineage.js';
import { distinctOf, fieldsOf, newField, settleDay, nullRateOf, ObservedSchema, scalarsOf, totalOf, typesOf, type EntityNode, type FieldNode, type ValueType } from './observed.js';

export interface MetadataDeps {
  db: Sqlite;
  store: Pick<Store, 'definitions' | 'sources'>;
  clock: Clock;
  onError?: (message: string) => void;
  /** Flush the observed schema to SQLite this often (ms) ... */
  flushMs?: number;
  /** ... or after this many events, whichever comes first. */
  flushEvents?: number;
}

export interface FieldView {
  path: string;
  types: Partial<Record<ValueType, number>>;
  count: number;
  nullRate: number;
  distinct: number;
  firstSeen: string;
  lastSeen: string;
  samples: string[];
  classification?: Classification;
  piiType?: PiiType;
  status?: string;
  description?: string;
}

export interface EntityView {
  source: string;
  type: string;
  event: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  fields: number;
  untracked: number;
  status?: string;
  description?: string;
  owners?: string[];
}

export interface Suggestion extends ClassificationGuess {
  /** The target, as `POST /metadata/suggestions/confirm` takes it. */
  target: string;
  event?: string;
  property?: string;
  trait?: string;
  computed?: string;
  samples: string[];
}

/** Masks personal data in what a route answers, for a caller whose role has no right to see it. */
export interface PersonalDataMask {
  /** Undefined when the caller may see everything (admins and editors, or nothing classified). */
  forRequest(request: FastifyRequest): Promise<{ message<M extends Record<string, unknown>>(m: M): M; profile<P extends Record<string, unknown>>(p: P): P } | undefined>;
}

const SHOWN_SAMPLES = 5;
const LINEAGE_KINDS = ['traits', 'audiences', 'journeys', 'templates', 'models', 'experiments', 'signals', 'monitors', 'alerts', 'channels'];
const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : '');
const dayText = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

/**
 * Metadata (docs/metadata.md): the observed schema (fed by the events stage and the apply stage's computed values,
 * flushed to SQLite every few seconds), the data dictionary, classification suggestions, lineage and the
 * governance hooks the routes call.
 */
export class Metadata implements PersonalDataMask {
  readonly observed = new ObservedSchema();
  private readonly sqlite: MetadataStore;
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private readonly dictionaries = new Map<string, Promise<Classifications>>();

  constructor(private readonly deps: MetadataDeps) {
    this.sqlite = openSqliteMetadataStore(deps.db);
    this.load();
  }

  start(): void {
    this.timer = setInterval(() => this.flush(), this.deps.flushMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  /** The events stage's listener: observe in memory; a flush is due after enough events. */
  onStored(events: StoredEvent[]): void {
    this.observed.observe(events);
    this.pending += events.length;
    if (this.pending >= (this.deps.flushEvents ?? 50_000)) this.flush();
  }

  /** The apply stage's commits: computed-trait values as they change. */
  onApplyCommit(commit: ApplyCommit): void {
    for (const p of commit.profiles) for (const c of p.computed) this.observed.observeComputed(p.workspaceId, c.key, c.value, c.at);
  }

  /** Writes what changed since the last flush (whole field rows, changed days) in one transaction. */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      const rows: FieldRow[] = [];
      for (const entity of this.observed.takeDirty()) {
        const all = [{ field: entity.root }, ...fieldsOf(entity)];
        for (const { field } of all) {
          if (!field.dirty) continue;
          settleDay(field);
          rows.push({
            workspaceId: entity.workspaceId, sourceId: entity.sourceId, type: entity.type, event: entity.event, segments: field.segments, path: field.path,
            types: [...field.types], firstSeen: Number.isFinite(field.firstSeen) ? field.firstSeen : 0, lastSeen: Number.isFinite(field.lastSeen) ? field.lastSeen : 0,
            hll: field.hll?.registers, samples: [...field.samples], sampled: field.sampled, untracked: field === entity.root ? entity.untracked : 0,
            days: [...field.changedDays].map((d) => [d, field.days.get(d) ?? 0]),
          });
          field.dirty = false;
          field.changedDays.clear();
        }
      }
      if (rows.length) this.sqlite.save(rows);
      this.pending = 0;
    } catch (error) {
      this.deps.onError?.(`metadata: saving the observed schema failed (kept in memory, retried at the next flush): ${(error as Error).message}`);
    } finally {
      this.flushing = false;
    }
  }

  private load(): void {
    for (const r of this.sqlite.load()) {
      const entity = this.observed.entity(r.workspaceId, r.sourceId, r.type, r.event);
      let node: FieldNode;
      if (r.segments.length === 0) {
        node = entity.root;
        entity.untracked = r.untracked;
      } else {
        let parent: FieldNode | undefined = entity.root;
        for (const s of r.segments.slice(0, -1)) parent = parent?.children.get(s);
        if (!parent) continue;
        node = newField(r.segments);
        parent.children.set(r.segments[r.segments.length - 1], node);
        entity.fields++;
      }
      node.types = r.types;
      node.firstSeen = r.firstSeen;
      node.lastSeen = r.lastSeen;
      if (r.hll) node.hll = new HyperLogLog(Math.log2(r.hll.length), r.hll);
      node.samples = r.samples;
      node.sampled = r.sampled;
      node.scalars = scalarsOf(node);
      for (const [d, n] of r.days) node.days.set(d, n);
    }
  }

  /* ---- dictionary and governance ---- */

  classifications(workspaceId: string): Promise<Classifications> {
    let c = this.dictionaries.get(workspaceId);
    if (!c) {
      c = this.deps.store.definitions.list<DictionaryEntry>(workspaceId, DICTIONARY_KIND).then((list) => new Classifications(list.map((d) => d.body)));
      c.catch(() => this.dictionaries.delete(workspaceId));
      this.dictionaries.set(workspaceId, c);
    }
    return c;
  }

  dictionaryChanged(workspaceId: string): void {
    this.dictionaries.delete(workspaceId);
  }

  /** Checks a dictionary entry for a save through the API (the same checks as the workspace kind). */
  async prepareEntry(workspaceId: string, entry: DictionaryEntry): Promise<DictionaryEntry> {
    const checked = checkDictionaryEntry(entry);
    checkUniqueTarget(checked, (await this.deps.store.definitions.list<DictionaryEntry>(workspaceId, DICTIONARY_KIND)).map((d) => [d.key, d.body] as [string, unknown]));
    return checked;
  }

  async forRequest(request: FastifyRequest): ReturnType<PersonalDataMask['forRequest']> {
    if (seesPersonalData(roleOf(request))) return undefined;
    const c = await this.classifications(request.workspaceId);
    return { message: (m) => maskMessage(m, c), profile: (p) => maskProfile(p, c) };
  }

  /**
   * The delivery dispatcher's governance hook: the profile and payload a channel may receive, without the traits,
   * computed traits, identifiers and event properties the dictionary classifies personal (unless allowed).
   */
  async forDestination<P extends DestinationProfile>(workspaceId: string, channel: { key: string; type: string }, profile: P, payload: Record<string, unknown>): Promise<{ profile: P; payload: Record<string, unknown> }> {
    const c = await this.classifications(workspaceId);
    if (!c.hasPersonal) return { profile, payload };
    return { profile: profileForDestination(profile, c, channel), payload: payloadForDestination(payload, c, channel) };
  }

  /** For the profile export route: undefined when the caller may see personal data, else what masks the export. */
  async forExport(request: FastifyRequest): Promise<(<E extends Record<string, unknown>>(exported: E) => E) | undefined> {
    if (seesPersonalData(roleOf(request))) return undefined;
    const c = await this.classifications(request.workspaceId);
    return (exported) => maskExport(exported, c);
  }

  /** Warnings for saving a definition that uses deprecated entries, or for deprecating an entry that definitions use. */
  async warnings(workspaceId: string, kind: string, key: string, body: unknown, state?: WorkspaceState): Promise<string[]> {
    if (kind === DICTIONARY_KIND) {
      const entry = body as DictionaryEntry;
      if (entry?.status !== 'deprecated') return [];
      const lineage = new LineageIndex(state ?? (await this.state(workspaceId)));
      const users = lineage.lineage(entryTarget(entry)).usedBy.map((u) => `${u.kind}/${u.key}`);
      return users.length ? [`${describe(entry)} is deprecated and still used by ${users.join(', ')}`] : [];
    }
    if (!LINEAGE_KINDS.includes(kind)) return [];
    return deprecationWarnings(kind, key, body, await this.classifications(workspaceId)).map((w) => w.message);
  }

  /**
   * The workspace plan's hook (src/workspace/workspace.ts): every created or updated definition that uses a
   * deprecated entry, and every entry deprecated while definitions use it, gets a `warning:` line in its impact.
   */
  async advise(workspaceId: string, changes: { kind: string; key: string; op: string; impact: string[] }[], proposed: WorkspaceState): Promise<void> {
    const entries = [...(proposed.get(DICTIONARY_KIND) ?? new Map<string, unknown>()).values()].filter((e): e is DictionaryEntry => e !== null && typeof e === 'object');
    const c = new Classifications(entries);
    for (const change of changes) {
      if (change.op === 'delete') continue;
      const body = proposed.get(change.kind)?.get(change.key);
      let warnings: string[] = [];
      if (change.kind === DICTIONARY_KIND) warnings = await this.warnings(workspaceId, change.kind, change.key, body, proposed);
      else if (LINEAGE_KINDS.includes(change.kind)) warnings = deprecationWarnings(change.kind, change.key, body, c).map((w) => w.message);
      for (const w of warnings) change.impact.push(`warning: ${w}`);
    }
  }

  /** The definitions lineage reads (the kinds that name events, properties, traits or other definitions). */
  async state(workspaceId: string): Promise<WorkspaceState> {
    const state: WorkspaceState = new Map();
    for (const kind of [...LINEAGE_KINDS, DICTIONARY_KIND]) state.set(kind, new Map((await this.deps.store.definitions.list<unknown>(workspaceId, kind)).map((d) => [d.key, d.body])));
    return state;
  }

  async lineage(workspaceId: string, query: { event?: string; property?: string; trait?: string; computed?: string; definition?: string }): Promise<Lineage> {
    const given = (['event', 'property', 'trait', 'computed', 'definition'] as const).filter((k) => query[k] !== undefined);
    if (given.length === 0) throw badRequest('missing_target', 'event: give event (and property), property, trait, computed or definition', 'event');
    const alone = given.filter((k) => k !== 'event' && k !== 'property');
    if (alone.length > 1 || (alone.length === 1 && given.length > 1)) throw badRequest('invalid_target', `${alone[0]}: give one of event (with property), property, trait, computed or definition`, alone[0]);
    let target: string;
    if (query.definition !== undefined) {
      const m = /^([a-z-]+)\/(.+)$/.exec(query.definition);
      if (!m) throw badRequest('invalid_value', `definition: '${query.definition}' is not kind/key, such as audiences/cart_abandoners`, 'definition');
      target = definitionTarget(m[1], m[2]);
    } else if (query.trait !== undefined) target = traitTarget(query.trait);
    else if (query.computed !== undefined) target = computedTarget(query.computed);
    else if (query.property !== undefined) target = propertyTarget(query.event, query.property);
    else target = eventTarget(query.event!);
    return new LineageIndex(await this.state(workspaceId)).lineage(target);
  }

  /* ---- the observed schema, as the API shows it ---- */

  private async sourceKeys(workspaceId: string): Promise<Map<string, string>> {
    return new Map((await this.deps.store.sources.list(workspaceId)).map((s) => [s.id, s.key]));
  }

  private entitiesOf(workspaceId: string, filter: { source?: string; type?: string; event?: string }, keys: Map<string, string>): EntityNode[] {
    const out: EntityNode[] = [];
    for (const e of this.observed.entities.values()) {
      if (e.workspaceId !== workspaceId) continue;
      if (filter.type !== undefined && e.type !== filter.type) continue;
      if (filter.event !== undefined && e.event !== filter.event) continue;
      if (filter.source !== undefined && (keys.get(e.sourceId) ?? e.sourceId) !== filter.source) continue;
      out.push(e);
    }
    return out.sort((a, b) => (a.event < b.event ? -1 : a.event > b.event ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : a.sourceId < b.sourceId ? -1 : 1));
  }

  private entityView(e: EntityNode, keys: Map<string, string>, c: Classifications): EntityView {
    const entry = e.type === 'computed' ? undefined : c.events.get(e.event);
    return {
      source: e.type === 'computed' ? '' : (keys.get(e.sourceId) ?? e.sourceId), type: e.type, event: e.event,
      count: e.root.types[5], firstSeen: iso(e.root.firstSeen), lastSeen: iso(e.root.lastSeen), fields: e.fields, untracked: e.untracked,
      ...(entry ? { status: entry.status, ...(entry.description ? { description: entry.description } : {}), ...(entry.owners ? { owners: entry.owners } : {}) } : {}),
    };
  }

  private entryOf(e: EntityNode, path: string, c: Classifications): DictionaryEntry | undefined {
    if (e.type === 'identify') return c.traits.get(path);
    if (e.type === 'computed') return c.computed.get(path);
    return c.property(e.event, path);
  }

  private fieldView(e: EntityNode, field: FieldNode, parent: FieldNode, c: Classifications, mask: boolean): FieldView {
    const entry = this.entryOf(e, field.path, c);
    const personal = entry !== undefined && isPersonal(entry);
    const samples = [...new Set(field.samples)].slice(0, SHOWN_SAMPLES).map((s) => (personal && mask ? String(maskValue(s, entry.piiType)) : s));
    return {
      path: field.path, types: typesOf(field), count: totalOf(field), nullRate: Math.round(nullRateOf(field, parent) * 10_000) / 10_000,
      distinct: Math.round(distinctOf(field)), firstSeen: iso(field.firstSeen), lastSeen: iso(field.lastSeen), samples,
      ...(entry ? { classification: entry.classification, ...(entry.piiType ? { piiType: entry.piiType } : {}), status: entry.status, ...(entry.description ? { description: entry.description } : {}) } : {}),
    };
  }

  /** Every observed entity (event per source, identify, page, ..., computed traits), with counts. */
  async list(workspaceId: string, filter: { source?: string; type?: string; event?: string }): Promise<EntityView[]> {
    const keys = await this.sourceKeys(workspaceId);
    const c = await this.classifications(workspaceId);
    return this.entitiesOf(workspaceId, filter, keys).map((e) => this.entityView(e, keys, c));
  }

  /** One event (per source that sent it) with its fields. `mask`: samples of personal fields are masked. */
  async event(workspaceId: string, filter: { event: string; source?: string; type?: string }, mask: boolean): Promise<(EntityView & { properties: FieldView[] })[]> {
    const keys = await this.sourceKeys(workspaceId);
    const c = await this.classifications(workspaceId);
    return this.entitiesOf(workspaceId, filter, keys).map((e) => ({
      ...this.entityView(e, keys, c),
      properties: [...fieldsOf(e)].map(({ field, parent }) => this.fieldView(e, field, parent, c, mask)),
    }));
  }

  /** One field of an event (per source), with its volume per day. */
  async field(workspaceId: string, filter: { event: string; path: string; source?: string; type?: string }, mask: boolean): Promise<(FieldView & { source: string; type: string; event: string; days: { day: string; count: number }[] })[]> {
    const keys = await this.sourceKeys(workspaceId);
    const c = await this.classifications(workspaceId);
    const out = [];
    for (const e of this.entitiesOf(workspaceId, filter, keys)) {
      for (const { field, parent } of fieldsOf(e)) {
        if (field.path !== filter.path) continue;
        settleDay(field);
        out.push({
          source: this.entityView(e, keys, c).source, type: e.type, event: e.event, ...this.fieldView(e, field, parent, c, mask),
          days: [...field.days].sort(([a], [b]) => a - b).map(([d, n]) => ({ day: dayText(d), count: n })),
        });
      }
    }
    return out;
  }

  /** Classification suggestions for observed fields that have no decided dictionary entry. */
  async suggestions(workspaceId: string, mask: boolean): Promise<Suggestion[]> {
    const c = await this.classifications(workspaceId);
    const out = new Map<string, Suggestion>();
    for (const e of this.observed.entities.values()) {
      if (e.workspaceId !== workspaceId || e.type === 'alias') continue;
      for (const { field } of fieldsOf(e)) {
        const target = e.type === 'identify' ? { trait: field.path } : e.type === 'computed' ? { computed: field.path } : { event: e.event, property: field.path };
        const id = targetOf(target);
        if (out.has(id)) {
          out.get(id)!.samples.push(...field.samples);
          continue;
        }
        const entry = this.entryOf(e, field.path, c);
        if (entry && (entry.confirmedBy !== undefined || entry.classification !== 'none')) continue;
        const guess = suggestClassification(field.path, [...new Set(field.samples)], { isTrait: e.type === 'identify' || e.type === 'computed' });
        if (!guess) continue;
        out.set(id, { target: id, ...target, ...guess, samples: [...field.samples] });
      }
    }
    return [...out.values()]
      .map((s) => ({ ...s, samples: [...new Set(s.samples)].slice(0, SHOWN_SAMPLES).map((v) => (mask ? String(maskValue(v, s.piiType)) : v)) }))
      .sort((a, b) => (a.target < b.target ? -1 : 1));
  }

  /**
   * A person confirms (or corrects) a classification: the dictionary entry of the target is created or updated
   * through the definitions store (a new version). `classification: none` records that it is not personal data.
   */
  async confirm(workspaceId: string, input: { target: string; classification?: Classification; piiType?: PiiType; confirmedBy?: string }): Promise<{ created: boolean; version: number; entry: DictionaryEntry }> {
    const target = parseTarget(input.target);
    let classification = input.classification;
    let piiType = input.piiType;
    if (classification === undefined) {
      const suggestion = (await this.suggestions(workspaceId, false)).find((s) => s.target === input.target);
      if (!suggestion) throw badRequest('no_suggestion', `target: there is no suggestion for '${input.target}'; give classification (and piiType) to classify it yourself`, 'target');
      classification = suggestion.classification;
      piiType = suggestion.piiType;
    }
    const existing = (await this.deps.store.definitions.list<DictionaryEntry>(workspaceId, DICTIONARY_KIND)).find((d) => targetOf(d.body) === input.target);
    const base: DictionaryEntry = existing?.body ?? { key: keyFor(input.target), ...target };
    const { piiType: _old, ...rest } = base;
    const entry = await this.prepareEntry(workspaceId, { ...rest, classification, ...(classification === 'pii' && piiType ? { piiType } : {}), confirmedBy: input.confirmedBy ?? 'admin' });
    const version = await this.deps.store.definitions.put(workspaceId, DICTIONARY_KIND, entry.key, entry, { author: input.confirmedBy ?? 'admin', message: `dictionary/${entry.key}: classification confirmed (${classification}${piiType && classification === 'pii' ? `, ${piiType}` : ''})` });
    this.dictionaryChanged(workspaceId);
    return { created: !existing, version, entry };
  }
}

const describe = (e: DictionaryEntry) => (e.trait !== undefined ? `trait '${e.trait}'` : e.computed !== undefined ? `computed trait '${e.computed}'` : e.property !== undefined ? `property '${e.property}'${e.event ? ` of '${e.event}'` : ''}` : `event '${e.event}'`);

function entryTarget(e: DictionaryEntry): string {
  if (e.trait !== undefined) return traitTarget(e.trait);
  if (e.computed !== undefined) return computedTarget(e.computed);
  if (e.property !== undefined) return propertyTarget(e.event, e.property);
  return eventTarget(e.event!);
}

/** `property:Order Completed:total` -> `{ event, property }` (the form targetOf writes). */
export function parseTarget(target: string): Pick<DictionaryEntry, 'event' | 'property' | 'trait' | 'computed'> {
  const m = /^(event|property|trait|computed):(.+)$/s.exec(target);
  if (!m) throw badRequest('invalid_value', `target: '${target}' is not event:<name>, property:<event or *>:<path>, trait:<path> or computed:<key>`, 'target');
  if (m[1] === 'event') return { event: m[2] };
  if (m[1] === 'trait') return { trait: m[2] };
  if (m[1] === 'computed') return { computed: m[2] };
  const i = m[2].lastIndexOf(':');
  if (i < 0) throw badRequest('invalid_value', `target: '${target}' needs the event (or *) and the path: property:Order Completed:total`, 'target');
  const event = m[2].slice(0, i);
  return event === '*' ? { property: m[2].slice(i + 1) } : { event, property: m[2].slice(i + 1) };
}

/** A dictionary key for a target: `trait.email`, `order_completed.total`. */
function keyFor(target: string): string {
  const slug = target.replace(/^property:\*:/, 'any:').replace(/^property:/, '').replace(/\[\]/g, '_items').replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '').toLowerCase();
  return (slug || 'entry').slice(0, 120);
}



/** Wraps an apply store so that every commit is also shown to `listener` (computed-trait values as they change). */
export function observeApplyCommits<S extends { commit(commit: ApplyCommit, ...rest: never[]): unknown }>(store: S, listener: (commit: ApplyCommit) => void): S {
  const commit = store.commit.bind(store) as (commit: ApplyCommit, ...rest: unknown[]) => unknown;
  (store as unknown as { commit: (commit: ApplyCommit, ...rest: unknown[]) => unknown }).commit = (c: ApplyCommit, ...rest: unknown[]) => {
    const out = commit(c, ...rest);
    try {
      listener(c);
    } catch {
      // Observing must never fail a commit.
    }
    return out;
  };
  return store;
}
