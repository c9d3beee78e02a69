import type { Guardrails } from '../../journeys/guardrails.js';
import type { JourneyDefinition } from '../../journeys/definition.js';
import type { CatalogChange, InstanceContext, JourneyInstance, JourneyStats, JourneyStatus, JourneyStore, SendRecord, TrailRow } from '../../journeys/ports.js';
import { migrate, type Sqlite } from './database.js';
import { JOURNEY_MIGRATIONS } from './journey-schema.js';

interface InstanceRow {
  id: string;
  workspace_id: string;
  journey: string;
  version: number;
  profile_id: string;
  node: string;
  status: JourneyInstance['status'];
  wake_at: number | null;
  priority: number;
  entered_at: number;
  updated_at: number;
  exit_reason: string | null;
  context: string;
}

const toInstance = (r: InstanceRow): JourneyInstance => ({
  id: r.id, workspaceId: r.workspace_id, journey: r.journey, version: r.version, profileId: r.profile_id, node: r.node, status: r.status,
  wakeAt: r.wake_at, priority: r.priority, enteredAt: r.entered_at, updatedAt: r.updated_at, exitReason: r.exit_reason, context: JSON.parse(r.context) as InstanceContext,
});

export interface SqliteJourneyStore extends JourneyStore {
  guardrails(workspaceId: string): Guardrails | undefined;
  setGuardrails(workspaceId: string, guardrails: Guardrails, at: number): void;
}

export interface JourneyStoreOptions {
  /**
   * Frequency caps also count messages sent outside journeys (API sends in delivery_messages, same handle), on
   * message channels (email, sms) that are not transactional; a per-medium cap matches the channel key or its type.
   */
  countDeliveries?: boolean;
}

/** Tables holding a profile id, for erasure. */
const PROFILE_TABLES = ['journey_instances', 'journey_entries', 'journey_trail', 'journey_conversions', 'journey_sends', 'journey_suppressions', 'journey_effects'] as const;

/**
 * The journey tables over a SQLite handle (store.db in production, so a step's instance, trail, send ledger and
 * the delivery outbox commit in one transaction; `:memory:` for simulations and backtests). Every method is
 * synchronous.
 */
export function openSqliteJourneyStore(db: Sqlite, options: JourneyStoreOptions = {}): SqliteJourneyStore {
  migrate(db, 'journeys', JOURNEY_MIGRATIONS);
  const s = {
    insertInstance: db.prepare(
      `INSERT INTO journey_instances (id, workspace_id, journey, version, profile_id, node, status, wake_at, priority, entered_at, updated_at, exit_reason, context)
       VALUES (@id, @workspaceId, @journey, @version, @profileId, @node, @status, @wakeAt, @priority, @enteredAt, @updatedAt, @exitReason, @context)`,
    ),
    updateInstance: db.prepare(
      `UPDATE journey_instances SET node = @node, status = @status, wake_at = @wakeAt, priority = @priority, updated_at = @updatedAt,
       exit_reason = @exitReason, context = @context, version = @version WHERE id = @id`,
    ),
    instance: db.prepare('SELECT * FROM journey_instances WHERE id = ?'),
    activeOfProfile: db.prepare("SELECT * FROM journey_instances WHERE workspace_id = ? AND profile_id = ? AND status = 'active' ORDER BY priority DESC, entered_at, id"),
    activeOf: db.prepare("SELECT * FROM journey_instances WHERE workspace_id = ? AND journey = ? AND status = 'active' ORDER BY id"),
    due: db.prepare(
      `SELECT i.* FROM journey_instances i JOIN journey_state s ON s.workspace_id = i.workspace_id AND s.key = i.journey AND s.status = 'active'
       WHERE i.status = 'active' AND i.wake_at IS NOT NULL AND i.wake_at <= ? ORDER BY i.wake_at, i.priority DESC, i.entered_at, i.rowid LIMIT ?`,
    ),
    nextWake: db.prepare(
      `SELECT MIN(i.wake_at) AS t FROM journey_instances i JOIN journey_state s ON s.workspace_id = i.workspace_id AND s.key = i.journey AND s.status = 'active'
       WHERE i.status = 'active' AND i.wake_at IS NOT NULL`,
    ),
    latestInstance: db.prepare('SELECT * FROM journey_instances WHERE workspace_id = ? AND journey = ? AND profile_id = ? ORDER BY entered_at DESC, rowid DESC LIMIT 1'),
    recordEntry: db.prepare('INSERT OR IGNORE INTO journey_entries (workspace_id, journey, profile_id, entry_key, instance_id, at) VALUES (?, ?, ?, ?, ?, ?)'),
    lastEntry: db.prepare('SELECT MAX(at) AS at FROM journey_entries WHERE workspace_id = ? AND journey = ? AND profile_id = ?'),
    hasEntry: db.prepare('SELECT 1 FROM journey_entries WHERE workspace_id = ? AND journey = ? AND profile_id = ? AND entry_key = ?'),
    trail: db.prepare('INSERT INTO journey_trail (workspace_id, journey, profile_id, instance_id, version, at, kind, node, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    convert: db.prepare('INSERT OR IGNORE INTO journey_conversions (instance_id, workspace_id, journey, version, profile_id, node, last_message_node, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    converted: db.prepare('SELECT 1 FROM journey_conversions WHERE instance_id = ?'),
    recordSend: db.prepare(
      `INSERT OR IGNORE INTO journey_sends (workspace_id, idempotency_key, profile_id, journey, node, instance_id, channel, medium, category, priority, at)
       VALUES (@workspaceId, @idempotencyKey, @profileId, @journey, @node, @instanceId, @channel, @medium, @category, @priority, @at)`,
    ),
    budgetUsed: db.prepare('SELECT used FROM journey_budgets WHERE workspace_id = ? AND scope = ? AND window_start = ?'),
    budgetTake: db.prepare(
      `INSERT INTO journey_budgets (workspace_id, scope, window_start, used) VALUES (?, ?, ?, 1)
       ON CONFLICT (workspace_id, scope, window_start) DO UPDATE SET used = used + 1`,
    ),
    suppress: db.prepare('INSERT OR REPLACE INTO journey_suppressions (workspace_id, profile_id, medium, reason, at) VALUES (?, ?, ?, ?, ?)'),
    suppression: db.prepare("SELECT reason, at FROM journey_suppressions WHERE workspace_id = ? AND profile_id = ? AND medium IN (?, '*') ORDER BY at LIMIT 1"),
    addEffect: db.prepare('INSERT OR IGNORE INTO journey_effects (workspace_id, profile_id, traits, message_id, created_at) VALUES (?, ?, ?, ?, ?)'),
    effects: db.prepare('SELECT id, workspace_id, profile_id, traits, message_id FROM journey_effects ORDER BY id LIMIT ?'),
    removeEffect: db.prepare('DELETE FROM journey_effects WHERE id = ?'),
    position: db.prepare('SELECT position FROM journey_positions WHERE consumer = ?'),
    setPosition: db.prepare('INSERT INTO journey_positions (consumer, position) VALUES (?, ?) ON CONFLICT (consumer) DO UPDATE SET position = excluded.position'),
    saveVersion: db.prepare('INSERT OR REPLACE INTO journey_versions (workspace_id, key, version, body, created_at) VALUES (?, ?, ?, ?, ?)'),
    version: db.prepare('SELECT body FROM journey_versions WHERE workspace_id = ? AND key = ? AND version = ?'),
    latest: db.prepare(
      `SELECT v.key, v.version, v.body, COALESCE(s.status, 'active') AS status FROM journey_versions v
       JOIN (SELECT key, MAX(version) AS m FROM journey_versions WHERE workspace_id = ? GROUP BY key) l ON l.key = v.key AND l.m = v.version
       LEFT JOIN journey_state s ON s.workspace_id = v.workspace_id AND s.key = v.key
       WHERE v.workspace_id = ? ORDER BY v.key`,
    ),
    workspaces: db.prepare('SELECT DISTINCT workspace_id AS w FROM journey_versions ORDER BY w'),
    setStatus: db.prepare('INSERT INTO journey_state (workspace_id, key, status, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (workspace_id, key) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at'),
    status: db.prepare('SELECT status FROM journey_state WHERE workspace_id = ? AND key = ?'),
    schedule: db.prepare('SELECT next_at, version FROM journey_schedules WHERE workspace_id = ? AND journey = ?'),
    setSchedule: db.prepare('INSERT INTO journey_schedules (workspace_id, journey, version, next_at) VALUES (?, ?, ?, ?) ON CONFLICT (workspace_id, journey) DO UPDATE SET version = excluded.version, next_at = excluded.next_at'),
    dueSchedules: db.prepare(
      `SELECT c.workspace_id, c.journey, c.next_at FROM journey_schedules c JOIN journey_state s ON s.workspace_id = c.workspace_id AND s.key = c.journey AND s.status = 'active'
       WHERE c.next_at IS NOT NULL AND c.next_at <= ? ORDER BY c.next_at`,
    ),
    addCatalogChange: db.prepare('INSERT INTO journey_catalog_changes (workspace_id, catalog, key, before, after, at) VALUES (?, ?, ?, ?, ?, ?)'),
    catalogChanges: db.prepare('SELECT * FROM journey_catalog_changes ORDER BY id LIMIT ?'),
    removeCatalogChange: db.prepare('DELETE FROM journey_catalog_changes WHERE id = ?'),
    guardrails: db.prepare('SELECT guardrails FROM journey_settings WHERE workspace_id = ?'),
    setGuardrails: db.prepare('INSERT INTO journey_settings (workspace_id, guardrails, updated_at) VALUES (?, ?, ?) ON CONFLICT (workspace_id) DO UPDATE SET guardrails = excluded.guardrails, updated_at = excluded.updated_at'),
  };
  const rowOf = (i: JourneyInstance) => ({ ...i, context: JSON.stringify(i.context) });

  const store: SqliteJourneyStore = {
    transaction<T>(fn: () => T): T {
      return db.inTransaction ? fn() : db.transaction(fn)();
    },
    saveVersion(workspaceId, key, version, body, at) {
      s.saveVersion.run(workspaceId, key, version, JSON.stringify(body), at);
    },
    version(workspaceId, key, version) {
      const r = s.version.get(workspaceId, key, version) as { body: string } | undefined;
      return r && (JSON.parse(r.body) as JourneyDefinition);
    },
    latest(workspaceId) {
      return (s.latest.all(workspaceId, workspaceId) as { key: string; version: number; body: string; status: JourneyStatus }[]).map((r) => ({
        key: r.key, version: r.version, body: JSON.parse(r.body) as JourneyDefinition, status: r.status,
      }));
    },
    workspaces() {
      return (s.workspaces.all() as { w: string }[]).map((r) => r.w);
    },
    setStatus(workspaceId, key, status, at) {
      s.setStatus.run(workspaceId, key, status, at);
    },
    status(workspaceId, key) {
      return (s.status.get(workspaceId, key) as { status: JourneyStatus } | undefined)?.status;
    },
    insertInstance(i) {
      s.insertInstance.run(rowOf(i));
    },
    updateInstance(i) {
      s.updateInstance.run(rowOf(i));
    },
    instance(id) {
      const r = s.instance.get(id) as InstanceRow | undefined;
      return r && toInstance(r);
    },
    activeInstances(workspaceId, profileId) {
      return (s.activeOfProfile.all(workspaceId, profileId) as InstanceRow[]).map(toInstance);
    },
    activeOf(workspaceId, journey) {
      return (s.activeOf.all(workspaceId, journey) as InstanceRow[]).map(toInstance);
    },
    due(now, limit) {
      return (s.due.all(now, limit) as InstanceRow[]).map(toInstance);
    },
    nextWake() {
      return (s.nextWake.get() as { t: number | null }).t ?? undefined;
    },
    latestInstance(workspaceId, journey, profileId) {
      const r = s.latestInstance.get(workspaceId, journey, profileId) as InstanceRow | undefined;
      return r && toInstance(r);
    },
    recordEntry(workspaceId, journey, profileId, entryKey, instanceId, at) {
      return s.recordEntry.run(workspaceId, journey, profileId, entryKey, instanceId, at).changes === 1;
    },
    lastEntry(workspaceId, journey, profileId) {
      return (s.lastEntry.get(workspaceId, journey, profileId) as { at: number | null }).at ?? undefined;
    },
    hasEntry(workspaceId, journey, profileId, entryKey) {
      return s.hasEntry.get(workspaceId, journey, profileId, entryKey) !== undefined;
    },
    trail(r: TrailRow) {
      s.trail.run(r.workspaceId, r.journey, r.profileId, r.instanceId, r.version, r.at, r.kind, r.node, JSON.stringify(r.detail));
    },
    trailOf(workspaceId, profileId, journey, limit) {
      const rows = (journey === undefined
        ? db.prepare('SELECT * FROM journey_trail WHERE workspace_id = ? AND profile_id = ? ORDER BY id LIMIT ?').all(workspaceId, profileId, limit)
        : db.prepare('SELECT * FROM journey_trail WHERE workspace_id = ? AND profile_id = ? AND journey = ? ORDER BY id LIMIT ?').all(workspaceId, profileId, journey, limit)) as {
        id: number; workspace_id: string; journey: string; profile_id: string; instance_id: string | null; version: number; at: number; kind: TrailRow['kind']; node: string | null; detail: string;
      }[];
      return rows.map((r) => ({
        id: r.id, workspaceId: r.workspace_id, journey: r.journey, profileId: r.profile_id, instanceId: r.instance_id, version: r.version, at: r.at, kind: r.kind, node: r.node,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
      }));
    },
    convert(workspaceId, journey, version, instanceId, profileId, node, lastMessageNode, at) {
      return s.convert.run(instanceId, workspaceId, journey, version, profileId, node, lastMessageNode, at).changes === 1;
    },
    converted(instanceId) {
      return s.converted.get(instanceId) !== undefined;
    },
    recordSend(send: SendRecord) {
      return s.recordSend.run(send).changes === 1;
    },
    takeBudget(workspaceId, scope, windowStart, max) {
      if (store.budgetUsed(workspaceId, scope, windowStart) >= max) return false;
      s.budgetTake.run(workspaceId, scope, windowStart);
      return true;
    },
    budgetUsed(workspaceId, scope, windowStart) {
      return (s.budgetUsed.get(workspaceId, scope, windowStart) as { used: number } | undefined)?.used ?? 0;
    },
    count(workspaceId, profileId, medium, since, exempt) {
      const skip = [...exempt, 'system'];
      const marks = skip.map(() => '?').join(', ');
      const sql = `SELECT COUNT(*) AS n FROM journey_sends WHERE workspace_id = ? AND profile_id = ? AND at >= ? AND category NOT IN (${marks})${medium === undefined ? '' : ' AND medium = ?'}`;
      const params: (string | number)[] = [workspaceId, profileId, since, ...skip, ...(medium === undefined ? [] : [medium])];
      const own = (db.prepare(sql).get(...params) as { n: number }).n;
      if (!options.countDeliveries) return own;
      // Messages queued outside journeys (journey IS NULL) on a current, non-transactional email or sms channel.
      const outside = `SELECT COUNT(*) AS n FROM delivery_messages m JOIN definitions d
          ON d.workspace_id = m.workspace_id AND d.kind = 'channels' AND d.key = m.channel AND d.deleted = 0
         AND d.version = (SELECT MAX(version) FROM definitions WHERE workspace_id = m.workspace_id AND kind = 'channels' AND key = m.channel)
        WHERE m.workspace_id = ? AND m.profile_id = ? AND m.journey IS NULL AND m.created_at >= ? AND m.status != 'suppressed'
          AND json_extract(d.body, '$.type') IN ('email', 'sms') AND COALESCE(json_extract(d.body, '$.settings.transactional'), 0) = 0
          AND COALESCE(json_extract(m.payload, '$.category'), 'marketing') NOT IN (${marks})
          ${medium === undefined ? '' : "AND (m.channel = ? OR json_extract(d.body, '$.type') = ?)"}`;
      const outsideParams: (string | number)[] = [workspaceId, profileId, since, ...skip, ...(medium === undefined ? [] : [medium, medium])];
      return own + (db.prepare(outside).get(...outsideParams) as { n: number }).n;
    },
    suppression(workspaceId, profileId, medium) {
      return s.suppression.get(workspaceId, profileId, medium) as { reason: string; at: number } | undefined;
    },
    suppress(workspaceId, profileId, medium, reason, at) {
      s.suppress.run(workspaceId, profileId, medium, reason, at);
    },
    addEffect(workspaceId, profileId, traits, messageId, at) {
      s.addEffect.run(workspaceId, profileId, JSON.stringify(traits), messageId, at);
    },
    effects(limit) {
      return (s.effects.all(limit) as { id: number; workspace_id: string; profile_id: string; traits: string; message_id: string }[]).map((r) => ({
        id: r.id, workspaceId: r.workspace_id, profileId: r.profile_id, traits: JSON.parse(r.traits) as Record<string, unknown>, messageId: r.message_id,
      }));
    },
    removeEffect(id) {
      s.removeEffect.run(id);
    },
    position(consumer) {
      return (s.position.get(consumer) as { position: number } | undefined)?.position ?? 0;
    },
    setPosition(consumer, position) {
      s.setPosition.run(consumer, position);
    },
    schedule(workspaceId, journey) {
      const r = s.schedule.get(workspaceId, journey) as { next_at: number | null; version: number } | undefined;
      return r && { nextAt: r.next_at, version: r.version };
    },
    setSchedule(workspaceId, journey, version, nextAt) {
      s.setSchedule.run(workspaceId, journey, version, nextAt);
    },
    dueSchedules(now) {
      return (s.dueSchedules.all(now) as { workspace_id: string; journey: string; next_at: number }[]).map((r) => ({ workspaceId: r.workspace_id, journey: r.journey, nextAt: r.next_at }));
    },
    addCatalogChange(c) {
      s.addCatalogChange.run(c.workspaceId, c.catalog, c.key, c.before === undefined ? null : JSON.stringify(c.before), c.after === undefined ? null : JSON.stringify(c.after), c.at);
    },
    catalogChanges(limit) {
      return (s.catalogChanges.all(limit) as { id: number; workspace_id: string; catalog: string; key: string; before: string | null; after: string | null; at: number }[]).map(
        (r): CatalogChange => ({
          id: r.id, workspaceId: r.workspace_id, catalog: r.catalog, key: r.key, at: r.at,
          before: r.before === null ? undefined : (JSON.parse(r.before) as Record<string, unknown>),
          after: r.after === null ? undefined : (JSON.parse(r.after) as Record<string, unknown>),
        }),
      );
    },
    removeCatalogChange(id) {
      s.removeCatalogChange.run(id);
    },
    eraseProfiles(workspaceId, profileIds) {
      let n = 0;
      store.transaction(() => {
        for (let i = 0; i < profileIds.length; i += 500) {
          const chunk = profileIds.slice(i, i + 500);
          const marks = chunk.map(() => '?').join(', ');
          for (const table of PROFILE_TABLES) n += db.prepare(`DELETE FROM ${table} WHERE workspace_id = ? AND profile_id IN (${marks})`).run(workspaceId, ...chunk).changes;
        }
      });
      return n;
    },
    guardrails(workspaceId) {
      const r = s.guardrails.get(workspaceId) as { guardrails: string } | undefined;
      return r && (JSON.parse(r.guardrails) as Guardrails);
    },
    setGuardrails(workspaceId, guardrails, at) {
      s.setGuardrails.run(workspaceId, JSON.stringify(guardrails), at);
    },
    stats(workspaceId, journey): JourneyStats {
      const one = <T>(sql: string, ...p: unknown[]) => db.prepare(sql).get(...p) as T;
      const all = <T>(sql: string, ...p: unknown[]) => db.prepare(sql).all(...p) as T[];
      const stats: JourneyStats = {
        entries: one<{ n: number }>('SELECT COUNT(*) AS n FROM journey_instances WHERE workspace_id = ? AND journey = ?', workspaceId, journey).n,
        active: one<{ n: number }>("SELECT COUNT(*) AS n FROM journey_instances WHERE workspace_id = ? AND journey = ? AND status = 'active'", workspaceId, journey).n,
        exits: {},
        conversions: one<{ n: number }>('SELECT COUNT(*) AS n FROM journey_conversions WHERE workspace_id = ? AND journey = ?', workspaceId, journey).n,
        nodes: {},
      };
      for (const r of all<{ reason: string; n: number }>("SELECT exit_reason AS reason, COUNT(*) AS n FROM journey_instances WHERE workspace_id = ? AND journey = ? AND status != 'active' GROUP BY exit_reason", workspaceId, journey)) {
        stats.exits[r.reason ?? 'unknown'] = r.n;
      }
      const node = (id: string) => (stats.nodes[id] ??= { visits: 0, active: 0, sent: 0, blocked: {}, deferred: {}, conversions: 0, attributed: 0 });
      for (const r of all<{ node: string; n: number }>("SELECT node, COUNT(*) AS n FROM journey_trail WHERE workspace_id = ? AND journey = ? AND kind = 'node' GROUP BY node", workspaceId, journey)) node(r.node).visits = r.n;
      for (const r of all<{ node: string; n: number }>("SELECT node, COUNT(*) AS n FROM journey_instances WHERE workspace_id = ? AND journey = ? AND status = 'active' GROUP BY node", workspaceId, journey)) node(r.node).active = r.n;
      for (const r of all<{ node: string; n: number }>('SELECT node, COUNT(*) AS n FROM journey_sends WHERE workspace_id = ? AND journey = ? GROUP BY node', workspaceId, journey)) node(r.node).sent = r.n;
      for (const r of all<{ node: string; detail: string }>("SELECT node, detail FROM journey_trail WHERE workspace_id = ? AND journey = ? AND kind = 'guardrail'", workspaceId, journey)) {
        const d = JSON.parse(r.detail) as { guardrail: string; action: string };
        const bucket = d.action === 'defer' ? node(r.node).deferred : node(r.node).blocked;
        bucket[d.guardrail] = (bucket[d.guardrail] ?? 0) + 1;
      }
      for (const r of all<{ node: string; n: number }>('SELECT node, COUNT(*) AS n FROM journey_conversions WHERE workspace_id = ? AND journey = ? GROUP BY node', workspaceId, journey)) node(r.node).conversions = r.n;
      for (const r of all<{ node: string; n: number }>('SELECT last_message_node AS node, COUNT(*) AS n FROM journey_conversions WHERE workspace_id = ? AND journey = ? AND last_message_node IS NOT NULL GROUP BY last_message_node', workspaceId, journey)) node(r.node).attributed = r.n;
      return stats;
    },
  };
  return store;
}
