import type { Clock } from '../core/clock.js';
import { TandemError } from '../core/errors.js';
import { newSecret, sha256 } from '../core/ids.js';
import type { DefinitionChange, Store, VersionMeta, WorkspaceWrite } from '../core/ports/store.js';
import { WRITE_KEY_PREFIX } from '../server/sources-routes.js';
import { diffFields, jsonEqual, type FieldDiff } from './diff.js';
import { SETTINGS_KIND, SOURCES_KIND, type KindContext, type WorkspaceKind, type WorkspaceState } from './kinds.js';
import { referencesOf, schemaPaths, valuePaths } from './references.js';

/** A document of a workspace file: `kind` and the body of that kind's admin API (`$schema` is ignored). */
export type WorkspaceDocument = { kind: string } & Record<string, unknown>;

/** A problem found in a document: `audiences/cart_abandoners` at `condition.all[1].within`. */
export interface Problem {
  document: string;
  path: string;
  code: string;
  message: string;
}

export interface PlannedChange {
  kind: string;
  key: string;
  op: 'create' | 'update' | 'delete';
  fields: FieldDiff[];
  /** What the change sets off: backfills, dependents, sources affected. */
  impact: string[];
}

export interface Plan {
  /** The workspace version the plan was computed against (pass it to apply to refuse a changed workspace). */
  baseVersion: number;
  prune: boolean;
  strict: boolean;
  changes: PlannedChange[];
  unchanged: number;
  /** Definitions in the workspace but not in the documents: deleted only with prune. */
  notInDocuments: string[];
  /** References to events or properties that neither a tracking plan nor the stored history knows (errors in strict mode). */
  references: Problem[];
}

export interface ApplyResult extends Plan {
  /** The new workspace version (the base version when nothing changed). */
  version: number;
  /** Write keys of the sources this apply created, shown this once. */
  writeKeys: Record<string, string>;
  /** Side effects that failed after the commit (the change stands; the named component logged the error). */
  errors: string[];
}

export interface VersionView {
  version: number;
  at: string;
  author: string;
  message: string;
  changes: { kind: string; key: string; op: DefinitionChange['op']; fields: FieldDiff[]; before?: unknown; after?: unknown }[];
}

const SAMPLE = 200;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const docName = (kind: string, key: string) => `${kind}/${key}`;

/**
 * Workspace as code (docs/workspace.md): plan (diff, impact, reference checks), apply (validate everything, commit
 * in one transaction as one version, then side effects), export, versions and rollback.
 */
export class WorkspaceService {
  private readonly byKind: Map<string, WorkspaceKind>;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: {
      store: Store; clock: Clock; kinds: WorkspaceKind[]; onError?: (message: string) => void;
      /** Adds advice to the plan's changes (impact lines such as deprecation warnings, src/metadata). */
      advise?: (workspaceId: string, changes: PlannedChange[], proposed: WorkspaceState) => Promise<void>;
    },
  ) {
    this.byKind = new Map(deps.kinds.map((k) => [k.kind, k]));
  }

  get kinds(): WorkspaceKind[] {
    return this.deps.kinds;
  }

  /** The stored definitions of every kind. */
  async state(workspaceId: string): Promise<WorkspaceState> {
    const state: WorkspaceState = new Map();
    for (const k of this.deps.kinds) {
      const entries = k.kind === SOURCES_KIND
        ? (await this.deps.store.sources.list(workspaceId)).map((s) => [s.key, { key: s.key, ...s.settings }] as [string, unknown])
        : (await this.deps.store.definitions.list<unknown>(workspaceId, k.kind)).map((d) => [d.key, d.body] as [string, unknown]);
      state.set(k.kind, new Map(entries));
    }
    return state;
  }

  latestVersion(workspaceId: string): Promise<number> {
    return this.deps.store.versions.latest(workspaceId);
  }

  /** The current definitions as documents, kind by kind in dependency order. */
  async export(workspaceId: string): Promise<WorkspaceDocument[]> {
    return this.documentsOf(await this.state(workspaceId));
  }

  documentsOf(state: WorkspaceState): WorkspaceDocument[] {
    const out: WorkspaceDocument[] = [];
    for (const k of this.deps.kinds) {
      for (const [, body] of [...(state.get(k.kind) ?? new Map<string, unknown>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        out.push({ kind: k.kind, ...(body as Record<string, unknown>) });
      }
    }
    return out;
  }

  /** Validates the documents against the workspace and describes what applying them would change. */
  async plan(workspaceId: string, documents: unknown[], options: { prune?: boolean } = {}): Promise<Plan> {
    return (await this.prepare(workspaceId, documents, options.prune ?? false)).plan;
  }

  /**
   * Applies the documents all or nothing: every document is validated first (errors name the document and the
   * path), then all writes commit in one transaction as one workspace version, then each kind's side effects run.
   */
  async apply(workspaceId: string, documents: unknown[], options: { prune?: boolean; baseVersion?: number } & VersionMeta): Promise<ApplyResult> {
    return this.exclusive(workspaceId, async () => {
      const prepared = await this.prepare(workspaceId, documents, options.prune ?? false);
      const { plan, bodies } = prepared;
      if (options.baseVersion !== undefined && options.baseVersion !== plan.baseVersion) {
        throw new TandemError('stale_plan', `the workspace is at version ${plan.baseVersion}, not ${options.baseVersion} as planned; plan again`, 409, 'baseVersion');
      }
      if (plan.strict && plan.references.length) {
        throw new TandemError('unknown_references', `strict mode: nothing was applied:\n${plan.references.map((p) => `${p.document}: ${p.message}`).join('\n')}`, 400, plan.references[0].path, plan.references);
      }
      const writeKeys: Record<string, string> = {};
      const writes: WorkspaceWrite[] = plan.changes.map((c) => {
        const body = c.op === 'delete' ? null : bodies.get(docName(c.kind, c.key));
        if (c.kind === SOURCES_KIND && c.op === 'create') {
          const writeKey = newSecret(WRITE_KEY_PREFIX);
          writeKeys[c.key] = writeKey;
          return { kind: c.kind, key: c.key, body, writeKey: { hash: sha256(writeKey), prefix: writeKey.slice(0, 8) } };
        }
        return { kind: c.kind, key: c.key, body };
      });
      const committed = await this.deps.store.versions.commit(workspaceId, writes, { author: options.author, message: options.message });
      const errors: string[] = [];
      for (const c of plan.changes) {
        const after = c.op === 'delete' ? undefined : { version: committed.definitionVersions[docName(c.kind, c.key)] ?? 0, body: bodies.get(docName(c.kind, c.key)) };
        try {
          await this.byKind.get(c.kind)!.changed(workspaceId, c.key, after);
        } catch (error) {
          const message = `${docName(c.kind, c.key)}: applied, but its side effects failed: ${(error as Error).message}`;
          errors.push(message);
          this.deps.onError?.(message);
        }
      }
      if (committed.version) {
        await this.deps.store.audit.add({ workspaceId, actor: options.author, action: 'workspace.apply', target: `version ${committed.version}`, detail: { message: options.message, changes: plan.changes.length } }, this.deps.clock.now());
      }
      return { ...plan, version: committed.version || plan.baseVersion, writeKeys, errors };
    });
  }

  /** The definitions as they were at a version: the current ones with every later version's changes undone. */
  async stateAt(workspaceId: string, version: number): Promise<WorkspaceState> {
    const latest = await this.deps.store.versions.latest(workspaceId);
    if (!Number.isInteger(version) || version < 0 || version > latest) throw new TandemError('not_found', `version ${version} does not exist (the latest is ${latest})`, 404, 'to');
    const state = await this.state(workspaceId);
    for (let before = latest + 1; before > version + 1;) {
      const page = await this.deps.store.versions.list(workspaceId, { before, limit: 500 });
      for (const v of page) {
        if (v.version <= version) break;
        for (const c of [...v.changes].reverse()) {
          const kind = state.get(c.kind);
          if (!kind) continue;
          if (c.before === null || c.before === undefined) kind.delete(c.key);
          else kind.set(c.key, c.before);
        }
        before = v.version;
      }
      if (page.length === 0) break;
    }
    return state;
  }

  /** Applies the definitions of an earlier version as a new version (history is never rewritten). */
  async rollback(workspaceId: string, to: number, meta: VersionMeta): Promise<ApplyResult> {
    const documents = this.documentsOf(await this.stateAt(workspaceId, to));
    return this.apply(workspaceId, documents, { prune: true, ...meta });
  }

  async versions(workspaceId: string, filter: { before?: number; limit: number }): Promise<VersionView[]> {
    return (await this.deps.store.versions.list(workspaceId, filter)).map((v) => this.view(v, false));
  }

  async version(workspaceId: string, version: number): Promise<VersionView> {
    const v = await this.deps.store.versions.get(workspaceId, version);
    if (!v) throw new TandemError('not_found', `version ${version} does not exist`, 404);
    return this.view(v, true);
  }

  private view(v: Awaited<ReturnType<Store['versions']['get']>> & object, bodies: boolean): VersionView {
    return {
      version: v.version,
      at: new Date(v.at).toISOString(),
      author: v.author,
      message: v.message,
      changes: v.changes.map((c) => ({
        kind: c.kind, key: c.key, op: c.op, fields: diffFields(c.before ?? undefined, c.after ?? undefined),
        ...(bodies ? { before: c.before, after: c.after } : {}),
      })),
    };
  }

  private async exclusive<T>(workspaceId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(workspaceId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    this.locks.set(workspaceId, run.catch(() => undefined));
    return run;
  }

  /** Reads the documents, validates them all against the proposed workspace and computes the plan. */
  private async prepare(workspaceId: string, documents: unknown[], prune: boolean): Promise<{ plan: Plan; bodies: Map<string, unknown> }> {
    if (!Array.isArray(documents)) throw new TandemError('wrong_type', 'documents must be an array of workspace documents', 400, 'documents');
    const problems: Problem[] = [];
    const raw = new Map<string, { kind: WorkspaceKind; key: string; body: unknown }>();
    documents.forEach((doc, i) => {
      const at = `documents[${i}]`;
      if (!isObject(doc)) return problems.push({ document: at, path: '', code: 'wrong_type', message: 'must be an object with kind' });
      const { kind: kindName, $schema: _schema, ...body } = doc;
      const kind = typeof kindName === 'string' ? this.byKind.get(kindName) : undefined;
      if (!kind) {
        return problems.push({ document: at, path: 'kind', code: 'unknown_kind', message: `kind must be one of ${this.deps.kinds.map((k) => k.kind).join(', ')} (got ${JSON.stringify(kindName)})` });
      }
      let key: string;
      if (kind.singleton) {
        if (body.key !== undefined && body.key !== 'default') return problems.push({ document: `${kind.kind}/${String(body.key)}`, path: 'key', code: 'invalid_value', message: `${kind.kind} has one definition per workspace; key must be 'default' or absent` });
        delete body.key;
        key = 'default';
      } else {
        if (typeof body.key !== 'string' || body.key === '') return problems.push({ document: `${at} (${kind.kind})`, path: 'key', code: 'required', message: 'key is required' });
        key = body.key;
      }
      const name = docName(kind.kind, key);
      if (raw.has(name)) return problems.push({ document: name, path: 'key', code: 'duplicate', message: `${name} appears twice in the documents` });
      raw.set(name, { kind, key, body });
    });

    const current = await this.state(workspaceId);
    const proposed: WorkspaceState = new Map([...current].map(([k, m]) => [k, new Map(prune ? [] : m)]));
    for (const d of raw.values()) proposed.get(d.kind.kind)!.set(d.key, d.body);
    const ctx: KindContext = { workspaceId, proposed, current };

    const bodies = new Map<string, unknown>();
    for (const kind of this.deps.kinds) {
      for (const d of raw.values()) {
        if (d.kind !== kind) continue;
        const name = docName(kind.kind, d.key);
        try {
          const body = await kind.validate(d.body, ctx);
          bodies.set(name, body);
          proposed.get(kind.kind)!.set(d.key, body);
        } catch (error) {
          problems.push(asProblem(name, error));
        }
      }
    }
    const deletes: { kind: WorkspaceKind; key: string }[] = [];
    const notInDocuments: string[] = [];
    for (const kind of this.deps.kinds) {
      for (const key of current.get(kind.kind)!.keys()) {
        if (raw.has(docName(kind.kind, key))) continue;
        if (!prune) {
          notInDocuments.push(docName(kind.kind, key));
          continue;
        }
        try {
          kind.checkDelete?.(key, ctx);
          deletes.push({ kind, key });
        } catch (error) {
          problems.push(asProblem(docName(kind.kind, key), error, 'deleting '));
        }
      }
    }
    if (problems.length) {
      const lines = problems.map((p) => `${p.document}: ${p.message}`);
      throw new TandemError('invalid_workspace', problems.length === 1 ? lines[0] : `${problems.length} documents are invalid; nothing was applied:\n${lines.join('\n')}`, 400, problems[0].path, problems);
    }

    const changes: PlannedChange[] = [];
    let unchanged = 0;
    for (const kind of this.deps.kinds) {
      for (const d of raw.values()) {
        if (d.kind !== kind) continue;
        const before = current.get(kind.kind)!.get(d.key);
        const after = bodies.get(docName(kind.kind, d.key));
        if (before !== undefined && jsonEqual(before, after)) {
          unchanged++;
          continue;
        }
        changes.push({ kind: kind.kind, key: d.key, op: before === undefined ? 'create' : 'update', fields: diffFields(before, after), impact: [] });
      }
      for (const del of deletes.filter((x) => x.kind === kind)) changes.push({ kind: kind.kind, key: del.key, op: 'delete', fields: diffFields(current.get(kind.kind)!.get(del.key), undefined), impact: [] });
    }
    const settings = proposed.get(SETTINGS_KIND)?.get('default') as { strict?: boolean } | undefined;
    const references = await this.checkReferences(workspaceId, changes, proposed);
    await this.impact(workspaceId, changes, proposed, current);
    await this.deps.advise?.(workspaceId, changes, proposed);
    return {
      plan: { baseVersion: await this.deps.store.versions.latest(workspaceId), prune, strict: settings?.strict === true, changes, unchanged, notInDocuments, references },
      bodies,
    };
  }

  /**
   * Events and properties named by created or updated audiences, traits and journeys that neither a tracking plan
   * (of the proposed workspace) nor the stored history knows. Properties are checked against a sample: the last
   * 200 stored events of that name. Also audiences and traits named by journeys and audiences that do not exist.
   */
  private async checkReferences(workspaceId: string, changes: PlannedChange[], proposed: WorkspaceState): Promise<Problem[]> {
    const planned = new Map<string, Set<string>>();
    for (const plan of proposed.get('tracking-plans')?.values() ?? []) {
      for (const [event, schema] of Object.entries((plan as { events?: Record<string, unknown> }).events ?? {})) {
        const paths = planned.get(event) ?? new Set<string>();
        schemaPaths(schema, '', paths);
        planned.set(event, paths);
      }
    }
    const observed = new Map<string, Set<string> | undefined>();
    const observedPaths = async (event: string | undefined) => {
      const id = event ?? '\u0000any';
      if (!observed.has(id)) {
        const events = await this.deps.store.events.list(workspaceId, event === undefined ? { type: 'track', limit: SAMPLE } : { event, limit: SAMPLE });
        observed.set(id, events.length ? events.reduce((set, e) => valuePaths(e.message.properties, '', set), new Set<string>()) : undefined);
      }
      return observed.get(id);
    };
    const problems: Problem[] = [];
    const exists = (kind: string, key: string) => proposed.get(kind)?.has(key) ?? false;
    // Computed traits come from trait definitions, from models (their output, default the key) and from SQL models
    // that feed a trait.
    const computedTraits = new Set(proposed.get('traits')?.keys() ?? []);
    for (const [key, body] of proposed.get('models') ?? []) computedTraits.add((body as { output?: string }).output ?? key);
    for (const body of proposed.get('models-sql')?.values() ?? []) {
      const trait = (body as { output?: { trait?: string } }).output?.trait;
      if (typeof trait === 'string') computedTraits.add(trait);
    }
    for (const c of changes) {
      if (c.op === 'delete') continue;
      const document = docName(c.kind, c.key);
      const body = proposed.get(c.kind)?.get(c.key);
      if (c.kind === SOURCES_KIND) {
        const plan = (body as { trackingPlan?: string }).trackingPlan;
        if (plan !== undefined && !exists('tracking-plans', plan)) problems.push({ document, path: 'trackingPlan', code: 'unknown_tracking_plan', message: `trackingPlan: tracking plan '${plan}' does not exist` });
        continue;
      }
      const refs = referencesOf(c.kind, body);
      for (const e of refs.events) {
        const seen = await observedPaths(e.event);
        const plannedPaths = planned.get(e.event);
        if (!seen && !plannedPaths) {
          problems.push({ document, path: e.path, code: 'unknown_event', message: `${e.path}: event '${e.event}' is in no tracking plan and has never been received` });
          continue;
        }
        for (const p of e.properties) {
          if (seen?.has(p.property) || plannedPaths?.has(p.property)) continue;
          problems.push({ document, path: p.path, code: 'unknown_property', message: `${p.path}: property '${p.property}' of '${e.event}' is not in its tracking plan schema nor in the last ${SAMPLE} '${e.event}' events received` });
        }
      }
      if (refs.anyEvent.length) {
        const seen = await observedPaths(undefined);
        const plannedAll = new Set([...planned.values()].flatMap((s) => [...s]));
        for (const p of refs.anyEvent) {
          if (seen?.has(p.property) || plannedAll.has(p.property)) continue;
          problems.push({ document, path: p.path, code: 'unknown_property', message: `${p.path}: property '${p.property}' is in no tracking plan schema nor in the last ${SAMPLE} track events received` });
        }
      }
      for (const a of refs.audiences) if (!exists('audiences', a.key)) problems.push({ document, path: a.path, code: 'unknown_audience', message: `${a.path}: audience '${a.key}' does not exist` });
      for (const t of refs.computed) if (!computedTraits.has(t.key)) problems.push({ document, path: t.path, code: 'unknown_trait', message: `${t.path}: computed trait '${t.key}' does not exist` });
    }
    return problems;
  }

  /** Fills each change's impact: backfills with their size, sources a plan checks, dependents of audiences and traits. */
  private async impact(workspaceId: string, changes: PlannedChange[], proposed: WorkspaceState, current: WorkspaceState): Promise<void> {
    let total: number | undefined;
    const count = async (event?: string) => (event === undefined ? (total ??= await this.deps.store.events.count(workspaceId)) : this.deps.store.events.count(workspaceId, { event }));
    // Who reads what, over the proposed workspace and (for deletes) the current one.
    const readers = (kind: 'audiences' | 'traits', key: string) => {
      const audiences = new Set<string>();
      const journeys = new Set<string>();
      const queue: [string, string][] = [[kind, key]];
      while (queue.length) {
        const [k, target] = queue.shift()!;
        for (const state of [proposed, current]) {
          for (const [a, body] of state.get('audiences') ?? []) {
            const refs = referencesOf('audiences', body);
            const reads = k === 'audiences' ? refs.audiences.some((r) => r.key === target) : refs.computed.some((r) => r.key === target);
            if (reads && !audiences.has(a) && !(k === 'audiences' && a === target)) (audiences.add(a), queue.push(['audiences', a]));
          }
          for (const [j, body] of state.get('journeys') ?? []) {
            const refs = referencesOf('journeys', body);
            if (k === 'audiences' ? refs.audiences.some((r) => r.key === target) : refs.computed.some((r) => r.key === target)) journeys.add(j);
          }
        }
      }
      return { audiences: [...audiences].sort(), journeys: [...journeys].sort() };
    };
    const list = (noun: string, keys: string[]) => `${noun}${keys.length > 1 ? 's' : ''} ${keys.length > 1 ? `${keys.slice(0, -1).join(', ')} and ${keys[keys.length - 1]}` : keys[0]}`;
    for (const c of changes) {
      const body = (c.op === 'delete' ? current : proposed).get(c.kind)?.get(c.key) as Record<string, unknown> | undefined;
      if (c.kind === 'audiences') {
        c.impact.push(c.op === 'delete' ? 'its memberships are dropped' : `backfill over ${(await count()).toLocaleString('en-US')} events`);
      } else if (c.kind === 'traits' && body) {
        if (typeof body.sql === 'string') c.impact.push(c.op === 'delete' ? 'its values are dropped' : `SQL trait: runs at once, then every ${String(body.schedule)}`);
        else if (c.op === 'delete') c.impact.push('its values are dropped');
        else if (typeof body.event === 'string') c.impact.push(`backfill over ${(await count(body.event)).toLocaleString('en-US')} '${body.event}' events`);
        else c.impact.push(`backfill over ${(await count()).toLocaleString('en-US')} events`);
      } else if (c.kind === 'journeys') {
        c.impact.push(c.op === 'create' ? 'starts taking entries' : c.op === 'update' ? 'new entries take the new version; running instances keep theirs' : 'running instances exit');
      } else if (c.kind === 'tracking-plans') {
        const users = [...(proposed.get(SOURCES_KIND) ?? [])].filter(([, s]) => (s as { trackingPlan?: string }).trackingPlan === c.key).map(([k]) => k);
        if (users.length) c.impact.push(`checks ${list('source', users)}`);
      } else if (c.kind === SOURCES_KIND && c.op === 'create') c.impact.push('a write key is created and shown once');
      else if (c.kind === SOURCES_KIND && c.op === 'delete') c.impact.push('its write key stops working');
      if (c.kind === 'audiences' || c.kind === 'traits') {
        const r = readers(c.kind, c.key);
        const parts = [r.audiences.length ? list('audience', r.audiences) : '', r.journeys.length ? list('journey', r.journeys) : ''].filter(Boolean);
        if (parts.length) c.impact.push(`${parts.join(' and ')} depend${r.audiences.length + r.journeys.length > 1 ? '' : 's'} on it`);
      }
    }
  }
}

function asProblem(document: string, error: unknown, prefix = ''): Problem {
  if (error instanceof TandemError) {
    const path = error.path ?? '';
    // Messages of the kinds' validators mostly start with the path already (`condition.all[1].within: ...`).
    const message = path && !error.message.startsWith(path) ? `${path}: ${error.message}` : error.message;
    return { document, path, code: error.code, message: `${prefix}${message}` };
  }
  return { document, path: '', code: 'invalid', message: `${prefix}${(error as Error).message}` };
}
