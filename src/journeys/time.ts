/**
 * Wall-clock arithmetic in IANA time zones with Intl only (no Date.now: every instant is given). Used for waits
 * until a time of day, quiet hours and cron schedules.
 */

export interface ZonedParts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number; // 0 = Sunday
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The local date and time of an instant in a zone. */
export function zonedParts(instant: number, zone: string): ZonedParts {
  const out: Record<string, string> = {};
  for (const p of formatter(zone).formatToParts(instant)) out[p.type] = p.value;
  return {
    year: Number(out.year), month: Number(out.month), day: Number(out.day),
    hour: Number(out.hour) % 24, minute: Number(out.minute), second: Number(out.second), weekday: WEEKDAYS[out.weekday],
  };
}

/** The zone's offset from UTC at an instant, in ms (New York in winter: -5 h). */
export function zoneOffset(instant: number, zone: string): number {
  const p = zonedParts(instant, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - (instant - (instant % 1000 + 1000) % 1000);
}

/**
 * The instant at which the zone's clocks show this wall time (month 1-12; overflowing days roll over). A time
 * skipped by a DST change maps to the instant just after the gap; a repeated time maps to its first occurrence.
 */
export function zonedInstant(zone: string, year: number, month: number, day: number, hour: number, minute: number): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let guess = wall - zoneOffset(wall, zone);
  guess = wall - zoneOffset(guess, zone);
  const earlier = wall - zoneOffset(guess - 3_600_000, zone);
  // Prefer the first occurrence of a repeated wall time.
  if (earlier < guess && zoneOffset(earlier, zone) === wall - earlier) return earlier;
  return guess;
}

export const parseTimeOfDay = (text: string): { hour: number; minute: number } => {
  const [h, m] = text.split(':').map(Number);
  return { hour: h, minute: m };
};

/** The first instant at or after `from` at which the zone's clocks show `time` (HH:MM). */
export function nextTimeOfDay(from: number, zone: string, time: string): number {
  const { hour, minute } = parseTimeOfDay(time);
  const p = zonedParts(from, zone);
  for (let add = 0; add < 3; add++) {
    const candidate = zonedInstant(zone, p.year, p.month, p.day + add, hour, minute);
    if (candidate >= from) return candidate;
  }
  throw new Error('unreachable: a time of day recurs within three days');
}

const minutesOf = (t: string) => {
  const { hour, minute } = parseTimeOfDay(t);
  return hour * 60 + minute;
};

/** Whether the local time at `instant` is within [start, end) (a window may wrap midnight: 21:00-08:00). */
export function inWindow(instant: number, zone: string, start: string, end: string): boolean {
  const p = zonedParts(instant, zone);
  const now = p.hour * 60 + p.minute;
  const s = minutesOf(start);
  const e = minutesOf(end);
  if (s === e) return false;
  return s < e ? now >= s && now < e : now >= s || now < e;
}

/* ---- cron: minute hour day-of-month month day-of-week, in a zone ---- */

export interface Cron {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  domAny: boolean;
  dowAny: boolean;
}

function field(text: string, min: number, max: number, name: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`${name} field '${part}' is not a cron field (use *, 5, 1-5, */15 or lists)`);
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    const lo = m[1] === '*' ? min : Number(m[2]);
    const hi = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : lo;
    if (lo < min || hi > max || lo > hi || step < 1) throw new Error(`${name} field '${part}' is out of range ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) out.add(v === 7 && name === 'day-of-week' ? 0 : v);
  }
  return out;
}

/** Parses a five-field cron expression; throws an Error naming the bad field. */
export function parseCron(expr: string): Cron {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`'${expr}' must have five fields: minute hour day-of-month month day-of-week`);
  return {
    minute: field(parts[0], 0, 59, 'minute'),
    hour: field(parts[1], 0, 23, 'hour'),
    dom: field(parts[2], 1, 31, 'day-of-month'),
    month: field(parts[3], 1, 12, 'month'),
    dow: field(parts[4], 0, 7, 'day-of-week'),
    domAny: parts[2] === '*',
    dowAny: parts[4] === '*',
  };
}

/** The first instant strictly after `after` matching the cron in the zone (undefined if none within 5 years). */
export function nextCron(cron: Cron, after: number, zone: string): number | undefined {
  let t = Math.floor(after / 60_000) * 60_000 + 60_000;
  const limit = after + 5 * 366 * 86_400_000;
  while (t < limit) {
    const p = zonedParts(t, zone);
    const dayOk = cron.domAny && cron.dowAny ? true
      : cron.domAny ? cron.dow.has(p.weekday)
      : cron.dowAny ? cron.dom.has(p.day)
      : cron.dom.has(p.day) || cron.dow.has(p.weekday);
    if (!cron.month.has(p.month) || !dayOk) {
      t = Math.max(t + 60_000, zonedInstant(zone, p.year, p.month, p.day + 1, 0, 0));
      continue;
    }
    if (!cron.hour.has(p.hour)) {
      t += (60 - p.minute) * 60_000;
      continue;
    }
    if (!cron.minute.has(p.minute)) {
      t += 60_000;
      continue;
    }
    return t;
  }
  return undefined;
}
