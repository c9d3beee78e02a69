import { badRequest } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses durations such as `500ms`, `30s`, `15m`, `24h`, `7d`, `2w` into milliseconds. */
export function parseDuration(text: string, path = 'duration'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) throw badRequest('invalid_duration', `${path} must be a duration such as 30s, 15m, 24h or 7d; got '${text}'`, path);
  return Math.round(Number(match[1]) * UNITS[match[2]]);
}
