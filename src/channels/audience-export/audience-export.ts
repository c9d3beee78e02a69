import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { sha256 } from '../../core/ids.js';
import type { AudienceChange, AudienceExportRecord, DeliveryStore } from '../../delivery/ports.js';
import { emailOf, normaliseEmail, phoneOf, toE164, type Channel, type ChannelKind, type OutgoingMessage, type SendOutcome } from '../channel.js';
import type { AudienceExportSettings, ChannelDefinition } from '../definition.js';

/** CSV layouts the ad platforms accept for hashed customer lists (SHA-256 of the normalised value, hex). */
export const PLATFORMS = {
  /** Google Ads Customer Match: e-mail trimmed and lower-cased; phone in E.164 with the '+'. */
  google: { header: 'Email,Phone', phone: (e164: string) => e164 },
  /** Meta custom audiences: e-mail trimmed and lower-cased; phone as digits with the country code, no '+'. */
  meta: { header: 'email,phone', phone: (e164: string) => e164.replace(/^\+/, '') },
} as const;
export type Platform = keyof typeof PLATFORMS;

const hash = (v: string | null) => (v === null ? '' : sha256(v));

/**
 * An ad-audience channel: a message adds the profile to the channel's list (payload.action 'add', the default) or
 * removes it ('remove'). Nothing leaves the server when a message is sent; `AudienceExports.write` produces the
 * files (full, and incremental add / remove since the last export) for upload to the platforms.
 */
class AudienceExportChannel implements Channel {
  constructor(
    private readonly workspaceId: string,
    private readonly key: string,
    private readonly settings: AudienceExportSettings,
    private readonly store: DeliveryStore,
    private readonly clock: Clock,
  ) {}

  async send(m: OutgoingMessage): Promise<SendOutcome> {
    const action = m.payload.action ?? 'add';
    if (action !== 'add' && action !== 'remove') return { status: 'failed', retryable: false, reason: `payload.action must be 'add' or 'remove', got ${JSON.stringify(action)}` };
    const rawEmail = emailOf(m);
    const rawPhone = phoneOf(m);
    const email = rawEmail ? normaliseEmail(rawEmail) : null;
    const phone = rawPhone ? (toE164(rawPhone, this.settings.defaultRegion) ?? null) : null;
    if (action === 'add' && email === null && phone === null) return { status: 'suppressed', reason: 'the profile has no e-mail address or valid phone number to match on' };
    const change: AudienceChange = { profileId: m.profile.id, action, email, phone };
    const changed = this.store.audience.apply(this.workspaceId, this.key, change, this.clock.now());
    return { status: 'delivered', detail: { action, changed } };
  }
}

export const audienceExportKind: ChannelKind = {
  type: 'audience_export',
  create: (workspaceId, def, deps) => new AudienceExportChannel(workspaceId, def.key, def.settings as AudienceExportSettings, deps.store, deps.clock),
};

/** Writes an audience channel's member list to CSV files, per platform: a full list, or adds / removes since the last export. */
export class AudienceExports {
  constructor(
    private readonly store: DeliveryStore,
    private readonly clock: Clock,
    private readonly exportDir: string,
  ) {}

  directory(workspaceId: string, def: ChannelDefinition): string {
    return (def.settings as AudienceExportSettings).directory ?? join(this.exportDir, workspaceId, def.key);
  }

  /** full: every current member. incremental: the net change per profile since the previous export of either kind. */
  write(workspaceId: string, def: ChannelDefinition, kind: 'full' | 'incremental'): AudienceExportRecord[] {
    const settings = def.settings as AudienceExportSettings;
    const dir = this.directory(workspaceId, def);
    mkdirSync(dir, { recursive: true });
    const at = this.clock.now();
    const stamp = new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const throughSeq = this.store.audience.lastSeq(workspaceId, def.key);
    const files: { kind: AudienceExportRecord['kind']; rows: { email: string | null; phone: string | null }[] }[] = [];
    if (kind === 'full') files.push({ kind: 'full', rows: this.store.audience.members(workspaceId, def.key) });
    else {
      const previous = this.store.audience.exported(workspaceId, def.key)[0]?.throughSeq ?? 0;
      const net = new Map<string, AudienceChange>();
      for (const c of this.store.audience.changesAfter(workspaceId, def.key, previous)) {
        if (c.seq > throughSeq) break;
        const before = net.get(c.profileId);
        // add then remove (or remove then add) within one window cancels out, unless the hashes changed.
        if (before && before.action !== c.action && before.email === c.email && before.phone === c.phone) net.delete(c.profileId);
        else net.set(c.profileId, c);
      }
      files.push({ kind: 'add', rows: [...net.values()].filter((c) => c.action === 'add') });
      files.push({ kind: 'remove', rows: [...net.values()].filter((c) => c.action === 'remove') });
    }
    const out: AudienceExportRecord[] = [];
    for (const platform of settings.platforms) {
      const layout = PLATFORMS[platform];
      for (const f of files) {
        const name = `${platform}-${f.kind}-${stamp}-${throughSeq}.csv`;
        const lines = f.rows.map((r) => `${hash(r.email)},${hash(r.phone === null ? null : layout.phone(r.phone))}`);
        writeFileSync(join(dir, name), `${layout.header}\n${lines.map((l) => `${l}\n`).join('')}`);
        const record = { kind: f.kind, platform, file: name, rows: f.rows.length, throughSeq, at };
        this.store.audience.recordExport(workspaceId, def.key, record);
        out.push({ id: 0, ...record });
      }
    }
    return out;
  }
}
