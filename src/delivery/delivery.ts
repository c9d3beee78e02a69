import { environmentSecrets, type SecretSource } from '../secrets/reference.js';
import { join } from 'node:path';
import type { DestinationGuard } from '../network/destination-guard.js';
import type { Catalogs } from '../catalogs/catalogs.js';
import { AudienceExports } from '../channels/audience-export/audience-export.js';
import { Channels } from '../channels/registry.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { parseDuration } from '../core/duration.js';
import { newSecret } from '../core/ids.js';
import type { Log } from '../core/ports/log.js';
import type { Store } from '../core/ports/store.js';
import type { LoadShare } from '../core/stage-loop.js';
import { TEMPLATE_KIND, type Template } from '../templates/definition.js';
import { TemplateRenderer } from '../templates/render.js';
import { Dispatcher, type DestinationGovernance } from './dispatcher.js';
import { DELIVERY_EVENTS, DeliveryEvents, type ProfileReader } from './events.js';
import { TrackingLinks, urlHash, type LinkClaims } from './links.js';
import { Outbox } from './outbox.js';
import type { DeliveryRecord, DeliveryStore } from './ports.js';

export interface DeliveryDeps {
  store: DeliveryStore;
  definitions: Store['definitions'];
  profiles: ProfileReader;
  catalogs: Catalogs;
  log: Log;
  clock: Clock;
  load: LoadShare;
  config: Config['delivery'];
  /** Default base URL for links when delivery.publicUrl is not set (replaced by the listening address). */
  baseUrl: string;
  dataDir: string;
  /** Where channels read `{ env }` and `{ secret }` references (default: the environment only). */
  secrets?: SecretSource;
  /** The SSRF guard for HTTP channels (config network.allowPrivate); absent: every non-public address is refused. */
  destinations?: DestinationGuard;
  random?: () => number;
  onError?: (message: string) => void;
  /** Personal data left out of what channels receive unless allowed (src/metadata). */
  governance?: DestinationGovernance;
}

/** Templates by workspace and key, cached until a save or delete says otherwise. */
class TemplateCache {
  private cache = new Map<string, Promise<{ version: number; body: Template } | undefined>>();
  constructor(private readonly definitions: Store['definitions']) {}
  get(workspaceId: string, key: string) {
    const id = `${workspaceId}\u0000${key}`;
    let t = this.cache.get(id);
    if (!t) {
      t = this.definitions.get<Template>(workspaceId, TEMPLATE_KIND, key);
      this.cache.set(id, t);
      t.catch(() => this.cache.delete(id));
    }
    return t;
  }
  changed(workspaceId: string, key: string) {
    this.cache.delete(`${workspaceId}\u0000${key}`);
  }
}

/**
 * The delivery side, assembled: outbox, dispatcher, channels, templates, tracking links, audience exports.
 * The journey engine needs `outbox.enqueue` (inside its own transaction) and, after committing, `dispatcher.wake()`.
 */
export class Delivery {
  readonly outbox: Outbox;
  readonly dispatcher: Dispatcher;
  readonly channels: Channels;
  readonly templates: TemplateCache;
  readonly renderer: TemplateRenderer;
  readonly links: TrackingLinks;
  readonly exports: AudienceExports;
  readonly events: DeliveryEvents;

  constructor(readonly deps: DeliveryDeps) {
    const { store, clock, config } = deps;
    const secret = store.secret('tracking-links', () => newSecret('', 32), clock.now());
    this.links = new TrackingLinks(secret, config.publicUrl ?? deps.baseUrl);
    const exportDir = config.exportDir ?? join(deps.dataDir, 'exports');
    this.channels = new Channels(deps.definitions, { secrets: deps.secrets ?? environmentSecrets(), links: this.links, store, clock, exportDir, destinations: deps.destinations });
    this.templates = new TemplateCache(deps.definitions);
    this.renderer = new TemplateRenderer((workspaceId) => deps.catalogs.lookup(workspaceId));
    this.exports = new AudienceExports(store, clock, exportDir);
    this.events = new DeliveryEvents(store, deps.log, deps.profiles, clock);
    const defaults = { maxAttempts: config.maxAttempts, baseMs: parseDuration(config.retryBase, 'delivery.retryBase'), maxMs: parseDuration(config.retryMax, 'delivery.retryMax') };
    this.dispatcher = new Dispatcher({
      store, channels: this.channels, templates: this.templates, renderer: this.renderer, profiles: deps.profiles, links: this.links,
      events: this.events, clock, load: deps.load, concurrency: config.concurrency, random: deps.random, onError: deps.onError, governance: deps.governance,
      policy: (channel) => ({
        maxAttempts: channel?.retry?.maxAttempts ?? defaults.maxAttempts,
        baseMs: channel?.retry?.base ? parseDuration(channel.retry.base, 'retry.base') : defaults.baseMs,
        maxMs: channel?.retry?.max ? parseDuration(channel.retry.max, 'retry.max') : defaults.maxMs,
      }),
    });
    this.outbox = new Outbox(store, clock, () => this.dispatcher.wake());
  }

  /** The server's address once listening, unless delivery.publicUrl names another. */
  listening(url: string): void {
    if (this.deps.config.publicUrl === undefined) this.links.setBaseUrl(url);
  }

  message(messageId: string): DeliveryRecord | undefined {
    return this.deps.store.get(messageId);
  }

  /** A verified token and its message; undefined when the token is forged or the message is gone. */
  resolve(token: string, kind: LinkClaims['k']): { claims: LinkClaims; message: DeliveryRecord } | undefined {
    const claims = this.links.verify(token);
    if (!claims || claims.k !== kind) return undefined;
    const message = this.deps.store.get(claims.m);
    if (!message || message.workspaceId !== claims.w) return undefined;
    return { claims, message };
  }

  /** Records an open (from the pixel) and queues `Message Opened`. */
  opened(message: DeliveryRecord, detail: Record<string, unknown>): void {
    this.touch(message, 'opened', detail);
  }

  /** Records a click on a URL whose hash the token carries; false when the URL is not the signed one. */
  clicked(message: DeliveryRecord, claims: LinkClaims, url: string, detail: Record<string, unknown>): boolean {
    if (claims.k !== 'c' || urlHash(url) !== claims.h) return false;
    this.touch(message, 'clicked', { url, ...detail });
    return true;
  }

  /** Records an unsubscribe through a message's link (the subscription itself is changed by Privacy). */
  unsubscribed(message: DeliveryRecord, group: string): void {
    this.touch(message, 'unsubscribed', { group });
  }

  /** A provider's report after sending (delivered, bounced, failed), e.g. from a status callback. */
  report(message: DeliveryRecord, status: 'delivered' | 'bounced' | 'failed', detail: Record<string, unknown>): void {
    this.touch(message, status, detail);
  }

  private touch(m: DeliveryRecord, status: 'opened' | 'clicked' | 'unsubscribed' | 'delivered' | 'bounced' | 'failed', detail: Record<string, unknown>): void {
    const at = this.deps.clock.now();
    const properties = {
      message_id: m.id, channel: m.channel,
      ...(m.template !== null ? { template: m.template } : {}), ...(m.journey !== null ? { journey: m.journey } : {}), ...(m.node !== null ? { node: m.node } : {}),
      ...detail,
    };
    // Opens and clicks can happen many times: each gets its own event id. Reports are once per status.
    const repeatable = status === 'opened' || status === 'clicked' || status === 'unsubscribed';
    const messageId = `delivery-${m.id}-${status}${repeatable ? `-${newSecret('', 9)}` : ''}`;
    this.deps.store.record(m.id, status, detail, { messageId, event: DELIVERY_EVENTS[status], properties, at }, at);
    this.dispatcher.wake();
  }

  start(): void {
    this.dispatcher.start();
  }

  async stop(): Promise<void> {
    await this.dispatcher.stop();
    await this.channels.close();
  }
}
