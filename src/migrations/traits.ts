import { jsonEqual } from '../workspace/diff.js';
import { rewriteHistory, emptyReport } from './history.js';
import type { RunContext } from './migrations.js';
import { parseTraitRows, type TraitRow } from './rows.js';
import { jsonPathOf } from './paths.js';

interface Target {
  profileId: string;
  /** How an identify message names the profile. */
  address?: { userId: string } | { anonymousId: string };
  before: Record<string, unknown>;
  traits: Record<string, unknown>;
  lines: number[];
}

const SAMPLES = 5;
const BATCH = 500;
const RECOMPUTE = 200;

/** The profiles the rows name (rows naming one profile merge, later lines winning), and the rows that name none. */
async function targetsOf(ctx: RunContext, rows: TraitRow[], identifier: string) {
  const targets = new Map<string, Target>();
  const notFound: { line: number; identifier: string }[] = [];
  for (const row of rows) {
    const profile = await ctx.deps.profiles.lookup(ctx.workspaceId, identifier, row.identifier);
    if (!profile) {
      notFound.push({ line: row.line, identifier: row.identifier });
      continue;
    }
    let t = targets.get(profile.id);
    if (!t) {
      const userId = profile.identifiers.find((i) => i.type === 'user_id')?.value;
      const anonymousId = profile.identifiers.find((i) => i.type === 'anonymous_id')?.value;
      const address = userId !== undefined ? { userId } : anonymousId !== undefined ? { anonymousId } : undefined;
      targets.set(profile.id, (t = { profileId: profile.id, address, before: profile.traits, traits: {}, lines: [] }));
    }
    Object.assign(t.traits, row.traits);
    t.lines.push(row.line);
  }
  return { targets: [...targets.values()], notFound };
}

/**
 * Bulk trait updates: each profile gets one identify message from the `migrations` source stating its new traits,
 * appended to the log like any collected message, so the values follow survivorship and keep lineage (source,
 * message and event), and audiences and computed traits react as they do to any identify call.
 */
export async function updateTraits(ctx: RunContext, r: { format: 'csv' | 'jsonl'; data: string; identifier?: string; column?: string }): Promise<Record<string, unknown>> {
  const identifier = r.identifier ?? 'user_id';
  const rows = parseTraitRows(r.format, r.data, r.column ?? identifier);
  ctx.progress('looking up profiles', 0, rows.length);
  const { targets, notFound } = await targetsOf(ctx, rows, identifier);
  const changes = targets.map((t) => ({ t, changed: Object.entries(t.traits).filter(([k, v]) => !jsonEqual(t.before[k], v)).map(([k]) => k) }));
  const unaddressable = targets.filter((t) => t.address === undefined);
  const report: Record<string, unknown> = {
    rows: rows.length,
    profiles: targets.length,
    notFound: notFound.length,
    notFoundSamples: notFound.slice(0, SAMPLES),
    values: changes.reduce((n, c) => n + c.changed.length, 0),
    unchangedProfiles: changes.filter((c) => c.changed.length === 0).length,
    samples: changes.filter((c) => c.changed.length).slice(0, SAMPLES).map(({ t, changed }) => ({
      profileId: t.profileId,
      before: Object.fromEntries(changed.map((k) => [k, t.before[k] ?? null])),
      after: Object.fromEntries(changed.map((k) => [k, t.traits[k]])),
    })),
    ...(unaddressable.length ? { unaddressable: unaddressable.map((t) => t.profileId).slice(0, SAMPLES), unaddressableCount: unaddressable.length } : {}),
  };
  if (ctx.dryRun) return report;

  const source = await ctx.deps.migrationsSource(ctx.workspaceId);
  const now = ctx.deps.clock.now();
  const messages = changes.filter((c) => c.changed.length && c.t.address).map(({ t }, n) => ({
    type: 'identify', ...t.address, traits: t.traits, messageId: `migration-${ctx.id}-${n}`, timestamp: new Date(now).toISOString(),
    context: { migration: ctx.id },
  }));
  let accepted = 0;
  const errors: unknown[] = [];
  for (let i = 0; i < messages.length; i += BATCH) {
    const result = await ctx.deps.collect(source, messages.slice(i, i + BATCH), now);
    accepted += result.accepted;
    errors.push(...result.errors.slice(0, SAMPLES - errors.length));
    ctx.progress('sending identify messages', Math.min(i + BATCH, messages.length), messages.length);
  }
  // Answer when the profiles read back the new values.
  ctx.progress('waiting for the pipeline', 0, 0);
  await ctx.deps.pipeline.drain();
  return { ...report, messages: accepted, source: source.key, ...(errors.length ? { errors } : {}) };
}

/**
 * Bulk trait deletions: the traits' values go from each profile (every sighting, whatever its source) and from the
 * identify messages of its history, so an identity recompute cannot bring them back; the audiences and computed
 * traits of those profiles are evaluated again.
 */
export async function deleteTraits(ctx: RunContext, r: { format: 'csv' | 'jsonl'; data: string; identifier?: string; column?: string; traits: string[] }): Promise<Record<string, unknown>> {
  const identifier = r.identifier ?? 'user_id';
  const rows = parseTraitRows(r.format, r.data, r.column ?? identifier);
  ctx.progress('looking up profiles', 0, rows.length);
  const { targets, notFound } = await targetsOf(ctx, rows, identifier);
  const having = targets.map((t) => ({ t, names: r.traits.filter((name) => name in t.before) }));
  const report: Record<string, unknown> = {
    rows: rows.length,
    profiles: targets.length,
    notFound: notFound.length,
    notFoundSamples: notFound.slice(0, SAMPLES),
    values: having.reduce((n, h) => n + h.names.length, 0),
    samples: having.filter((h) => h.names.length).slice(0, SAMPLES).map(({ t, names }) => ({ profileId: t.profileId, before: Object.fromEntries(names.map((k) => [k, t.before[k]])), after: {} })),
  };
  if (ctx.dryRun) return report;

  const { deps, workspaceId: ws } = ctx;
  const history = emptyReport();
  let sightings = 0;
  let done = 0;
  const affected = having.filter((h) => h.names.length).map((h) => h.t.profileId);
  // In the resolve stage's turn: it is the one writer of profiles' traits, so no sighting lands in between.
  await deps.pipeline.exclusive(async () => {
    for (const { t, names } of having) {
      if (names.length === 0) continue;
      sightings += deps.history.deleteTraits(ws, t.profileId, names);
      for (const name of names) {
        await rewriteHistory(deps, { workspaceId: ws, types: ['identify'], profileId: t.profileId, jsonPath: jsonPathOf('traits', [name]) }, (m) => {
          const before = m.traits?.[name];
          delete m.traits?.[name];
          return { outcome: 'changed', before: { [name]: before }, after: {} };
        }, { write: true, report: history });
      }
      ctx.progress('deleting', ++done, affected.length);
    }
  });
  for (let i = 0; i < affected.length; i += RECOMPUTE) await deps.apply.recompute(ws, affected.slice(i, i + RECOMPUTE));
  return { ...report, sightings, history: { changed: history.changed, warehouse: history.warehouse } };
}
