import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { bucketOf } from '../conditions/values.js';
import { parseDuration } from '../core/duration.js';
import { pointerToPath, TandemError } from '../core/errors.js';
import type { JourneyProfile, JourneyStore } from './ports.js';
import { inWindow, nextTimeOfDay } from './time.js';
import { validZone } from './definition.js';

/** Workspace-wide rules every journey send passes (definition kind `journey-guardrails`, key `default`). */
export const GUARDRAILS_KIND = 'journey-guardrails';

const Duration = Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w)$' });
const TimeOfDay = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });

export const GuardrailsBody = Type.Object(
  {
    /** Zone for profiles without traits.timezone. */
    default_timezone: Type.Optional(Type.String()),
    /** Categories exempt from opt-in, caps, quiet hours and holdout (default: transactional). */
    exempt_categories: Type.Optional(Type.Array(Type.String())),
    quiet_hours: Type.Optional(
      Type.Object({ start: TimeOfDay, end: TimeOfDay, media: Type.Optional(Type.Array(Type.String())) }, { additionalProperties: false }),
    ),
    /** Rolling windows per profile; without `medium` a cap counts every medium. */
    frequency_caps: Type.Optional(
      Type.Array(Type.Object({ medium: Type.Optional(Type.String()), max: Type.Integer({ minimum: 0 }), within: Duration }, { additionalProperties: false })),
    ),
    /** opt_in: only `subscribed` profiles get the messages; opt_out: all but `unsubscribed` ones. */
    subscription_groups: Type.Optional(
      Type.Array(
        Type.Object(
          { key: Type.String({ minLength: 1 }), medium: Type.String(), category: Type.String(), mode: Type.Union([Type.Literal('opt_in'), Type.Literal('opt_out')]) },
          { additionalProperties: false },
        ),
      ),
    ),
    /** Percentage (0-100) of profiles that get no journey messages, to measure lift. */
    holdout_percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    holdout_salt: Type.Optional(Type.String()),
    /** Volume budgets per medium over fixed windows (`per: 1d`: per UTC day). */
    budgets: Type.Optional(
      Type.Array(
        Type.Object(
          { medium: Type.String(), max: Type.Integer({ minimum: 0 }), per: Duration, on_exhausted: Type.Optional(Type.Union([Type.Literal('defer'), Type.Literal('skip')])) },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);
export type Guardrails = Static<typeof GuardrailsBody>;

const validate = new Ajv({ strict: false, allErrors: false }).compile(GuardrailsBody);

export function parseGuardrails(input: unknown): Guardrails {
  if (!validate(input)) {
    const e = validate.errors![0];
    const extra = e.keyword === 'additionalProperties' ? `.${(e.params as { additionalProperty: string }).additionalProperty}` : '';
    const path = pointerToPath(e.instancePath) + extra;
    throw new TandemError('invalid_guardrails', `${path || '(guardrails)'}: ${extra ? 'is not a known field here' : e.message}`, 400, path);
  }
  const g = input as Guardrails;
  if (g.default_timezone !== undefined && !validZone(g.default_timezone)) throw new TandemError('invalid_guardrails', `default_timezone: '${g.default_timezone}' is not an IANA time zone`, 400, 'default_timezone');
  return g;
}

export interface SendRequest {
  workspaceId: string;
  journey: string;
  node: string;
  channel: string;
  medium: string;
  category: string;
  priority: number;
  profile: JourneyProfile;
  now: number;
  /** The journey's own budgets. */
  journeyBudgets: { channel?: string; max: number; per: string; on_exhausted?: 'defer' | 'skip' }[];
}

export type Verdict =
  | { action: 'send'; budgets: { scope: string; windowStart: number; max: number }[] }
  | { action: 'defer'; guardrail: string; until: number; detail: Record<string, unknown> }
  | { action: 'skip'; guardrail: string; detail: Record<string, unknown> };

/** The profile's zone: traits.timezone when it is a real IANA zone, else the workspace default, else UTC. */
export function zoneOf(profile: JourneyProfile, g: Guardrails): string {
  const z = profile.timezone ?? (typeof profile.traits.timezone === 'string' ? profile.traits.timezone : undefined);
  if (z !== undefined && validZone(z)) return z;
  return g.default_timezone ?? 'UTC';
}

export const isHoldout = (profileId: string, g: Guardrails): boolean =>
  (g.holdout_percent ?? 0) > 0 && bucketOf(profileId, g.holdout_salt ?? 'journeys-holdout') < (g.holdout_percent ?? 0);

/**
 * Decides one send, in order: consent (subscription group), global suppression, holdout, quiet hours (defer),
 * frequency caps (skip), budgets (journey then medium: defer or skip). Budgets are only checked here; the caller
 * takes them in the same transaction as it queues the message.
 */
export function decide(req: SendRequest, g: Guardrails, store: JourneyStore): Verdict {
  const exempt = g.exempt_categories ?? ['transactional'];
  const isExempt = exempt.includes(req.category);
  const { profile } = req;
  if (!isExempt) {
    for (const group of (g.subscription_groups ?? []).filter((s) => s.medium === req.medium && s.category === req.category)) {
      const status = profile.subscriptions[group.key];
      if (group.mode === 'opt_in' && status !== 'subscribed') {
        return { action: 'skip', guardrail: 'consent', detail: { group: group.key, mode: 'opt_in', status: status ?? 'none', message: `not subscribed to '${group.key}' (opt-in)` } };
      }
      if (group.mode === 'opt_out' && status === 'unsubscribed') {
        return { action: 'skip', guardrail: 'consent', detail: { group: group.key, mode: 'opt_out', status, message: `unsubscribed from '${group.key}'` } };
      }
    }
  }
  const suppressed = store.suppression(req.workspaceId, profile.id, req.medium);
  if (suppressed) return { action: 'skip', guardrail: 'suppression', detail: { reason: suppressed.reason, since: suppressed.at, message: `suppressed on ${req.medium}: ${suppressed.reason}` } };
  if (!isExempt && isHoldout(profile.id, g)) return { action: 'skip', guardrail: 'holdout', detail: { percent: g.holdout_percent, message: 'in the global holdout group' } };
  const zone = zoneOf(profile, g);
  const q = g.quiet_hours;
  if (!isExempt && q && (q.media === undefined || q.media.includes(req.medium)) && inWindow(req.now, zone, q.start, q.end)) {
    const until = nextTimeOfDay(req.now, zone, q.end);
    return { action: 'defer', guardrail: 'quiet_hours', until, detail: { timezone: zone, start: q.start, end: q.end, until, message: `quiet hours ${q.start}-${q.end} in ${zone}` } };
  }
  if (!isExempt) {
    for (const cap of g.frequency_caps ?? []) {
      if (cap.medium !== undefined && cap.medium !== req.medium) continue;
      const within = parseDuration(cap.within, 'frequency_caps.within');
      const count = store.count(req.workspaceId, profile.id, cap.medium, req.now - within + 1, exempt);
      if (count >= cap.max) {
        return { action: 'skip', guardrail: 'frequency_cap', detail: { medium: cap.medium ?? '*', max: cap.max, within: cap.within, count, priority: req.priority, message: `${count} message(s) ${cap.medium ? `on ${cap.medium} ` : ''}within ${cap.within} (cap ${cap.max})` } };
      }
    }
  }
  const budgets: { scope: string; windowStart: number; max: number }[] = [];
  const all = [
    ...req.journeyBudgets.filter((b) => b.channel === undefined || b.channel === req.channel).map((b) => ({ ...b, scope: `journey:${req.journey}:${b.channel ?? '*'}` })),
    ...(g.budgets ?? []).filter((b) => b.medium === req.medium).map((b) => ({ ...b, scope: `medium:${b.medium}` })),
  ];
  for (const b of all) {
    const per = parseDuration(b.per, 'budgets.per');
    const windowStart = Math.floor(req.now / per) * per;
    const used = store.budgetUsed(req.workspaceId, b.scope, windowStart);
    if (used >= b.max) {
      const detail = { scope: b.scope, max: b.max, per: b.per, used, message: `budget ${b.scope} spent (${used}/${b.max} per ${b.per})` };
      if ((b.on_exhausted ?? 'defer') === 'defer') return { action: 'defer', guardrail: 'budget', until: windowStart + per, detail: { ...detail, until: windowStart + per } };
      return { action: 'skip', guardrail: 'budget', detail };
    }
    budgets.push({ scope: b.scope, windowStart, max: b.max });
  }
  return { action: 'send', budgets };
}
