import type { Message } from '../../collect/message.js';
import type { JsonValue } from '../../conditions/model.js';
import type { StreamingState } from '../../conditions/node-kind.js';
import { shadowDefId, type ApplyCommit, type ApplyEvent, type ApplyStore, type ApplyTimer, type BackfillRow, type MembershipMessage, type MembershipRecord, type MirrorEntry, type ProfileEffects, type SqlTraitRun } from '../../apply/ports.js';
import { APPLY_MIGRATIONS } from './apply-schema.js';
import { migrate, type Sqlite } from './database.js';

const CONSUMER = 'apply';

interface EventJoinRow {
  id: number;
  workspace_id: string;
  profile_id: string | null;
  message: string;
}

const toEvent = (r: EventJoinRow): ApplyEvent => ({ id: r.id, workspaceId: r.workspace_id, profileId: r.profile_id, message: JSON.parse(r.message) as Message });

/**
 * The apply stage's tables (APPLY_MIGRATIONS) over the shared store.db handle. It reads the events and merges the
 * resolve stage committed (identity_event_profiles, identity_merges, identity_positions) and writes its own effects
 * with its position in one transaction.
 */
export function openSqliteApplyStore(db: Sqlite): ApplyStore {
  migrate(db, 'apply', APPLY_MIGRATIONS);
  const s = {
    positionGet: db.prepare('SELECT event_id FROM apply_positions WHERE consumer = ?'),
    positionPut: db.prepare('INSERT INTO apply_positions (consumer, event_id) VALUES (?, ?) ON CONFLICT (consumer) DO UPDATE SET event_id = excluded.event_id'),
    resolved: db.prepare("SELECT event_id FROM identity_positions WHERE consumer = 'resolve'"),
    events: db.prepare(
      `SELECT e.id, e.workspace_id, p.profile_id, e.message FROM events e LEFT JOIN identity_event_profiles p ON p.event_id = e.id
       WHERE e.id > ? AND e.id <= ? ORDER BY e.id LIMIT ?`,
    ),
    merges: db.prepare('SELECT event_id, workspace_id, winner_id, loser_id, at FROM identity_merges WHERE event_id > ? AND event_id <= ? ORDER BY id'),
    states: db.prepare('SELECT def, version, state FROM apply_states WHERE workspace_id = ? AND profile_id = ?'),
    statePut: db.prepare(
      'INSERT INTO apply_states (workspace_id, profile_id, def, version, state) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET version = excluded.version, state = excluded.state',
    ),
    stateDel: db.prepare('DELETE FROM apply_states WHERE workspace_id = ? AND profile_id = ? AND def = ?'),
    computed: db.prepare('SELECT key, value FROM apply_computed WHERE workspace_id = ? AND profile_id = ?'),
    computedPut: db.prepare('INSERT INTO apply_computed (workspace_id, profile_id, key, value, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value, at = excluded.at'),
    computedDel: db.prepare('DELETE FROM apply_computed WHERE workspace_id = ? AND profile_id = ? AND key = ?'),
    // INDEXED BY: without statistics SQLite prefers the covering primary key's workspace prefix, a scan of every membership.
    memberships: db.prepare('SELECT audience, entered_at FROM apply_memberships INDEXED BY apply_memberships_profile WHERE workspace_id = ? AND profile_id = ?'),
    memberIn: db.prepare('INSERT OR IGNORE INTO apply_memberships (workspace_id, audience, profile_id, entered_at) VALUES (?, ?, ?, ?)'),
    memberOut: db.prepare('DELETE FROM apply_memberships WHERE workspace_id = ? AND audience = ? AND profile_id = ?'),
    historyIn: db.prepare('INSERT INTO apply_membership_history (workspace_id, audience, profile_id, entered_at) VALUES (?, ?, ?, ?)'),
    historyOpen: db.prepare('SELECT id FROM apply_membership_history WHERE workspace_id = ? AND audience = ? AND profile_id = ? AND exited_at IS NULL ORDER BY id DESC LIMIT 1'),
    historyOut: db.prepare('UPDATE apply_membership_history SET exited_at = ?, exit_reason = ? WHERE id = ?'),
    countAdd: db.prepare(
      'INSERT INTO apply_audience_counts (workspace_id, audience, size) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET size = size + excluded.size RETURNING size',
    ),
    countGet: db.prepare('SELECT size FROM apply_audience_counts WHERE workspace_id = ? AND audience = ?'),
    sizePut: db.prepare('INSERT INTO apply_audience_sizes (workspace_id, audience, at, size) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET size = excluded.size'),
    watermarkGet: db.prepare('SELECT as_of FROM apply_profiles WHERE workspace_id = ? AND profile_id = ?'),
    watermarkPut: db.prepare('INSERT INTO apply_profiles (workspace_id, profile_id, as_of) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET as_of = max(as_of, excluded.as_of)'),
    timerPut: db.prepare('INSERT INTO apply_timers (workspace_id, profile_id, def, due_at) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET due_at = excluded.due_at'),
    timerDel: db.prepare('DELETE FROM apply_timers WHERE workspace_id = ? AND profile_id = ? AND def = ?'),
    due: db.prepare('SELECT workspace_id, profile_id, def, due_at FROM apply_timers WHERE due_at <= ? ORDER BY due_at, workspace_id, profile_id LIMIT ?'),
    nextDue: db.prepare('SELECT MIN(due_at) AS due FROM apply_timers'),
    timersOf: db.prepare('SELECT workspace_id, profile_id, def, due_at FROM apply_timers WHERE workspace_id = ? AND profile_id = ?'),
    dropStates: db.prepare('DELETE FROM apply_states WHERE workspace_id = ? AND profile_id = ?'),
    dropComputed: db.prepare('DELETE FROM apply_computed WHERE workspace_id = ? AND profile_id = ?'),
    dropTimers: db.prepare('DELETE FROM apply_timers WHERE workspace_id = ? AND profile_id = ?'),
    dropWatermark: db.prepare('DELETE FROM apply_profiles WHERE workspace_id = ? AND profile_id = ?'),
    profileEvents: db.prepare(
      `SELECT e.id, e.workspace_id, p.profile_id, e.message FROM identity_event_profiles p JOIN events e ON e.id = p.event_id
       WHERE p.profile_id = ? AND p.workspace_id = ? AND p.event_id <= ? ORDER BY p.event_id`,
    ),
    profiles: db.prepare('SELECT id FROM identity_profiles WHERE workspace_id = ? AND merged_into IS NULL AND id > ? ORDER BY id LIMIT ?'),
    outboxPut: db.prepare('INSERT INTO apply_outbox (workspace_id, message) VALUES (?, ?)'),
    outbox: db.prepare('SELECT id, workspace_id, message FROM apply_outbox ORDER BY id LIMIT ?'),
    outboxDel: db.prepare('DELETE FROM apply_outbox WHERE id = ?'),
    backfills: db.prepare('SELECT workspace_id, def, version, cursor, started_at FROM apply_backfills ORDER BY workspace_id, def'),
    backfillPut: db.prepare('INSERT INTO apply_backfills (workspace_id, def, version, cursor) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET version = excluded.version, cursor = excluded.cursor'),
    backfillStart: db.prepare(
      "INSERT INTO apply_backfills (workspace_id, def, version, cursor, started_at) VALUES (?, ?, ?, '', ?) ON CONFLICT DO UPDATE SET version = excluded.version, cursor = '', started_at = excluded.started_at",
    ),
    activePut: db.prepare('INSERT INTO apply_active_versions (workspace_id, def, version) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET version = excluded.version'),
    activeAll: db.prepare('SELECT def, version FROM apply_active_versions WHERE workspace_id = ?'),
    definitionBody: db.prepare('SELECT body FROM definitions WHERE workspace_id = ? AND kind = ? AND key = ? AND version = ? AND deleted = 0').pluck(),
    shadowOf: db.prepare('SELECT def, value FROM apply_shadow_outputs INDEXED BY apply_shadow_outputs_profile WHERE workspace_id = ? AND profile_id = ?'),
    shadowPut: db.prepare('INSERT INTO apply_shadow_outputs (workspace_id, def, profile_id, value, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value, at = excluded.at'),
    shadowDel: db.prepare('DELETE FROM apply_shadow_outputs WHERE workspace_id = ? AND def = ? AND profile_id = ?'),
    shadowDrop: db.prepare('DELETE FROM apply_shadow_outputs WHERE workspace_id = ? AND profile_id = ?'),
    // The profiles whose answer a switch changes: a shadow member that is not a member, a member that is not one.
    shadowAudience: db.prepare(
      `SELECT s.profile_id, s.value FROM apply_shadow_outputs s WHERE s.workspace_id = @ws AND s.def = @def
         AND NOT EXISTS (SELECT 1 FROM apply_memberships m WHERE m.workspace_id = @ws AND m.audience = @key AND m.profile_id = s.profile_id)
       UNION ALL
       SELECT m.profile_id, NULL FROM apply_memberships m WHERE m.workspace_id = @ws AND m.audience = @key
         AND NOT EXISTS (SELECT 1 FROM apply_shadow_outputs s WHERE s.workspace_id = @ws AND s.def = @def AND s.profile_id = m.profile_id)
       ORDER BY 1`,
    ),
    // Values are JSON text on both sides (JSON.stringify), so text equality is value equality.
    shadowComputed: db.prepare(
      `SELECT s.profile_id, s.value FROM apply_shadow_outputs s
         LEFT JOIN apply_computed c ON c.workspace_id = @ws AND c.profile_id = s.profile_id AND c.key = @key
       WHERE s.workspace_id = @ws AND s.def = @def AND (c.value IS NULL OR c.value <> s.value)
       UNION ALL
       SELECT c.profile_id, NULL FROM apply_computed c WHERE c.workspace_id = @ws AND c.key = @key
         AND NOT EXISTS (SELECT 1 FROM apply_shadow_outputs s WHERE s.workspace_id = @ws AND s.def = @def AND s.profile_id = c.profile_id)
       ORDER BY 1`,
    ),
    profileCount: db.prepare('SELECT COUNT(*) FROM identity_profiles WHERE workspace_id = ? AND merged_into IS NULL').pluck(),
    profileCountUpTo: db.prepare('SELECT COUNT(*) FROM identity_profiles WHERE workspace_id = ? AND merged_into IS NULL AND id <= ?').pluck(),
    switchStatesDel: db.prepare('DELETE FROM apply_states WHERE workspace_id = ? AND def = ?'),
    switchStatesMove: db.prepare('UPDATE apply_states SET def = ? WHERE workspace_id = ? AND def = ?'),
    switchTimersDel: db.prepare('DELETE FROM apply_timers WHERE workspace_id = ? AND def = ?'),
    switchTimersMove: db.prepare('UPDATE apply_timers SET def = ? WHERE workspace_id = ? AND def = ?'),
    switchShadowDel: db.prepare('DELETE FROM apply_shadow_outputs WHERE workspace_id = ? AND def = ?'),
    switchBackfillDel: db.prepare('DELETE FROM apply_backfills WHERE workspace_id = ? AND def = ?'),
    backfillDel: db.prepare('DELETE FROM apply_backfills WHERE workspace_id = ? AND def = ? AND version = ?'),
    members: db.prepare('SELECT profile_id, entered_at FROM apply_memberships WHERE workspace_id = ? AND audience = ? AND profile_id > ? ORDER BY profile_id LIMIT ?'),
    sizeBefore: db.prepare('SELECT size FROM apply_audience_sizes WHERE workspace_id = ? AND audience = ? AND at < ? ORDER BY at DESC LIMIT 1'),
    sizes: db.prepare('SELECT at, size FROM apply_audience_sizes WHERE workspace_id = ? AND audience = ? AND at >= ? AND at < ? ORDER BY at LIMIT 10000'),
    asOf: db.prepare(
      `SELECT DISTINCT profile_id, audience FROM apply_membership_history
       WHERE workspace_id = ? AND entered_at <= ? AND (exited_at IS NULL OR exited_at > ?)`,
    ),
    eventProfiles: db.prepare('SELECT event_id, profile_id FROM identity_event_profiles WHERE workspace_id = ?').raw(),
    allComputed: db.prepare('SELECT profile_id, key, value FROM apply_computed WHERE workspace_id = ?'),
    computedHolders: db.prepare('SELECT profile_id FROM apply_computed WHERE workspace_id = ? AND key = ? ORDER BY profile_id').pluck(),
    mirrorPut: db.prepare(
      'INSERT INTO apply_mirror_queue (workspace_id, profile_id, n, remap) VALUES (?, ?, 1, ?) ON CONFLICT DO UPDATE SET n = n + 1, remap = max(remap, excluded.remap)',
    ),
    mirrorQueue: db.prepare('SELECT workspace_id, profile_id, n, remap FROM apply_mirror_queue ORDER BY workspace_id, profile_id LIMIT ?'),
    mirrorDel: db.prepare('DELETE FROM apply_mirror_queue WHERE workspace_id = ? AND profile_id = ? AND n = ?'),
    runGet: db.prepare('SELECT * FROM apply_sql_trait_runs WHERE workspace_id = ? AND key = ?'),
    runPut: db.prepare(
      `INSERT INTO apply_sql_trait_runs (workspace_id, key, version, started_at, finished_at, status, error, rows, changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET version = excluded.version, started_at = excluded.started_at, finished_at = excluded.finished_at, status = excluded.status,
       error = excluded.error, rows = excluded.rows, changed = excluded.changed`,
    ),
    runDel: db.prepare('DELETE FROM apply_sql_trait_runs WHERE workspace_id = ? AND key = ?'),
  };

  const position = () => (s.positionGet.get(CONSUMER) as { event_id: number } | undefined)?.event_id ?? 0;

  const commitTx = db.transaction((c: ApplyCommit, message: MembershipMessage) => {
    const sizes = new Map<string, { workspaceId: string; audience: string; at: number; size: number }>();
    const changeSize = (workspaceId: string, audience: string, delta: number, at: number) => {
      const { size } = s.countAdd.get(workspaceId, audience, delta) as { size: number };
      const key = `${workspaceId}\u0000${audience}\u0000${at}`;
      sizes.set(key, { workspaceId, audience, at, size });
    };
    const emit = (workspaceId: string, profileId: string, audience: string, at: number, entered: boolean, historyId: number) => {
      const m = message({ workspaceId, profileId, audience, at, entered, historyId });
      if (m) s.outboxPut.run(workspaceId, JSON.stringify(m));
    };
    for (const p of c.profiles) {
      const ws = p.workspaceId;
      // In the order the stage decided them (`seq`): a profile that enters and leaves, or leaves and re-enters,
      // within one commit keeps every row of history and ends in the right state. Without `seq`: exits first.
      const changes: ({ enter: false; item: ProfileEffects['exit'][number] } | { enter: true; item: ProfileEffects['enter'][number] })[] = [
        ...p.exit.map((item) => ({ enter: false as const, item })),
        ...p.enter.map((item) => ({ enter: true as const, item })),
      ];
      if (changes.every((c) => c.item.seq !== undefined)) changes.sort((a, b) => a.item.seq! - b.item.seq!);
      for (const c of changes) {
        if (!c.enter) {
          const x = c.item;
          const open = s.historyOpen.get(ws, x.audience, p.profileId) as { id: number } | undefined;
          if (!open) continue;
          s.historyOut.run(x.at, x.reason, open.id);
          s.memberOut.run(ws, x.audience, p.profileId);
          changeSize(ws, x.audience, -1, x.at);
          if (x.reason === 'condition') emit(ws, p.profileId, x.audience, x.at, false, open.id);
        } else {
          const e = c.item;
          if (s.historyOpen.get(ws, e.audience, p.profileId)) continue;
          const id = Number(s.historyIn.run(ws, e.audience, p.profileId, e.at).lastInsertRowid);
          s.memberIn.run(ws, e.audience, p.profileId, e.at);
          changeSize(ws, e.audience, 1, e.at);
          emit(ws, p.profileId, e.audience, e.at, true, id);
        }
      }
      if (p.drop) {
        s.shadowDrop.run(ws, p.profileId);
        s.dropStates.run(ws, p.profileId);
        s.dropComputed.run(ws, p.profileId);
        s.dropTimers.run(ws, p.profileId);
        s.dropWatermark.run(ws, p.profileId);
        continue;
      }
      for (const st of p.states) {
        if (st.state === undefined) s.stateDel.run(ws, p.profileId, st.def);
        else s.statePut.run(ws, p.profileId, st.def, st.version, JSON.stringify(st.state));
      }
      for (const v of p.computed) {
        if (v.value === undefined || v.value === null) s.computedDel.run(ws, p.profileId, v.key);
        else s.computedPut.run(ws, p.profileId, v.key, JSON.stringify(v.value), v.at);
      }
      for (const t of p.timers) {
        if (t.dueAt === undefined) s.timerDel.run(ws, p.profileId, t.def);
        else s.timerPut.run(ws, p.profileId, t.def, t.dueAt);
      }
      for (const o of p.shadow ?? []) {
        if (o.value === undefined || o.value === null || o.value === false) s.shadowDel.run(ws, o.def, p.profileId);
        else s.shadowPut.run(ws, o.def, p.profileId, JSON.stringify(o.value), o.at);
      }
      s.watermarkPut.run(ws, p.profileId, p.asOf);
    }
    for (const p of c.profiles) s.mirrorPut.run(p.workspaceId, p.profileId, p.drop || p.remap ? 1 : 0);
    for (const z of sizes.values()) s.sizePut.run(z.workspaceId, z.audience, z.at, z.size);
    for (const b of c.backfills ?? []) {
      if (b.cursor === undefined) s.backfillDel.run(b.workspaceId, b.def, b.version);
      else s.backfillPut.run(b.workspaceId, b.def, b.version, b.cursor);
    }
    // After the profiles' effects: the changed answers are committed; now the new version's states, timers and
    // version become the active ones, for every profile at once.
    for (const sw of c.switches ?? []) {
      const shadow = shadowDefId(sw.def);
      s.switchStatesDel.run(sw.workspaceId, sw.def);
      s.switchStatesMove.run(sw.def, sw.workspaceId, shadow);
      s.switchTimersDel.run(sw.workspaceId, sw.def);
      s.switchTimersMove.run(sw.def, sw.workspaceId, shadow);
      s.switchShadowDel.run(sw.workspaceId, shadow);
      s.activePut.run(sw.workspaceId, sw.def, sw.version);
      s.switchBackfillDel.run(sw.workspaceId, sw.def);
    }
    if (c.position !== undefined) s.positionPut.run(CONSUMER, c.position);
  });

  const toTimer = (r: { workspace_id: string; profile_id: string; def: string; due_at: number }): ApplyTimer => ({ workspaceId: r.workspace_id, profileId: r.profile_id, def: r.def, dueAt: r.due_at });

  return {
    position,
    read(after, limit) {
      return db.transaction(() => {
        const resolved = (s.resolved.get() as { event_id: number } | undefined)?.event_id ?? 0;
        const events = (s.events.all(after, resolved, limit) as EventJoinRow[]).map(toEvent);
        const upTo = events.length === limit ? events[events.length - 1].id : Math.max(after, resolved);
        const merges = (s.merges.all(after, upTo) as { event_id: number; workspace_id: string; winner_id: string; loser_id: string; at: number }[]).map((r) => ({
          eventId: r.event_id, workspaceId: r.workspace_id, winner: r.winner_id, loser: r.loser_id, at: r.at,
        }));
        return { events, merges, upTo };
      })();
    },
    states(workspaceId, profileId) {
      const out = new Map<string, { version: number; state: StreamingState }>();
      for (const r of s.states.all(workspaceId, profileId) as { def: string; version: number; state: string }[]) out.set(r.def, { version: r.version, state: JSON.parse(r.state) as StreamingState });
      return out;
    },
    computed(workspaceId, profileId) {
      const out: Record<string, JsonValue> = {};
      for (const r of s.computed.all(workspaceId, profileId) as { key: string; value: string }[]) out[r.key] = JSON.parse(r.value) as JsonValue;
      return out;
    },
    memberships(workspaceId, profileId) {
      return new Map((s.memberships.all(workspaceId, profileId) as { audience: string; entered_at: number }[]).map((r) => [r.audience, r.entered_at]));
    },
    watermark(workspaceId, profileId) {
      return (s.watermarkGet.get(workspaceId, profileId) as { as_of: number } | undefined)?.as_of;
    },
    dueTimers(now, limit) {
      return (s.due.all(now, limit) as Parameters<typeof toTimer>[0][]).map(toTimer);
    },
    nextDue() {
      return (s.nextDue.get() as { due: number | null }).due ?? undefined;
    },
    timersOf(workspaceId, profileId) {
      return (s.timersOf.all(workspaceId, profileId) as Parameters<typeof toTimer>[0][]).map(toTimer);
    },
    profileEvents(workspaceId, profileId, upTo) {
      return (s.profileEvents.all(profileId, workspaceId, upTo) as EventJoinRow[]).map(toEvent);
    },
    profiles(workspaceId, after, limit) {
      return (s.profiles.all(workspaceId, after, limit) as { id: string }[]).map((r) => r.id);
    },
    commit(c, message) {
      commitTx(c, message);
    },
    outbox(limit) {
      return (s.outbox.all(limit) as { id: number; workspace_id: string; message: string }[]).map((r) => ({ id: r.id, workspaceId: r.workspace_id, message: JSON.parse(r.message) as Message }));
    },
    outboxDone(ids) {
      db.transaction(() => { for (const id of ids) s.outboxDel.run(id); })();
    },
    backfills() {
      return (s.backfills.all() as { workspace_id: string; def: string; version: number; cursor: string; started_at: number | null }[]).map(
        (r): BackfillRow => ({ workspaceId: r.workspace_id, def: r.def, version: r.version, cursor: r.cursor, startedAt: r.started_at ?? undefined }),
      );
    },
    startBackfill(workspaceId, def, version, at = 0, options = {}) {
      db.transaction(() => {
        s.backfillStart.run(workspaceId, def, version, at);
        if (options.active) s.activePut.run(workspaceId, def, version);
      })();
    },
    activeVersions(workspaceId) {
      return new Map((s.activeAll.all(workspaceId) as { def: string; version: number }[]).map((r) => [r.def, r.version]));
    },
    setActiveVersion(workspaceId, def, version) {
      s.activePut.run(workspaceId, def, version);
    },
    definitionBody(workspaceId, kind, key, version) {
      const body = s.definitionBody.get(workspaceId, kind, key, version) as string | undefined;
      return body === undefined ? undefined : (JSON.parse(body) as unknown);
    },
    shadowOutputs(workspaceId, profileId) {
      return new Map((s.shadowOf.all(workspaceId, profileId) as { def: string; value: string }[]).map((r) => [r.def, JSON.parse(r.value) as JsonValue]));
    },
    shadowChanges(workspaceId, def, output) {
      const stmt = output.audience !== undefined ? s.shadowAudience : s.shadowComputed;
      const rows = stmt.all({ ws: workspaceId, def: shadowDefId(def), key: output.audience ?? output.computedKey }) as { profile_id: string; value: string | null }[];
      return rows.map((r) => ({ profileId: r.profile_id, value: r.value === null ? undefined : (JSON.parse(r.value) as JsonValue) }));
    },
    profileCount(workspaceId, upTo) {
      return (upTo === undefined ? s.profileCount.get(workspaceId) : s.profileCountUpTo.get(workspaceId, upTo)) as number;
    },
    dropDefinition(workspaceId, def, output, at) {
      db.transaction(() => {
        // The mirror copies the profiles whose memberships or values go.
        if (output.audience !== undefined) {
          db.prepare(`INSERT INTO apply_mirror_queue (workspace_id, profile_id, n, remap) SELECT workspace_id, profile_id, 1, 0 FROM apply_memberships WHERE workspace_id = ? AND audience = ? AND true
                      ON CONFLICT DO UPDATE SET n = n + 1`).run(workspaceId, output.audience);
        }
        if (output.computedKey !== undefined) {
          db.prepare(`INSERT INTO apply_mirror_queue (workspace_id, profile_id, n, remap) SELECT workspace_id, profile_id, 1, 0 FROM apply_computed WHERE workspace_id = ? AND key = ? AND true
                      ON CONFLICT DO UPDATE SET n = n + 1`).run(workspaceId, output.computedKey);
        }
        db.prepare('DELETE FROM apply_states WHERE workspace_id = ? AND def IN (?, ?)').run(workspaceId, def, shadowDefId(def));
        db.prepare('DELETE FROM apply_timers WHERE workspace_id = ? AND def IN (?, ?)').run(workspaceId, def, shadowDefId(def));
        db.prepare('DELETE FROM apply_backfills WHERE workspace_id = ? AND def = ?').run(workspaceId, def);
        // A new version being backfilled goes with it; a later definition of the same key starts afresh.
        s.switchShadowDel.run(workspaceId, shadowDefId(def));
        db.prepare('DELETE FROM apply_active_versions WHERE workspace_id = ? AND def = ?').run(workspaceId, def);
        if (output.audience !== undefined) {
          db.prepare("UPDATE apply_membership_history SET exited_at = ?, exit_reason = 'deleted' WHERE workspace_id = ? AND audience = ? AND exited_at IS NULL").run(at, workspaceId, output.audience);
          db.prepare('DELETE FROM apply_memberships WHERE workspace_id = ? AND audience = ?').run(workspaceId, output.audience);
          db.prepare('DELETE FROM apply_audience_counts WHERE workspace_id = ? AND audience = ?').run(workspaceId, output.audience);
          s.sizePut.run(workspaceId, output.audience, at, 0);
        }
        if (output.computedKey !== undefined) db.prepare('DELETE FROM apply_computed WHERE workspace_id = ? AND key = ?').run(workspaceId, output.computedKey);
      })();
    },
    members(workspaceId, audience, after, limit) {
      return (s.members.all(workspaceId, audience, after, limit) as { profile_id: string; entered_at: number }[]).map((r) => ({ profileId: r.profile_id, enteredAt: r.entered_at }));
    },
    size(workspaceId, audience) {
      return (s.countGet.get(workspaceId, audience) as { size: number } | undefined)?.size ?? 0;
    },
    sizes(workspaceId, audience, from, to) {
      const before = (s.sizeBefore.get(workspaceId, audience, from) as { size: number } | undefined)?.size ?? 0;
      return { before, points: s.sizes.all(workspaceId, audience, from, to) as { at: number; size: number }[] };
    },
    history(workspaceId, f) {
      const where = ['workspace_id = ?'];
      const params: (string | number)[] = [workspaceId];
      if (f.audience !== undefined) (where.push('audience = ?'), params.push(f.audience));
      if (f.profileId !== undefined) (where.push('profile_id = ?'), params.push(f.profileId));
      const rows = db
        .prepare(`SELECT audience, profile_id, entered_at, exited_at, exit_reason FROM apply_membership_history WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`)
        .all(...params, f.limit) as { audience: string; profile_id: string; entered_at: number; exited_at: number | null; exit_reason: string | null }[];
      return rows.map((r): MembershipRecord => ({ audience: r.audience, profileId: r.profile_id, enteredAt: r.entered_at, exitedAt: r.exited_at, exitReason: r.exit_reason }));
    },
    membershipsAsOf(workspaceId, at) {
      return (s.asOf.all(workspaceId, at, at) as { profile_id: string; audience: string }[]).map((r) => ({ profileId: r.profile_id, audience: r.audience }));
    },
    eventProfiles(workspaceId) {
      return s.eventProfiles.all(workspaceId) as [number, string][];
    },
    allComputed(workspaceId) {
      const out = new Map<string, Record<string, JsonValue>>();
      for (const r of s.allComputed.all(workspaceId) as { profile_id: string; key: string; value: string }[]) {
        const o = out.get(r.profile_id) ?? {};
        o[r.key] = JSON.parse(r.value) as JsonValue;
        out.set(r.profile_id, o);
      }
      return out;
    },
    computedHolders(workspaceId, key) {
      return s.computedHolders.all(workspaceId, key) as string[];
    },
    mirrorQueue(limit) {
      return (s.mirrorQueue.all(limit) as { workspace_id: string; profile_id: string; n: number; remap: number }[]).map(
        (r): MirrorEntry => ({ workspaceId: r.workspace_id, profileId: r.profile_id, n: r.n, remap: r.remap === 1 }),
      );
    },
    mirrorDone(entries) {
      db.transaction(() => { for (const e of entries) s.mirrorDel.run(e.workspaceId, e.profileId, e.n); })();
    },
    mirrorEnqueueAll() {
      return db
        .prepare(`INSERT INTO apply_mirror_queue (workspace_id, profile_id, n, remap) SELECT workspace_id, id, 1, 1 FROM identity_profiles WHERE merged_into IS NULL AND true
                  ON CONFLICT DO UPDATE SET n = n + 1, remap = 1`)
        .run().changes;
    },
    traitWorkspaces() {
      return db.prepare("SELECT DISTINCT workspace_id FROM definitions WHERE kind = 'traits' ORDER BY 1").pluck().all() as string[];
    },
    sqlTraitRun(workspaceId, key) {
      const r = s.runGet.get(workspaceId, key) as
        | { workspace_id: string; key: string; version: number; started_at: number; finished_at: number; status: 'ok' | 'error'; error: string | null; rows: number | null; changed: number | null }
        | undefined;
      return r && { workspaceId: r.workspace_id, key: r.key, version: r.version, startedAt: r.started_at, finishedAt: r.finished_at, status: r.status, error: r.error, rows: r.rows, changed: r.changed };
    },
    sqlTraitRunPut(r: SqlTraitRun) {
      s.runPut.run(r.workspaceId, r.key, r.version, r.startedAt, r.finishedAt, r.status, r.error, r.rows, r.changed);
    },
    sqlTraitRunDelete(workspaceId, key) {
      s.runDel.run(workspaceId, key);
    },
  };
}
