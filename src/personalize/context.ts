import type { GeoDatabase, GeoPlace } from './geo.js';
import { parseUserAgent, type Device } from './user-agent.js';

/** What the request says about the moment: readable by conditions as the trait `context` and by bandit features. */
export interface RequestContext {
  ip?: string;
  geo: Partial<GeoPlace>;
  time: { zone: string; hour: number; weekday: number; daypart: 'night' | 'morning' | 'afternoon' | 'evening'; weekend: boolean; local: string };
  device: Device;
  page?: Record<string, unknown>;
  screen?: Record<string, unknown>;
  locale?: string;
  /** Anything the caller adds under `context.traits`-free keys it owns (campaign, app version, ...). */
  [extra: string]: unknown;
}

/** What the caller sent, as the Segment context object (page, screen, userAgent, timezone, locale, ip). */
export interface ContextInput {
  ip?: string;
  userAgent?: string;
  timezone?: string;
  locale?: string;
  page?: Record<string, unknown>;
  screen?: Record<string, unknown>;
  [extra: string]: unknown;
}

const formatters = new Map<string, Intl.DateTimeFormat | undefined>();

function formatter(zone: string): Intl.DateTimeFormat | undefined {
  if (!formatters.has(zone)) {
    let f: Intl.DateTimeFormat | undefined;
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    } catch {
      f = undefined;
    }
    // Zone names come from requests: bound the cache.
    if (formatters.size > 1000) formatters.clear();
    formatters.set(zone, f);
  }
  return formatters.get(zone);
}

const QUARTER_HOUR = 900_000;
/** Per zone: its UTC offset during one quarter hour (every tz database transition falls on a quarter hour UTC). */
const offsets = new Map<string, { bucket: number; offsetMs: number } | null>();

/** The zone's UTC offset at `now` (ms), or undefined for an unknown zone; Intl is asked once per zone per quarter hour. */
function offsetAt(zone: string, now: number): number | undefined {
  const bucket = Math.floor(now / QUARTER_HOUR);
  const cached = offsets.get(zone);
  if (cached === null) return undefined;
  if (cached && cached.bucket === bucket) return cached.offsetMs;
  const f = formatter(zone);
  if (offsets.size > 1000) offsets.clear();
  if (!f) {
    offsets.set(zone, null);
    return undefined;
  }
  const at = bucket * QUARTER_HOUR;
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(at))) parts[p.type] = p.value;
  const offsetMs = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute)) - at;
  offsets.set(zone, { bucket, offsetMs });
  return offsetMs;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local time of day in an IANA zone (UTC when the zone is unknown). */
export function localTime(now: number, zone: string | undefined): RequestContext['time'] {
  const offset = zone ? offsetAt(zone, now) : undefined;
  const local = new Date(now + (offset ?? 0));
  const hour = local.getUTCHours();
  const weekday = local.getUTCDay();
  const daypart = hour < 6 ? 'night' : hour < 12 ? 'morning' : hour < 18 ? 'afternoon' : 'evening';
  return {
    zone: offset === undefined ? 'UTC' : zone!,
    hour,
    weekday,
    daypart,
    weekend: weekday === 0 || weekday === 6,
    local: `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(hour)}:${pad(local.getUTCMinutes())}`,
  };
}

/** The request context: geo from the address (when a database is configured), local time, device, page or screen. */
export function requestContext(input: ContextInput, meta: { ip?: string; userAgent?: string }, now: number, geo: GeoDatabase | undefined): RequestContext {
  const { ip: sentIp, userAgent: sentUa, timezone, locale, page, screen, ...extra } = input;
  const ip = typeof sentIp === 'string' && sentIp !== '' ? sentIp : meta.ip;
  const place = ip && geo ? geo.lookup(ip) : undefined;
  const zone = typeof timezone === 'string' && timezone !== '' ? timezone : place?.timezone;
  return {
    ...extra,
    ...(ip ? { ip } : {}),
    geo: place ?? {},
    time: localTime(now, zone),
    device: parseUserAgent(typeof sentUa === 'string' ? sentUa : meta.userAgent),
    ...(page ? { page } : {}),
    ...(screen ? { screen } : {}),
    ...(typeof locale === 'string' ? { locale } : {}),
  };
}
