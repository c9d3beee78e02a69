import type { Message } from '../collect/message.js';
import { TandemError } from '../core/errors.js';
import type { WorkspaceState } from '../workspace/kinds.js';
import type { WorkspaceDocument } from '../workspace/workspace.js';
import { ALIASES_KIND, withEventRename, withPropertyRename, withRetype, type Aliases } from './aliases.js';
import { convert, type TargetType } from './convert.js';
import { readersOf, renameEventIn, renamePropertyIn, retypeIn, type DefinitionEdit } from './definitions.js';
import { rewriteHistory, type Outcome } from './history.js';
import type { RunContext } from './migrations.js';
import { jsonPathOf, moveAt, segmentsOf, setAt, valueAt } from './paths.js';
import type { HistoryQuery } from './ports.js';

/** A migration of the stored history with the definitions and aliases that go with it. */
interface HistorySpec {
  query: Omit<HistoryQuery, 'afterId' | 'limit'>;
  /** Rewrites one stored message in place. */
  transform(m: Message): Outcome;
  /** The new aliases and the definitions to update, from the workspace as it is. */
  definitions(state: WorkspaceState): { aliases: Aliases; edits: DefinitionEdit[]; warnings: string[] };
  /** Audiences and traits whose answers the rewritten history changes although their bodies do not. */
  stale(state: WorkspaceState): { kind: string; key: string }[];
  /** A name the history only knows once it is rewritten (not an unknown reference for strict mode). */
  newName: string;
  /** Held quarantine items (event renames). */
  held?: { count(): number; rename(): number };
}

const aliasesOf = (state: WorkspaceState) => state.get(ALIASES_KIND)?.get('default') as Aliases | undefined;
const documentsOf = (aliases: Aliases, edits: DefinitionEdit[]): WorkspaceDocument[] => [{ kind: ALIASES_KIND, ...aliases }, ...edits.map((e) => ({ kind: e.kind, ...e.after }))];

/**
 * The steps every history migration takes (docs/migrations.md): validate the new definitions (a plan: nothing is
 * written when one is invalid), rewrite the stored history (store and warehouse), apply aliases and definitions as
 * one workspace version (collection renames from then on; changed audiences and traits backfill over the rewritten
 * history), then rewrite what arrived under the old form meanwhile and backfill what read the new form already.
 */
async function runHistoryMigration(ctx: RunContext, spec: HistorySpec): Promise<Record<string, unknown>> {
  const { deps, workspaceId: ws } = ctx;
  const state = await deps.workspace.state(ws);
  const { aliases, edits, warnings } = spec.definitions(state);
  const documents = documentsOf(aliases, edits);
  ctx.progress('checking definitions', 0, 0);
  const plan = await deps.workspace.plan(ws, documents);
  const references = plan.references.filter((p) => !p.message.includes(`'${spec.newName}'`));
  if (plan.strict && references.length) {
    throw new TandemError('unknown_references', `strict mode: the updated definitions name unknown events or properties; nothing was migrated:\n${references.map((p) => `${p.document}: ${p.message}`).join('\n')}`, 400, references[0].path, references);
  }
  const changed = new Set(plan.changes.map((c) => `${c.kind}/${c.key}`));
  const stale = spec.stale(state).filter((s) => !changed.has(`${s.kind}/${s.key}`));
  const total = deps.history.count(spec.query);
  let done = 0;
  ctx.progress('rewriting history', 0, total);
  const pass = await rewriteHistory(deps, spec.query, (m) => spec.transform(m), { write: !ctx.dryRun, progress: (n) => ctx.progress('rewriting history', (done += n), total) });
  const report: Record<string, unknown> = {
    history: pass.report,
    definitions: plan.changes.map((c) => ({ kind: c.kind, key: c.key, op: c.op, fields: c.fields, changes: edits.find((e) => e.kind === c.kind && e.key === c.key)?.changes ?? [] })),
    backfilled: stale.map((s) => `${s.kind}/${s.key}`),
    warnings: [...warnings, ...references.map((p) => `${p.document}: ${p.message}`)],
  };
  if (spec.held) report.quarantine = ctx.dryRun ? spec.held.count() : spec.held.rename();
  if (ctx.dryRun) return report;

  ctx.progress('updating definitions', 0, 0);
  const applied = await deps.workspace.apply(ws, documents, { author: ctx.author, message: ctx.message });
  report.version = applied.version;
  if (applied.errors.length) report.errors = applied.errors;
  // Messages collected before the aliases reached collection are stored under the old form: rewrite them too.
  ctx.progress('catching up', 0, 0);
  await deps.pipeline.drain();
  const late = await rewriteHistory(deps, { ...spec.query, afterId: pass.lastId }, (m) => spec.transform(m), { write: true, report: pass.report });
  if (late.changedIds.length) await deps.apply.recompute(ws, deps.history.profilesOf(ws, late.changedIds));
  report.late = late.changedIds.length;
  for (const s of stale) await deps.apply.definitionChanged(ws, s.kind, s.key);
  return report;
}

export function renameEvent(ctx: RunContext, from: string, to: string): Promise<Record<string, unknown>> {
  const ws = ctx.workspaceId;
  return runHistoryMigration(ctx, {
    query: { workspaceId: ws, event: from, types: ['track'] },
    transform(m) {
      if (m.event !== from) return { outcome: 'unchanged' };
      m.event = to;
      return { outcome: 'changed', before: { event: from }, after: { event: to } };
    },
    definitions: (state) => ({ aliases: withEventRename(aliasesOf(state), from, to), edits: renameEventIn(state, { from, to }), warnings: [] }),
    // Definitions that already read the new name now see the old name's events too.
    stale: (state) => readersOf(state, to),
    newName: to,
    held: { count: () => ctx.deps.history.countHeld(ws, from), rename: () => ctx.deps.history.renameHeld(ws, from, to) },
  });
}

export function renameProperty(ctx: RunContext, event: string | undefined, from: string, to: string): Promise<Record<string, unknown>> {
  const source = segmentsOf(from);
  const target = segmentsOf(to);
  return runHistoryMigration(ctx, {
    query: { workspaceId: ctx.workspaceId, types: event === undefined ? ['track', 'page', 'screen'] : ['track'], event, jsonPath: jsonPathOf('properties', source) },
    transform(m) {
      const props = m.properties ?? {};
      const value = valueAt(props, source);
      const moved = moveAt(props, source, target);
      if (moved === 'moved') return { outcome: 'changed', before: { [from]: value }, after: { [to]: value } };
      if (moved === 'conflict') return { outcome: 'conflict', before: { [from]: value, [to]: valueAt(props, target) } };
      return { outcome: 'unchanged' };
    },
    definitions(state) {
      const { edits, warnings } = renamePropertyIn(state, { event, from, to });
      return { aliases: withPropertyRename(aliasesOf(state), event, from, to), edits, warnings };
    },
    stale: (state) => readersOf(state, event, to),
    newName: to,
  });
}

export function retypeProperty(ctx: RunContext, event: string | undefined, property: string, type: TargetType): Promise<Record<string, unknown>> {
  const path = segmentsOf(property);
  return runHistoryMigration(ctx, {
    query: { workspaceId: ctx.workspaceId, types: event === undefined ? ['track', 'page', 'screen'] : ['track'], event, jsonPath: jsonPathOf('properties', path) },
    transform(m) {
      const props = m.properties ?? {};
      const value = valueAt(props, path);
      const c = convert(value, type);
      if (c.outcome === 'unchanged') return c;
      if (c.outcome === 'failed') return { outcome: 'failed', value, reason: c.reason };
      setAt(props, path, c.value);
      return { outcome: 'changed', before: value, after: c.value };
    },
    definitions: (state) => ({ aliases: withRetype(aliasesOf(state), event, property, type), edits: retypeIn(state, event, property, type), warnings: [] }),
    // Every audience and trait reading the property compares converted values from now on.
    stale: (state) => readersOf(state, event, property),
    newName: property,
  });
}
