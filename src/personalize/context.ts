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
      f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', weekday: 'short' });
    } catch {
      f = undefined;
    }
    // Zone names come from requests: bound the cache.
    if (formatters.size > 1000) formatters.clear();
    formatters.set(zone, f);
  }
  return formatters.get(zone);
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Local time of day in an IANA zone (UTC when the zone is unknown). */
export function localTime(now: number, zone: string | undefined): RequestContext['time'] {
  const f = (zone && formatter(zone)) || formatter('UTC')!;
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(now))) parts[p.type] = p.value;
  const hour = Number(parts.hour);
  const weekday = WEEKDAYS.indexOf(parts.weekday);
  const daypart = hour < 6 ? 'night' : hour < 12 ? 'morning' : hour < 18 ? 'afternoon' : 'evening';
  return {
    zone: zone && formatter(zone) ? zone : 'UTC',
    hour,
    weekday,
    daypart,
    weekend: weekday === 0 || weekday === 6,
    local: `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`,
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
