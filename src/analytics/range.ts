import { parseDuration } from '../core/duration.js';
import { badRequest } from '../core/errors.js';

export const DAY = 86_400_000;
/** 9999-12-31T23:59:59.999Z: later instants are refused rather than overflowing the warehouse's BIGINTs. */
const LATEST = 253_402_300_799_999;
const LONGEST = 100 * 366 * DAY;

/** A duration of a request (window, lookback, ...) in ms: more than 0 and at most a century. */
export function requestDuration(text: string, field: string): number {
  const ms = parseDuration(text, field);
  if (ms <= 0 || ms > LONGEST) throw badRequest('invalid_value', `${field} must be longer than 0 and at most 100 years; got '${text}'`, field);
  return ms;
}

/** A report's time range [from, to) in ms. */
export interface TimeRange {
  from: number;
  to: number;
}

function instant(value: string, field: string): number {
  // Dates without a time are midnight UTC (Date.parse reads them so); a bare number is ms since the epoch.
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms) || ms < 0 || ms > LATEST) throw badRequest('invalid_time', `${field} must be an ISO-8601 instant such as 2026-03-01T00:00:00Z or milliseconds since the epoch; got '${value}'`, field);
  return ms;
}

/** [from, to): to defaults to now, from to 30 days before to. */
export function resolveRange(req: { from?: string; to?: string }, now: number): TimeRange {
  const to = req.to === undefined ? now : instant(req.to, 'to');
  const from = req.from === undefined ? to - 30 * DAY : instant(req.from, 'from');
  if (from >= to) throw badRequest('invalid_range', `from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`, 'from');
  return { from, to };
}

export const iso = (ms: number): string => new Date(ms).toISOString();
