import type { Store } from '../core/ports/store.js';
import { notFound } from '../core/errors.js';
import { audienceExportKind } from './audience-export/audience-export.js';
import type { Channel, ChannelDeps, ChannelKind } from './channel.js';
import { CHANNEL_KIND, type ChannelDefinition, type ChannelType } from './definition.js';
import { emailKind } from './email/email.js';
import { slackKind } from './slack/slack.js';
import { smsKind } from './sms/sms.js';
import { webhookKind } from './webhook/webhook.js';

export const CHANNEL_KINDS: Record<ChannelType, ChannelKind> = {
  email: emailKind,
  sms: smsKind,
  webhook: webhookKind,
  slack: slackKind,
  audience_export: audienceExportKind,
};

interface Live {
  version: number;
  definition: ChannelDefinition;
  channel: Channel;
}

/** Live channels by workspace and key, built from the latest definition and rebuilt when it changes. */
export class Channels {
  private live = new Map<string, Promise<Live | undefined>>();

  constructor(
    private readonly definitions: Store['definitions'],
    private readonly deps: ChannelDeps,
  ) {}

  async get(workspaceId: string, key: string): Promise<Live | undefined> {
    const id = `${workspaceId}\u0000${key}`;
    let found = this.live.get(id);
    if (!found) {
      found = this.definitions.get<ChannelDefinition>(workspaceId, CHANNEL_KIND, key).then((d) =>
        d && { version: d.version, definition: d.body, channel: CHANNEL_KINDS[d.body.type].create(workspaceId, d.body, this.deps) },
      );
      this.live.set(id, found);
      found.catch(() => this.live.delete(id));
    }
    return found;
  }

  async require(workspaceId: string, key: string): Promise<Live> {
    const found = await this.get(workspaceId, key);
    if (!found) throw notFound('channel', key);
    return found;
  }

  /** A definition was saved or deleted: the next message builds the channel again. */
  changed(workspaceId: string, key: string): void {
    const id = `${workspaceId}\u0000${key}`;
    const old = this.live.get(id);
    this.live.delete(id);
    void old?.then((l) => l?.channel.close?.()).catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.live.values()];
    this.live.clear();
    await Promise.all(all.map((p) => p.then((l) => l?.channel.close?.()).catch(() => undefined)));
  }
}
