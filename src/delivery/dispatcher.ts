import type { Channels } from '../channels/registry.js';
import type { EmailSettings } from '../channels/definition.js';
import type { OutgoingMessage, SendOutcome } from '../channels/channel.js';
import type { Clock } from '../core/clock.js';
import { TandemError } from '../core/errors.js';
import { StageLoop, type LoadShare } from '../core/stage-loop.js';
import type { Template } from '../templates/definition.js';
import type { RenderContext, RenderedContent, TemplateRenderer } from '../templates/render.js';
import { DELIVERY_EVENTS, type DeliveryEvents, type DeliveryProfile, type ProfileReader } from './events.js';
import type { TrackingLinks } from './links.js';
import type { DeliveryLogEntry, DeliveryRecord, DeliveryStore, PendingDeliveryEvent, Settlement } from './ports.js';
import { backoff, type RetryPolicy } from './retry.js';

export interface TemplateSource {
  get(workspaceId: string, key: string): Promise<{ version: number; body: Template } | undefined>;
}

export interface DispatcherDeps {
  store: DeliveryStore;
  channels: Channels;
  templates: TemplateSource;
  renderer: TemplateRenderer;
  profiles: ProfileReader;
  links: TrackingLinks;
  events: DeliveryEvents;
  clock: Clock;
  load: LoadShare;
  /** The retry policy of a channel (its own settings over the configured defaults). */
  policy: (channel: { retry?: { maxAttempts?: number; base?: string; max?: string } } | undefined) => RetryPolicy;
  concurrency: number;
  random?: () => number;
  onError?: (message: string) => void;
  /** Leaves out of what a channel receives the personal data it may not (docs/metadata.md, governance). */
  governance?: DestinationGovernance;
}

/** The governance hook: the profile and payload a channel may see (personal data left out unless allowed). */
export interface DestinationGovernance {
  forDestination(workspaceId: string, channel: { key: string; type: string }, profile: DeliveryProfile, payload: Record<string, unknown>): Promise<{ profile: DeliveryProfile; payload: Record<string, unknown> }>;
}

/** A failure that no retry can fix (missing channel or template, a template that does not render). */
class Permanent extends Error {}

/** The variables a template sees (docs/templates.md). */
export function renderContext(m: DeliveryRecord, profile: DeliveryProfile, unsubscribeUrl: string | undefined): RenderContext {
  const event = m.payload.event;
  const locale = [m.payload.locale, profile.traits.locale, profile.traits.language].find((v): v is string => typeof v === 'string' && v !== '');
  return {
    profile: {
      id: profile.id,
      traits: profile.traits,
      computed: profile.computed ?? {},
      identifiers: Object.fromEntries([...profile.identifiers].reverse().map((i) => [i.type, i.value])),
      audiences: profile.audiences ?? [],
    },
    event: event !== null && typeof event === 'object' && !Array.isArray(event) ? (event as Record<string, unknown>) : {},
    payload: m.payload,
    message: { id: m.id, channel: m.channel },
    ...(unsubscribeUrl !== undefined ? { unsubscribe_url: unsubscribeUrl } : {}),
    ...(locale !== undefined ? { locale } : {}),
  };
}

/**
 * Takes due messages from the outbox and sends them through their channel. Per message: the attempt is recorded
 * first (attempts + 1, next attempt pushed out by the backoff), then the channel is called, then the outcome is
 * recorded with its log entries and events in one transaction. A crash after the send and before the outcome sends
 * the message again after the backoff, with the same idempotency key: at least once, and exactly once at any sink
 * that honours the key (docs/delivery.md). Only the head of each (profile, channel) queue is due, so one person's
 * messages on one channel go out in order, a retrying message holding back those after it.
 */
export class Dispatcher {
  private readonly loop: StageLoop;
  private readonly random: () => number;

  constructor(private readonly deps: DispatcherDeps, intervalMs = 250) {
    this.random = deps.random ?? Math.random;
    this.loop = new StageLoop('delivery dispatcher', (deadline) => this.step(deadline), deps.load, intervalMs);
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Sends everything due now (and appends the events that produces). */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async step(deadline: number): Promise<boolean> {
    await this.deps.events.flush();
    const due = this.deps.store.due(this.deps.clock.now(), this.deps.concurrency);
    if (due.length === 0) return (await this.deps.events.flush()) > 0;
    await Promise.all(due.map((m) => this.attempt(m)));
    await this.deps.events.flush();
    void deadline;
    return true;
  }

  private async attempt(m: DeliveryRecord): Promise<void> {
    const { store, clock } = this.deps;
    const live = await this.deps.channels.get(m.workspaceId, m.channel).catch(() => undefined);
    const policy = this.deps.policy(live?.definition);
    const attempt = m.attempts + 1;
    const started = clock.now();
    const retryAt = started + backoff(attempt, policy, this.random);
    if (!store.claim(m.id, attempt, retryAt, started)) return;

    let outcome: SendOutcome;
    try {
      if (!live) throw new Permanent(`channel '${m.channel}' does not exist`);
      const profile = await this.deps.profiles.get(m.workspaceId, m.profileId);
      if (!profile) throw new Permanent(`profile '${m.profileId}' does not exist (unknown or erased)`);
      const shown = this.deps.governance ? await this.deps.governance.forDestination(m.workspaceId, { key: m.channel, type: live.definition.type }, profile, m.payload) : { profile, payload: m.payload };
      const unsubscribeUrl = live.definition.type === 'email' && !(live.definition.settings as EmailSettings).transactional
        ? this.deps.links.unsubscribeUrl(m.workspaceId, m.id, profile.id, (live.definition.settings as EmailSettings).subscriptionGroup)
        : undefined;
      let content: RenderedContent | undefined;
      if (m.template !== null) {
        const t = await this.deps.templates.get(m.workspaceId, m.template);
        if (!t) throw new Permanent(`template '${m.template}' does not exist`);
        if (t.body.channel !== live.definition.type) throw new Permanent(`template '${m.template}' is for ${t.body.channel}, but channel '${m.channel}' is ${live.definition.type}`);
        try {
          content = await this.deps.renderer.render(m.workspaceId, m.template, t.version, t.body, renderContext({ ...m, payload: shown.payload }, shown.profile, unsubscribeUrl));
        } catch (error) {
          throw new Permanent(`template '${m.template}' did not render: ${(error as Error).message}`);
        }
      }
      const outgoing: OutgoingMessage = {
        id: m.id, idempotencyKey: m.idempotencyKey, workspaceId: m.workspaceId, profile: shown.profile, content, payload: shown.payload, journey: m.journey, node: m.node,
      };
      outcome = await live.channel.send(outgoing);
    } catch (error) {
      const permanent = error instanceof Permanent || error instanceof TandemError;
      outcome = { status: 'failed', retryable: !permanent, reason: (error as Error).message };
      if (!permanent) this.deps.onError?.(`delivery of ${m.id} failed unexpectedly (will retry): ${(error as Error).stack ?? error}`);
    }
    store.settle(m.id, this.settlement(m, attempt, policy, retryAt, outcome), clock.now());
  }

  private settlement(m: DeliveryRecord, attempt: number, policy: RetryPolicy, retryAt: number, o: SendOutcome): Settlement {
    const at = this.deps.clock.now();
    const props = (extra: Record<string, unknown> = {}) => ({
      message_id: m.id,
      channel: m.channel,
      ...(m.template !== null ? { template: m.template } : {}),
      ...(m.journey !== null ? { journey: m.journey } : {}),
      ...(m.node !== null ? { node: m.node } : {}),
      ...extra,
    });
    const event = (status: keyof typeof DELIVERY_EVENTS, extra?: Record<string, unknown>): PendingDeliveryEvent => ({
      messageId: `delivery-${m.id}-${status}`, event: DELIVERY_EVENTS[status], properties: props(extra), at,
    });
    switch (o.status) {
      case 'sent':
      case 'delivered': {
        const log: DeliveryLogEntry[] = [{ status: 'sent', at, attempt, detail: { ...(o.providerId ? { providerId: o.providerId } : {}), ...o.detail } }];
        const events = [event('sent')];
        if (o.status === 'delivered') (log.push({ status: 'delivered', at, attempt }), events.push(event('delivered')));
        return { state: 'done', status: o.status, lastError: null, providerId: o.providerId, log, events };
      }
      case 'bounced':
        return { state: 'done', status: 'bounced', lastError: o.reason, log: [{ status: 'bounced', at, attempt, detail: { reason: o.reason } }], events: [event('bounced', { reason: o.reason })] };
      case 'suppressed':
        return { state: 'done', status: 'suppressed', lastError: o.reason, log: [{ status: 'suppressed', at, attempt, detail: { reason: o.reason } }], events: [] };
      case 'failed': {
        const detail = { reason: o.reason, ...o.detail };
        if (!o.retryable) {
          return { state: 'done', status: 'failed', lastError: o.reason, log: [{ status: 'failed', at, attempt, detail }], events: [event('failed', { reason: o.reason, attempts: attempt })] };
        }
        if (attempt >= policy.maxAttempts) {
          const reason = `gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${o.reason}`;
          return {
            state: 'dead', status: 'failed', lastError: reason,
            log: [{ status: 'attempt_failed', at, attempt, detail }, { status: 'dead', at, attempt, detail: { reason } }],
            events: [event('failed', { reason, attempts: attempt, dead_letter: true })],
          };
        }
        const next = Math.max(retryAt, o.retryAfterMs !== undefined ? at + o.retryAfterMs : 0);
        return { state: 'pending', lastError: o.reason, nextAttemptAt: next, log: [{ status: 'attempt_failed', at, attempt, detail: { ...detail, retryAt: next } }], events: [] };
      }
    }
  }
}
