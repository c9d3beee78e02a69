import { environmentSecrets, type SecretSource } from '../secrets/reference.js';
import type { Registry } from 'prom-client';
import type { DestinationGuard } from '../network/destination-guard.js';
import type { Channels } from '../channels/registry.js';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { Store, StoredEvent } from '../core/ports/store.js';
import type { FlagRow, IncidentRow, OperationsStore, SilenceRow } from '../storage/sqlite/operations-store.js';
import { ALERTS_KIND, type AlertRule } from './alerts/definition.js';
import { AlertEngine } from './alerts/engine.js';
import { detailedLinks, incidentWindow } from './alerts/links.js';
import { silenceActive } from './alerts/silences.js';
import { SeriesFeeds } from './feeds.js';
import { MONITORS_KIND, type Monitor } from './monitors/definition.js';
import { MINUTE, SeriesRecorder } from './series.js';
import { SIGNALS_KIND, type Signal } from './signals.js';

export interface OperationsDeps {
  store: OperationsStore;
  definitions: Store['definitions'];
  audit: Store['audit'];
  clock: Clock;
  registry: Registry;
  /** Series older than this are deleted (config operations.retention, default 90 days). */
  retentionMs: number;
  channels?: Pick<Channels, 'get'>;
  /** Where PagerDuty routing keys (`{ env }`, `{ secret }`) are read (default: the environment only). */
  secrets?: SecretSource;
  /** The SSRF guard for webhook and PagerDuty notifications (config network.allowPrivate); absent: non-public addresses refused. */
  destinations?: DestinationGuard;
  /** Base URL of this Tandem, for links in notifications. */
  baseUrl(): string;
  onError?(message: string): void;
}

interface Definitions {
  signals: Map<string, Signal>;
  monitors: Map<string, Monitor>;
  alerts: Map<string, AlertRule>;
}

/**
 * Operations (docs/operations.md): the series fed by the pipeline, signals, monitors, alert rules with their
 * incidents, silences and notifications, and data-issue flags. A tick (every minute on the Clock) writes the
 * buffered series, reads the other components' new rows, and evaluates every alert rule.
 */
export class Operations {
  readonly recorder: SeriesRecorder;
  readonly feeds: SeriesFeeds;
  readonly alerts: AlertEngine;
  private defs = new Map<string, Definitions>();
  private workspaces = new Set<string>(['default']);
  private lock: Promise<unknown> = Promise.resolve();
  private stopped = true;
  private loopDone: Promise<void> | undefined;
  private lastPrune = 0;

  constructor(private readonly deps: OperationsDeps) {
    this.recorder = new SeriesRecorder(deps.store, deps.clock, deps.retentionMs);
    this.feeds = new SeriesFeeds(this.recorder, deps.store, {
      signals: (ws) => [...(this.defs.get(ws)?.signals.values() ?? [])],
      nullRateMonitors: (ws) => [...(this.defs.get(ws)?.monitors.values() ?? [])].filter((m) => m.type === 'null_rate'),
    }, deps.registry);
    this.alerts = new AlertEngine({
      store: deps.store, recorder: this.recorder, baseUrl: deps.baseUrl,
      notifier: { secrets: deps.secrets ?? environmentSecrets(), channels: deps.channels, instance: 'tandem', guard: deps.destinations },
      onFiringChanged: (rule, severity, n) => this.feeds.prom.firing.set({ rule, severity }, n),
      onNotified: (o) => this.feeds.prom.notifications.inc({ target: o.target.split(':')[0], outcome: o.ok ? 'ok' : 'failed' }),
    });
  }

  get store(): OperationsStore {
    return this.deps.store;
  }

  /** The events stage's listener. */
  onStored(events: StoredEvent[]): void {
    for (const e of events) this.workspaces.add(e.workspaceId);
    this.feeds.onStored(events, this.deps.clock.now());
  }

  /** Re-reads a workspace's signals, monitors and alerts (a definition was saved or deleted). */
  async definitionsChanged(workspaceId: string): Promise<void> {
    this.workspaces.add(workspaceId);
    const list = async <T>(kind: string) => new Map((await this.deps.definitions.list<T>(workspaceId, kind)).map((d) => [d.key, d.body] as const));
    this.defs.set(workspaceId, { signals: await list<Signal>(SIGNALS_KIND), monitors: await list<Monitor>(MONITORS_KIND), alerts: await list<AlertRule>(ALERTS_KIND) });
  }

  async definitions(workspaceId: string): Promise<Definitions> {
    if (!this.defs.has(workspaceId)) await this.definitionsChanged(workspaceId);
    return this.defs.get(workspaceId) as Definitions;
  }

  /** One evaluation round at the clock's time (tests call it after moving a simulated clock). */
  tick(): Promise<void> {
    return this.exclusive(async () => {
      const now = this.deps.clock.now();
      this.feeds.flushSchema(now);
      this.feeds.sample(now);
      this.recorder.flush();
      for (const ws of this.workspaces) {
        await this.definitionsChanged(ws);
        const d = this.defs.get(ws) as Definitions;
        const keys = new Set([...d.alerts.keys(), ...this.deps.store.alertRulesWithState(ws)]);
        for (const key of keys) {
          try {
            await this.alerts.evaluate(ws, key, d.alerts.get(key), now, d.monitors, d.signals);
          } catch (error) {
            this.deps.onError?.(`alert rule '${key}': ${(error as Error).message}`);
          }
        }
      }
      await this.dispatchDue(now);
      if (now - this.lastPrune >= 3_600_000) {
        this.lastPrune = now;
        this.recorder.prune();
      }
    });
  }

  /** Due notification retries and group flushes at the clock's time (the loop also wakes for them between ticks). */
  dispatch(): Promise<void> {
    return this.exclusive(() => this.dispatchDue(this.deps.clock.now()));
  }

  private async dispatchDue(now: number): Promise<void> {
    try {
      await this.alerts.dispatcher.due(now);
    } catch (error) {
      this.deps.onError?.(`notifications: ${(error as Error).message}`);
    }
  }

  start(): void {
    this.stopped = false;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loopDone;
    await this.lock;
    this.recorder.flush();
  }

  private wake: (() => void) | undefined;

  private async loop(): Promise<void> {
    let nextTick = 0;
    while (!this.stopped) {
      try {
        if (this.deps.clock.now() >= nextTick) {
          await this.tick();
          const at = this.deps.clock.now();
          nextTick = at - (at % MINUTE) + MINUTE + 1000;
        } else await this.dispatch();
      } catch (error) {
        this.deps.onError?.(`operations: ${(error as Error).message}`);
      }
      const now = this.deps.clock.now();
      const due = this.alerts.dispatcher.nextDue();
      const wait = Math.max(1000, Math.min(nextTick, due ?? Infinity) - now);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void this.deps.clock.sleep(wait).then(resolve);
      });
      this.wake = undefined;
    }
  }

  /* ---- incidents ---- */

  incident(workspaceId: string, id: number): IncidentRow {
    const found = this.deps.store.incident(workspaceId, id);
    if (!found) throw notFound('incident', String(id));
    return found;
  }

  incidentView(workspaceId: string, i: IncidentRow) {
    const d = this.defs.get(workspaceId);
    const rule = d?.alerts.get(i.rule);
    const window = incidentWindow(i, rule, rule?.monitor !== undefined ? d?.monitors.get(rule.monitor) : undefined, rule?.signal !== undefined ? d?.signals.get(rule.signal) : undefined, this.deps.clock.now());
    const profileFlags = this.deps.store.all("SELECT 1 FROM ops_flags WHERE workspace_id = ? AND incident_id = ? AND target_type = 'profile' LIMIT 1", workspaceId, i.id).length > 0;
    return {
      ...i,
      openedAt: new Date(i.openedAt).toISOString(),
      resolvedAt: i.resolvedAt === null ? null : new Date(i.resolvedAt).toISOString(),
      acknowledgedAt: i.acknowledgedAt === null ? null : new Date(i.acknowledgedAt).toISOString(),
      lastNotifiedAt: i.lastNotifiedAt === null ? null : new Date(i.lastNotifiedAt).toISOString(),
      runbook: rule?.runbook ?? (i.detail.runbook as string | undefined) ?? null,
      window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() },
      links: detailedLinks(this.deps.baseUrl(), i, window, this.deps.store, profileFlags),
    };
  }

  async acknowledge(workspaceId: string, id: number, actor: string, note?: string): Promise<IncidentRow> {
    return this.exclusive(async () => {
      const i = this.incident(workspaceId, id);
      if (i.state === 'resolved') throw new TandemError('incident_resolved', `incident ${id} is resolved; there is nothing to acknowledge`, 409, 'id');
      if (i.acknowledgedAt !== null) return i;
      const rule = (await this.definitions(workspaceId)).alerts.get(i.rule);
      await this.alerts.acknowledge(workspaceId, i, rule, actor, this.deps.clock.now(), note);
      await this.deps.audit.add({ workspaceId, actor, action: 'incident.acknowledge', target: String(id), detail: note ? { note } : undefined }, this.deps.clock.now());
      return this.incident(workspaceId, id);
    });
  }

  async note(workspaceId: string, id: number, actor: string, text: string): Promise<void> {
    this.incident(workspaceId, id);
    this.deps.store.addTimeline(id, this.deps.clock.now(), 'note', actor, { text });
    await this.deps.audit.add({ workspaceId, actor, action: 'incident.note', target: String(id), detail: { text } }, this.deps.clock.now());
  }

  /* ---- silences ---- */

  async silence(workspaceId: string, s: { matchers: Record<string, string>; startsAt?: number; endsAt: number; comment: string; createdBy: string }): Promise<SilenceRow> {
    const now = this.deps.clock.now();
    const startsAt = s.startsAt ?? now;
    if (!Object.keys(s.matchers).length) throw badRequest('empty_matchers', 'matchers must name at least one label (alert, severity, source, ...)', 'matchers');
    if (s.endsAt <= startsAt) throw badRequest('invalid_period', 'endsAt must be after startsAt', 'endsAt');
    if (s.endsAt <= now) throw badRequest('invalid_period', 'endsAt must be in the future', 'endsAt');
    const id = this.deps.store.addSilence({ workspaceId, matchers: s.matchers, startsAt, endsAt: s.endsAt, comment: s.comment, createdBy: s.createdBy, createdAt: now });
    await this.deps.audit.add({ workspaceId, actor: s.createdBy, action: 'silence.create', target: String(id), detail: { matchers: s.matchers, startsAt, endsAt: s.endsAt, comment: s.comment } }, now);
    return this.deps.store.silence(workspaceId, id) as SilenceRow;
  }

  silenceView(s: SilenceRow) {
    const now = this.deps.clock.now();
    return { ...s, startsAt: new Date(s.startsAt).toISOString(), endsAt: new Date(s.endsAt).toISOString(), createdAt: new Date(s.createdAt).toISOString(), expiredAt: s.expiredAt === null ? null : new Date(s.expiredAt).toISOString(), active: silenceActive(s, now) };
  }

  async expireSilence(workspaceId: string, id: number, actor: string): Promise<void> {
    if (!this.deps.store.silence(workspaceId, id)) throw notFound('silence', String(id));
    const now = this.deps.clock.now();
    this.deps.store.expireSilence(workspaceId, id, now);
    await this.deps.audit.add({ workspaceId, actor, action: 'silence.expire', target: String(id) }, now);
  }

  /* ---- data-issue flags ---- */

  async flag(workspaceId: string, f: { targetType: 'event' | 'profile'; targetId: string; note: string; incidentId?: number; createdBy: string }): Promise<FlagRow> {
    if (f.incidentId !== undefined) this.incident(workspaceId, f.incidentId);
    const now = this.deps.clock.now();
    const id = this.deps.store.addFlag({ workspaceId, targetType: f.targetType, targetId: f.targetId, note: f.note, incidentId: f.incidentId ?? null, createdBy: f.createdBy, createdAt: now });
    if (f.incidentId !== undefined) this.deps.store.addTimeline(f.incidentId, now, 'flagged', f.createdBy, { flag: id, target: `${f.targetType}:${f.targetId}`, note: f.note });
    await this.deps.audit.add({ workspaceId, actor: f.createdBy, action: 'flag.create', target: `${f.targetType}:${f.targetId}`, detail: { flag: id, note: f.note, incident: f.incidentId } }, now);
    return this.deps.store.flag(workspaceId, id) as FlagRow;
  }

  async resolveFlag(workspaceId: string, id: number, actor: string, resolution: string): Promise<FlagRow> {
    const flag = this.deps.store.flag(workspaceId, id);
    if (!flag) throw notFound('flag', String(id));
    if (flag.status === 'resolved') throw new TandemError('flag_resolved', `flag ${id} is already resolved`, 409, 'id');
    const now = this.deps.clock.now();
    this.deps.store.resolveFlag(workspaceId, id, now, resolution);
    await this.deps.audit.add({ workspaceId, actor, action: 'flag.resolve', target: `${flag.targetType}:${flag.targetId}`, detail: { flag: id, resolution } }, now);
    return this.deps.store.flag(workspaceId, id) as FlagRow;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}
