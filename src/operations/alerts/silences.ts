import type { SilenceRow } from '../../storage/sqlite/operations-store.js';

/** Whether a silence is in force at `now`: started, not ended, not expired by hand. */
export const silenceActive = (s: SilenceRow, now: number) => s.startsAt <= now && now < s.endsAt && (s.expiredAt === null || s.expiredAt > now);

/** A silence matches an alert when every matcher names a label of the alert with the same value (`*`: any value). */
export function silenceMatches(s: SilenceRow, labels: Record<string, string>): boolean {
  return Object.entries(s.matchers).every(([k, v]) => k in labels && (v === '*' || labels[k] === v));
}

/** The first silence in force that matches the labels. */
export function silencedBy(silences: SilenceRow[], labels: Record<string, string>, now: number): SilenceRow | undefined {
  return silences.find((s) => silenceActive(s, now) && silenceMatches(s, labels));
}
