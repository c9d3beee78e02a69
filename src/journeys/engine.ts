import { createHash, randomUUID } from 'node:crypto';
import { compareValue, readComparison } from '../conditions/comparison.js';
import { evaluate, type Condition, type EventRecord, type ReferenceInput } from '../conditions/index.js';
import { pathSegments, toInstant, valueAt } from '../conditions/values.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { type CatalogTrigger, type ExitRule, type JourneyDefinition, type JourneyNode, type NodeOf } from './definition.js';
import { explain } from './explain.js';
import { planBestTime, type BestTimeSpec, type SendTimeSource } from './best-time.js';
import { migrateInstances } from './migration.js';
import { decide, zoneOf, type Guardrails } from './guardrails.js';
import type { CatalogSource, ExperimentPort, GuardrailSource, JourneyEvent, JourneyInstance, JourneyProfile, JourneyStore, OutboxWriter, TrailKind } from './ports.js';
import { nextCron, parseCron, zonedInstant, zonedParts } from './time.js';

export interface EngineDeps {
  store: JourneyStore;
  outbox: OutboxWriter;
  clock: Clock;
  catalogs?: CatalogSource;
  guardrails?: GuardrailSource;
  /** Instance ids (deterministic ones in simulations). */
  newId?: () => string;
  /** Called (inside the step) when a budget stops a send: feed an alertable metric. */
  onBudgetExhausted?: (workspaceId: string, scope: string, action: 'defer' | 'skip') => void;
  /** Called for every message queued (metrics). */
  onSent?: (workspaceId: string, journey: string, node: string, channel: string) => void;
  /** Experiments: splits bound to an experiment, holdouts at entry, decide nodes (absent: plain weights, no logging). */
  experiments?: ExperimentPort;
  /** Send-time models for send and webhook nodes with `at: { bestTimeWithin, model }` (absent: such nodes send at once). */
  sendTimes?: SendTimeSource;
}

/** Track events the delivery side sends back that suppress a profile on a medium (ARCHITECTURE.md, deliver). */
// A Map, not an object: an event named `constructor` or `toString` must not find a reason on the prototype.
const SUPPRESSING_EVENTS = new Map<string, string>([['Message Bounced', 'hard_bounce'], ['Message Complained', 'complaint'], ['Spam Complaint', 'complaint']]);

const MAX_STEPS = 200;
type Why = 'arrive' | 'timer' | 'event';
type Outcome = { to: string | undefined } | { stop: true } | { exit: string };

/**
 * The journey engine. Every public method is synchronous and runs in one JourneyStore transaction: the instance,
 * its trail, the send ledger, budgets and the outbox rows commit together, so a crash repeats a whole step or none
 * of it, and a message's idempotency key `<instance>:<node>:<visit>` is unique in the ledger and the outbox.
 */
export class JourneyEngine {
  private readonly newId: () => string;
  constructor(private readonly deps: EngineDeps) {
    this.newId = deps.newId ?? randomUUID;
  }

  private get store(): JourneyStore {
    return this.deps.store;
  }

  private guardrails(workspaceId: string): Guardrails {
    return this.deps.guardrails?.(workspaceId) ?? {};
  }

  /* ---- definitions ---- */

  /** Records a saved version (the routes call it after Store.definitions.put); a new journey starts active. */
  saved(workspaceId: string, key: string, version: number, def: JourneyDefinition): void {
    const now = this.deps.clock.now();
    this.store.transaction(() => {
      this.store.saveVersion(workspaceId, key, version, def, now);
      const status = this.store.status(workspaceId, key);
      if (status === undefined || status === 'archived') this.store.setStatus(workspaceId, key, 'active', now);
      this.planSchedule(workspaceId, key, version, def, now);
      migrateInstances(this.store, workspaceId, key, version, def, now);
    });
  }

  private planSchedule(workspaceId: string, key: string, version: number, def: JourneyDefinition, now: number): void {
    const t = def.trigger;
    if (t.type !== 'schedule') {
      if (this.store.schedule(workspaceId, key)) this.store.setSchedule(workspaceId, key, version, null);
      return;
    }
    const next = t.at !== undefined ? (Date.parse(t.at) >= now ? Date.parse(t.at) : null) : (nextCron(parseCron(t.cron!), now - 1, t.timezone ?? 'UTC') ?? null);
    this.store.setSchedule(workspaceId, key, version, next);
  }

  setStatus(workspaceId: string, key: string, status: 'active' | 'paused' | 'archived'): void {
    const now = this.deps.clock.now();
    this.store.transaction(() => {
      this.store.setStatus(workspaceId, key, status, now);
      if (status === 'archived') {
        for (const inst of this.store.activeOf(workspaceId, key)) this.finish(inst, 'exited', 'archived', now, {});
        this.store.setSchedule(workspaceId, key, 0, null);
      }
    });
  }

  /* ---- inputs ---- */

  /**
   * One event of one profile: suppression signals, exit rules, goals and awaited events of running instances,
   * then entries into journeys whose trigger it matches (in priority order).
   */
  /**
   * Whether an event can matter to a journey for this profile: it suppresses, the profile has an active instance
   * (exit rules, goals, waits), or a journey's trigger or goal names it. When not, the stage skips reading the
   * profile, which is most of the cost of an event no journey listens to.
   */
  concerns(workspaceId: string, profileId: string, event: JourneyEvent): boolean {
    const name = event.event;
    if (name !== undefined && (SUPPRESSING_EVENTS.has(name) || name === 'Unsubscribed')) return true;
    if (this.store.activeInstances(workspaceId, profileId).length > 0) return true;
    if (this.deps.experiments?.concerns(workspaceId, profileId, event)) return true;
    for (const j of this.store.latest(workspaceId)) {
      const t = j.body.trigger;
      if (t.type === 'event' && t.event === name) return true;
      if (t.type === 'audience_entered' && name === 'Audience Entered') return true;
      if (t.type === 'audience_exited' && name === 'Audience Exited') return true;
      if (j.body.goal !== undefined && j.body.goal.event === name) return true;
    }
    return false;
  }

  handleEvent(workspaceId: string, profile: JourneyProfile, event: JourneyEvent): void {
    const now = this.deps.clock.now();
    this.store.transaction(() => {
      this.deps.experiments?.observe(workspaceId, profile.id, event, now);
      const reason = event.event !== undefined ? SUPPRESSING_EVENTS.get(event.event) : undefined;
      const bounceType = event.properties.bounce_type ?? event.properties.type;
      if (reason && !(reason === 'hard_bounce' && bounceType === 'soft')) {
        const medium = typeof event.properties.medium === 'string' ? event.properties.medium : typeof event.properties.channel === 'string' ? event.properties.channel : '*';
        this.store.suppress(workspaceId, profile.id, medium, reason, now);
      }
      if (event.event === 'Unsubscribed' && (event.properties.group === undefined || event.properties.group === 'all')) {
        this.store.suppress(workspaceId, profile.id, '*', 'unsubscribed', now);
      }

      for (const inst of this.store.activeInstances(workspaceId, profile.id)) {
        if (inst.context.trigger?.messageId === event.messageId) continue;
        const def = this.store.version(workspaceId, inst.journey, inst.version);
        if (!def) continue;
        const exitRule = (def.exit ?? []).find((rule) => this.exitMatches(rule, event, profile));
        if (exitRule) {
          this.finish(inst, 'exited', 'exit_rule', now, { rule: exitRule, event: event.event ?? event.type });
          continue;
        }
        if (def.goal && this.eventMatches(def.goal.event, def.goal.where, event, profile) && this.withinGoal(def, inst, now)) {
          this.convert(inst, def, now, event);
          if (def.goal.exit !== false) {
            this.finish(inst, 'exited', 'goal', now, { event: event.event });
            continue;
          }
        }
        const node = def.nodes[inst.node];
        if (node?.type === 'wait_for_event' && inst.wakeAt !== null && this.eventMatches(node.event, node.where, event, profile)) {
          if (this.store.status(workspaceId, inst.journey) !== 'active') {
            inst.context.arrived = event;
            inst.wakeAt = now;
            inst.updatedAt = now;
            this.store.updateInstance(inst);
          } else {
            this.run(inst, def, profile, now, 'event', event);
          }
        }
      }

      const journeys = this.store.latest(workspaceId).sort((a, b) => (b.body.priority ?? 0) - (a.body.priority ?? 0) || a.key.localeCompare(b.key));
      for (const j of journeys) {
        // Goal conversions after an instance ended (within the goal window, counted from entry).
        if (j.body.goal?.within !== undefined && this.eventMatches(j.body.goal.event, j.body.goal.where, event, profile)) {
          const last = this.store.latestInstance(workspaceId, j.key, profile.id);
          if (last && last.status !== 'active' && last.context.trigger?.messageId !== event.messageId) {
            const def = this.store.version(workspaceId, j.key, last.version);
            if (def && this.withinGoal(def, last, now)) this.convert(last, def, now, event);
          }
        }
        if (this.triggerMatches(j.body, event, profile)) this.enter(workspaceId, j.key, j.version, j.body, j.status, profile, event, `event:${event.messageId}`, now);
      }
    });
  }

  /** A due timer: re-reads the instance (a stale timer does nothing) and advances it. */
  fireTimer(instanceId: string, profile: JourneyProfile | undefined): void {
    const now = this.deps.clock.now();
    this.store.transaction(() => {
      const inst = this.store.instance(instanceId);
      if (!inst || inst.status !== 'active' || inst.wakeAt === null || inst.wakeAt > now) return;
      if (this.store.status(inst.workspaceId, inst.journey) !== 'active') return;
      if (!profile) return this.finish(inst, 'exited', 'profile_gone', now, {});
      const def = this.store.version(inst.workspaceId, inst.journey, inst.version);
      if (!def) return this.finish(inst, 'exited', 'version_missing', now, {});
      this.run(inst, def, profile, now, 'timer');
    });
  }

  /**
   * A schedule trigger's occurrence for some members (call with chunks of the audience, then with `done` to plan
   * the next occurrence). Entries are keyed by the occurrence, so repeating a chunk after a crash enters nobody twice.
   */
  fireSchedule(workspaceId: string, key: string, occurrence: number, members: JourneyProfile[], done: boolean): void {
    const now = this.deps.clock.now();
    this.store.transaction(() => {
      const current = this.store.latest(workspaceId).find((j) => j.key === key);
      if (!current) return;
      for (const profile of members) {
        this.enter(workspaceId, key, current.version, current.body, current.status, profile, undefined, `schedule:${occurrence}`, now);
      }
      if (done) {
        const t = current.body.trigger;
        const next = t.type === 'schedule' && t.cron !== undefined ? (nextCron(parseCron(t.cron), Math.max(occurrence, now), t.timezone ?? 'UTC') ?? null) : null;
        this.store.setSchedule(workspaceId, key, current.version, next);
      }
    });
  }

  /** Whether a catalog row change satisfies a catalog_changed trigger: every `before` filter on the old row, every `after` filter on the new (a missing row fails its side's filters). */
  static catalogMatches(t: CatalogTrigger, before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined, now: number): boolean {
    const holds = (row: Record<string, unknown> | undefined, filters: CatalogTrigger['before']) =>
      filters === undefined || filters.length === 0 || (row !== undefined && filters.every((f) => compareValue(valueAt(row, pathSegments(f.field)), readComparison(f), now)));
    return holds(before, t.before) && holds(after, t.after);
  }

  /**
   * A catalog change for some recipients of one catalog_changed journey (call with chunks). Entries are keyed by
   * the change, so repeating a chunk after a crash enters nobody twice; `event` is the synthetic trigger
   * (`Catalog Row Changed` with catalog, key, before and after).
   */
  fireCatalogChange(workspaceId: string, key: string, changeId: number, event: JourneyEvent, members: JourneyProfile[]): void {
    const now = this.deps.clock.now();
    this.store.transaction(() => {
      const current = this.store.latest(workspaceId).find((j) => j.key === key);
      if (!current || current.body.trigger.type !== 'catalog_changed') return;
      for (const profile of members) this.enter(workspaceId, key, current.version, current.body, current.status, profile, event, `catalog:${changeId}`, now);
    });
  }

  /* ---- entry ---- */

  private triggerMatches(def: JourneyDefinition, event: JourneyEvent, profile: JourneyProfile): boolean {
    const t = def.trigger;
    if (t.type === 'event') return this.eventMatches(t.event, t.where, event, profile);
    if (t.type === 'audience_entered') return event.event === 'Audience Entered' && event.properties.audience === t.audience;
    if (t.type === 'audience_exited') return event.event === 'Audience Exited' && event.properties.audience === t.audience;
    return false;
  }

  private enter(
    workspaceId: string, key: string, version: number, def: JourneyDefinition, status: string, profile: JourneyProfile, event: JourneyEvent | undefined, entryRef: string, now: number,
  ): void {
    const base = { workspaceId, journey: key, profileId: profile.id, instanceId: null, version, at: now };
    const refuse = (reason: string, detail: Record<string, unknown> = {}) =>
      this.store.trail({ ...base, kind: 'no_entry', node: null, detail: { reason, ...detail, ...(event ? { event: event.event ?? event.type, messageId: event.messageId } : {}) } });
    if (status !== 'active') return refuse(status, { message: `the journey is ${status}` });
    const input = this.conditionInput(workspaceId, profile, event, now);
    for (const [field, cond] of [['trigger.condition', def.trigger.condition], ['entry_condition', def.entry_condition]] as const) {
      if (cond === undefined) continue;
      const { result, seen } = explain(cond as Condition, input);
      if (!result) return refuse('condition', { field, seen, message: `${field} is false` });
    }
    if (this.store.activeInstances(workspaceId, profile.id).some((i) => i.journey === key)) return refuse('already_active', { message: 'the profile is in this journey already' });
    const policy = def.re_entry?.policy ?? (def.trigger.type === 'schedule' || def.trigger.type === 'catalog_changed' ? 'always' : 'never');
    const last = this.store.lastEntry(workspaceId, key, profile.id);
    let entryKey = entryRef;
    if (policy === 'never' && last !== undefined) return refuse('re_entry', { policy, lastEntry: last, message: 're-entry policy is never and the profile entered before' });
    if (policy === 'cooldown' && last !== undefined) {
      const until = last + parseDuration(def.re_entry!.cooldown!, 're_entry.cooldown');
      if (now < until) return refuse('re_entry', { policy, lastEntry: last, until, message: `in the re-entry cooldown of ${def.re_entry!.cooldown}` });
    }
    if (policy === 'unique_on') {
      const value = event ? valueAt(event.properties, pathSegments(def.re_entry!.property!)) : undefined;
      if (value === undefined || value === null) return refuse('re_entry', { policy, message: `the trigger has no ${def.re_entry!.property} to be unique on` });
      entryKey = `unique:${JSON.stringify(value)}`;
      if (this.store.hasEntry(workspaceId, key, profile.id, entryKey)) return refuse('re_entry', { policy, value, message: `entered before with ${def.re_entry!.property} = ${JSON.stringify(value)}` });
    }
    const held = this.deps.experiments?.holdout({ workspaceId, journey: key, profile, input, now });
    if (held) return refuse('holdout', { experiment: held.experiment, arm: held.arm, message: `held out by experiment ${held.experiment} (arm ${held.arm})` });
    const id = this.newId();
    if (!this.store.recordEntry(workspaceId, key, profile.id, entryKey, id, now)) return refuse('duplicate', { entryKey, message: 'this trigger was handled already' });
    const inst: JourneyInstance = {
      id, workspaceId, journey: key, version, profileId: profile.id, node: def.start, status: 'active', wakeAt: null, priority: def.priority ?? 0,
      enteredAt: now, updatedAt: now, exitReason: null, context: { ...(event ? { trigger: event } : {}), visits: {}, entryKey },
    };
    this.store.insertInstance(inst);
    this.trail(inst, 'entry', null, now, { trigger: def.trigger.type, ...(event ? { event: event.event ?? event.type, messageId: event.messageId } : { occurrence: entryRef }) });
    this.goto(inst, def.start);
    this.run(inst, def, profile, now, 'arrive');
  }

  /* ---- running ---- */

  private run(inst: JourneyInstance, def: JourneyDefinition, profile: JourneyProfile, now: number, why: Why, event?: JourneyEvent): void {
    let reason: Why = why;
    for (let steps = 0; steps < MAX_STEPS; steps++) {
      const node = def.nodes[inst.node];
      if (!node) {
        this.finish(inst, 'exited', 'node_missing', now, { node: inst.node });
        return;
      }
      const out = this.step(inst, def, node, profile, now, reason, event);
      if ('stop' in out) {
        inst.updatedAt = now;
        this.store.updateInstance(inst);
        return;
      }
      if ('exit' in out) {
        this.finish(inst, 'exited', out.exit, now, {});
        return;
      }
      if (out.to === undefined) {
        this.finish(inst, 'completed', 'completed', now, {});
        return;
      }
      this.goto(inst, out.to);
      reason = 'arrive';
      event = undefined;
    }
    // Validation refuses loops without a wait; this guards against anything it missed.
    this.finish(inst, 'exited', 'step_limit', now, { limit: MAX_STEPS });
  }

  private goto(inst: JourneyInstance, node: string): void {
    inst.node = node;
    inst.context.visits[node] = (inst.context.visits[node] ?? 0) + 1;
    inst.wakeAt = null;
    delete inst.context.deferred;
    delete inst.context.arrived;
  }

  private step(inst: JourneyInstance, def: JourneyDefinition, node: JourneyNode, profile: JourneyProfile, now: number, why: Why, event?: JourneyEvent): Outcome {
    const id = inst.node;
    const waitUntil = (until: number, detail: Record<string, unknown>): Outcome => {
      inst.wakeAt = until;
      this.trail(inst, 'wait', id, now, { until, ...detail });
      return { stop: true };
    };
    switch (node.type) {
      case 'wait':
        if (why === 'arrive') {
          this.trail(inst, 'node', id, now, { type: node.type });
          return waitUntil(now + parseDuration(node.duration, `nodes.${id}.duration`), { duration: node.duration });
        }
        return { to: node.next };
      case 'wait_until': {
        if (why !== 'arrive') return { to: node.next };
        this.trail(inst, 'node', id, now, { type: node.type });
        const target = this.waitUntilTarget(node, inst, profile, now);
        if (target.until === undefined || target.until <= now) {
          this.trail(inst, 'wait', id, now, { ...target.detail, skipped: true });
          return { to: node.next };
        }
        return waitUntil(target.until, target.detail);
      }
      case 'wait_for_event':
        if (why === 'arrive') {
          this.trail(inst, 'node', id, now, { type: node.type, event: node.event });
          return waitUntil(now + parseDuration(node.timeout, `nodes.${id}.timeout`), { event: node.event, timeout: node.timeout });
        }
        if (why === 'event' || inst.context.arrived) {
          this.trail(inst, 'node', id, now, { type: node.type, outcome: 'event', event: (event ?? inst.context.arrived)?.event });
          return { to: node.next };
        }
        this.trail(inst, 'node', id, now, { type: node.type, outcome: 'timeout' });
        return { to: node.timeout_next };
      case 'branch': {
        const { result, seen } = explain(node.condition as Condition, this.conditionInput(inst.workspaceId, profile, inst.context.trigger, now));
        this.trail(inst, 'node', id, now, { type: node.type, result, seen, next: result ? node.then ?? null : node.else ?? null });
        return { to: result ? node.then : node.else };
      }
      case 'split': {
        if (node.experiment !== undefined) return this.experimentSplit(inst, node, profile, now);
        const total = node.branches.reduce((s, b) => s + (b.weight ?? 1), 0);
        const r = (parseInt(createHash('md5').update(`${inst.id}:${id}`).digest('hex').slice(0, 8), 16) / 0x1_0000_0000) * total;
        let acc = 0;
        let chosen = node.branches.length - 1;
        for (const [i, b] of node.branches.entries()) {
          acc += b.weight ?? 1;
          if (r < acc) {
            chosen = i;
            break;
          }
        }
        this.trail(inst, 'node', id, now, { type: node.type, branch: chosen, next: node.branches[chosen].next ?? null });
        return { to: node.branches[chosen].next };
      }
      case 'send':
        return this.send(inst, def, node, profile, now, why);
      case 'update_trait': {
        const visit = inst.context.visits[id] ?? 1;
        this.store.addEffect(inst.workspaceId, profile.id, { [node.trait]: node.value }, `${inst.id}:${id}:${visit}`, now);
        profile.traits = { ...profile.traits, [node.trait]: node.value };
        this.trail(inst, 'node', id, now, { type: node.type, trait: node.trait, value: node.value });
        return { to: node.next };
      }
      case 'webhook':
      case 'ad_audience': {
        if (node.type === 'webhook' && node.at !== undefined && why === 'arrive') {
          const wait = this.atBestTime(inst, node.at, profile, now);
          if (wait) return wait;
        }
        const payload = node.type === 'webhook'
          ? { ...(node.payload ?? {}), profile_id: profile.id, journey: inst.journey, node: id, ...(inst.context.trigger ? { event: inst.context.trigger } : {}) }
          : { action: node.action };
        this.queue(inst, id, profile, { channel: node.channel, medium: node.type, category: 'system', priority: 0, payload });
        this.trail(inst, 'node', id, now, { type: node.type, channel: node.channel });
        return { to: node.next };
      }
      case 'decide':
        return this.decideNode(inst, node, profile, now);
      case 'exit':
        this.trail(inst, 'node', id, now, { type: node.type });
        return { exit: 'exit_node' };
    }
  }

  /** A split bound to an experiment: the experiment's arm (exposure recorded once); without the port, the first branch. */
  private experimentSplit(inst: JourneyInstance, node: NodeOf<'split'>, profile: JourneyProfile, now: number): Outcome {
    const id = inst.node;
    const port = this.deps.experiments;
    const answer = port
      ? port.split(this.experimentStep(inst, profile, now), node.experiment!)
      : { arm: null, exposed: false, reason: 'experiments unavailable here (simulation): first branch' };
    const index = Math.max(0, node.branches.findIndex((b) => b.arm === answer.arm));
    const next = node.branches[index].next;
    this.trail(inst, 'node', id, now, { type: node.type, experiment: node.experiment, arm: answer.arm, exposed: answer.exposed, reason: answer.reason, branch: index, next: next ?? null });
    return { to: next };
  }

  /** Next-best-action: eligible arms by condition, then Thompson sampling (src/experiments/decide.ts); every decision is logged. */
  private decideNode(inst: JourneyInstance, node: NodeOf<'decide'>, profile: JourneyProfile, now: number): Outcome {
    const id = inst.node;
    const input = this.conditionInput(inst.workspaceId, profile, inst.context.trigger, now);
    const eligible = node.arms.filter((a) => a.eligible === undefined || evaluate(a.eligible as Condition, input)).map((a) => a.key);
    const port = this.deps.experiments;
    if (!port) {
      // Simulations: no decision log; the first eligible arm, so a draft can still be walked through.
      const arm = node.arms.find((a) => a.key === eligible[0]);
      this.trail(inst, 'node', id, now, { type: node.type, arm: arm?.key ?? null, eligible, reason: 'decisions unavailable here (simulation): first eligible arm' });
      return { to: arm ? arm.next : node.none_eligible };
    }
    if (eligible.length === 0 && !node.holdout) {
      this.trail(inst, 'node', id, now, { type: node.type, arm: null, eligible, next: node.none_eligible ?? null });
      return { to: node.none_eligible };
    }
    const d = port.decide(this.experimentStep(inst, profile, now, input), node, eligible);
    this.trail(inst, 'node', id, now, { type: node.type, arm: d.arm, holdout: d.holdout, decision: d.decision, eligible, next: d.next ?? null, ...d.detail });
    return { to: d.next };
  }

  private experimentStep(inst: JourneyInstance, profile: JourneyProfile, now: number, input = this.conditionInput(inst.workspaceId, profile, inst.context.trigger, now)) {
    return { workspaceId: inst.workspaceId, journey: inst.journey, node: inst.node, instanceId: inst.id, visit: inst.context.visits[inst.node] ?? 1, profile, input, now };
  }

  private send(inst: JourneyInstance, def: JourneyDefinition, node: NodeOf<'send'>, profile: JourneyProfile, now: number, why: Why): Outcome {
    const id = inst.node;
    const medium = node.medium ?? node.channel;
    const category = node.category ?? 'marketing';
    const priority = node.priority ?? def.priority ?? 0;
    if (why === 'arrive') {
      this.trail(inst, 'node', id, now, { type: node.type, channel: node.channel, template: node.template ?? null });
      if (node.at !== undefined) {
        const wait = this.atBestTime(inst, node.at, profile, now);
        if (wait) return wait;
      }
    }
    const g = this.guardrails(inst.workspaceId);
    const verdict = decide(
      { workspaceId: inst.workspaceId, journey: inst.journey, node: id, channel: node.channel, medium, category, priority, profile, now, journeyBudgets: def.budgets ?? [] },
      g, this.store,
    );
    if (verdict.action === 'send') {
      for (const b of verdict.budgets) this.store.takeBudget(inst.workspaceId, b.scope, b.windowStart, b.max);
      this.queue(inst, id, profile, { channel: node.channel, medium, category, priority, template: node.template, payload: node.payload ?? {} });
      inst.context.lastMessageNode = id;
      inst.priority = def.priority ?? 0;
      return { to: node.next };
    }
    if (verdict.guardrail === 'budget') this.deps.onBudgetExhausted?.(inst.workspaceId, String(verdict.detail.scope), verdict.action);
    this.trail(inst, 'guardrail', id, now, { guardrail: verdict.guardrail, action: verdict.action, channel: node.channel, priority, ...verdict.detail });
    if (verdict.action === 'defer') {
      inst.wakeAt = verdict.until;
      inst.priority = priority;
      inst.context.deferred = { node: id, reason: verdict.guardrail, since: inst.context.deferred?.since ?? now };
      return { stop: true };
    }
    return { to: node.next };
  }

  /** `at: { bestTimeWithin, model }`: waits on the instance's timer until the planned hour (the timer then runs the node's action); undefined: act now. */
  private atBestTime(inst: JourneyInstance, spec: BestTimeSpec, profile: JourneyProfile, now: number): Outcome | undefined {
    const plan = planBestTime(spec, this.deps.sendTimes?.(inst.workspaceId, spec.model), profile.computed ?? {}, now);
    if (plan.at <= now) {
      this.trail(inst, 'wait', inst.node, now, { ...plan.detail, skipped: true });
      return undefined;
    }
    inst.wakeAt = plan.at;
    this.trail(inst, 'wait', inst.node, now, { until: plan.at, ...plan.detail });
    return { stop: true };
  }

  private queue(
    inst: JourneyInstance, node: string, profile: JourneyProfile,
    m: { channel: string; medium: string; category: string; priority: number; template?: string; payload: Record<string, unknown> },
  ): void {
    const now = this.deps.clock.now();
    const idempotencyKey = `${inst.id}:${node}:${inst.context.visits[node] ?? 1}`;
    const fresh = this.store.recordSend({
      workspaceId: inst.workspaceId, idempotencyKey, profileId: profile.id, journey: inst.journey, node, instanceId: inst.id,
      channel: m.channel, medium: m.medium, category: m.category, priority: m.priority, at: now,
    });
    if (!fresh) return;
    const payload = { ...m.payload, ...(inst.context.trigger && !('event' in m.payload) ? { event: { event: inst.context.trigger.event, properties: inst.context.trigger.properties } } : {}) };
    this.deps.outbox.enqueue({
      workspaceId: inst.workspaceId, profileId: profile.id, channel: m.channel, ...(m.template !== undefined ? { template: m.template } : {}), payload,
      idempotencyKey, priority: m.priority, category: m.category, journey: inst.journey, node,
    });
    this.trail(inst, 'send', node, now, { channel: m.channel, template: m.template ?? null, category: m.category, priority: m.priority, idempotencyKey });
    this.deps.onSent?.(inst.workspaceId, inst.journey, node, m.channel);
  }

  private waitUntilTarget(node: NodeOf<'wait_until'>, inst: JourneyInstance, profile: JourneyProfile, now: number): { until: number | undefined; detail: Record<string, unknown> } {
    const zone = zoneOf(profile, this.guardrails(inst.workspaceId));
    if (node.date_trait === undefined && node.date_property === undefined) {
      const p = zonedParts(now, zone);
      const [h, m] = node.time!.split(':').map(Number);
      let until = zonedInstant(zone, p.year, p.month, p.day, h, m);
      if (until < now) until = zonedInstant(zone, p.year, p.month, p.day + 1, h, m);
      return { until, detail: { time: node.time, timezone: zone } };
    }
    const raw = node.date_trait !== undefined
      ? valueAt(profile.traits, pathSegments(node.date_trait))
      : valueAt(inst.context.trigger?.properties ?? {}, pathSegments(node.date_property!));
    const source = node.date_trait !== undefined ? { date_trait: node.date_trait } : { date_property: node.date_property };
    const offset = node.offset === undefined ? 0 : (node.offset.startsWith('-') ? -1 : 1) * parseDuration(node.offset.replace(/^-/, ''), 'offset');
    let date: { y: number; mo: number; d: number; h: number; mi: number } | undefined;
    if (typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(raw)) {
      const [y, mo, d] = raw.split('-').map(Number);
      date = { y, mo, d, h: 0, mi: 0 };
    } else {
      const instant = toInstant(raw);
      if (instant !== undefined) {
        const p = zonedParts(instant, zone);
        date = { y: p.year, mo: p.month, d: p.day, h: p.hour, mi: p.minute };
      }
    }
    if (!date) return { until: undefined, detail: { ...source, value: raw ?? null, message: 'no date to wait for; continuing' } };
    if (node.time !== undefined) [date.h, date.mi] = node.time.split(':').map(Number);
    const at = (y: number) => zonedInstant(zone, y, date!.mo, date!.d, date!.h, date!.mi) + offset;
    let until = at(date.y);
    if (node.yearly) {
      const year = zonedParts(now, zone).year;
      until = at(year);
      if (until <= now) until = at(year + 1);
    }
    return { until, detail: { ...source, value: raw, offset: node.offset ?? null, timezone: zone } };
  }

  /* ---- helpers ---- */

  private finish(inst: JourneyInstance, status: 'exited' | 'completed', reason: string, now: number, detail: Record<string, unknown>): void {
    inst.status = status;
    inst.exitReason = reason;
    inst.wakeAt = null;
    inst.updatedAt = now;
    this.store.updateInstance(inst);
    this.trail(inst, 'exit', inst.node, now, { reason, ...detail });
  }

  private convert(inst: JourneyInstance, def: JourneyDefinition, now: number, event: JourneyEvent): void {
    if (this.store.convert(inst.workspaceId, inst.journey, inst.version, inst.id, inst.profileId, inst.node, inst.context.lastMessageNode ?? null, now)) {
      this.trail(inst, 'goal', inst.node, now, { event: def.goal!.event, messageId: event.messageId, lastMessageNode: inst.context.lastMessageNode ?? null });
    }
  }

  private withinGoal(def: JourneyDefinition, inst: JourneyInstance, now: number): boolean {
    return def.goal?.within === undefined || now - inst.enteredAt <= parseDuration(def.goal.within, 'goal.within');
  }

  private exitMatches(rule: ExitRule, event: JourneyEvent, profile: JourneyProfile): boolean {
    if ('audience_exited' in rule) return event.event === 'Audience Exited' && event.properties.audience === rule.audience_exited;
    return this.eventMatches(rule.event, rule.where, event, profile);
  }

  /** The event has the name and every property filter holds (the `performed` node's filters over this one event). */
  private eventMatches(name: string, where: unknown[] | undefined, event: JourneyEvent, profile: JourneyProfile): boolean {
    if (event.event !== name) return false;
    if (!where?.length) return true;
    const record: EventRecord = { type: event.type, event: event.event, timestamp: event.timestamp, properties: event.properties };
    return evaluate({ performed: name, where } as Condition, { profile, events: [record], now: Math.max(event.timestamp, 0), catalogs: { get: () => undefined } });
  }

  /** What conditions read: the profile (with the triggering event's properties as traits.$event), its history and the trigger. */
  private conditionInput(workspaceId: string, profile: JourneyProfile, trigger: JourneyEvent | undefined, now: number): ReferenceInput {
    const events: EventRecord[] = [...(profile.events ?? [])];
    if (trigger && !events.some((e) => e.timestamp === trigger.timestamp && e.event === trigger.event)) {
      events.push({ type: trigger.type, event: trigger.event, timestamp: Math.min(trigger.timestamp, now), properties: trigger.properties });
    }
    return {
      profile: { ...profile, traits: { ...profile.traits, ...(trigger ? { $event: trigger.properties } : {}) } },
      events, now, catalogs: this.deps.catalogs?.(workspaceId) ?? { get: () => undefined },
    };
  }

  private trail(inst: JourneyInstance, kind: TrailKind, node: string | null, at: number, detail: Record<string, unknown>): void {
    this.store.trail({ workspaceId: inst.workspaceId, journey: inst.journey, profileId: inst.profileId, instanceId: inst.id, version: inst.version, at, kind, node, detail });
  }
}
