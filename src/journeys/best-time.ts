import { parseDuration } from '../core/duration.js';
import type { ModelRunStore } from '../models/ports.js';
import { describeHour, hourOfWeek, HOURS_OF_WEEK } from '../models/send-time.js';

/**
 * "At the best time within 24 h" on send and webhook nodes (`at: { bestTimeWithin, model }`, docs/journeys.md):
 * the instant a step waits for, from a send-time model (docs/models.md). Pure: the engine reads the model through
 * a SendTimeSource and the profile's computed trait, and waits with its ordinary timer (durable like any wait).
 */

/** A trained send-time model as a send node reads it: its newest successful run. */
export interface SendTimeModel {
  run: number;
  /** The computed trait holding each profile's best hour (`{ hour_of_week, day, hour, ... }`). */
  output: string;
  /** The population's share of engagements per hour of the week (UTC, Monday 00:00 = 0; 168 numbers). */
  shares: number[];
}

/** The newest trained state of a model, synchronously (inside a journey step); undefined when it never trained. */
export type SendTimeSource = (workspaceId: string, model: string) => SendTimeModel | { error: string } | undefined;

export interface BestTimeSpec {
  bestTimeWithin: string;
  model: string;
}

export const MAX_BEST_TIME_WINDOW_MS = 7 * 86_400_000;
const HOUR_MS = 3_600_000;

const label = (h: number) => {
  const d = describeHour(h);
  return `${d.day} ${String(d.hour).padStart(2, '0')}:00 UTC`;
};

/** The profile's best hour of the week from the model's computed trait value (an object with hour_of_week, or a number). */
export function profileHour(value: unknown): number | undefined {
  const h = typeof value === 'number' ? value : value !== null && typeof value === 'object' ? (value as { hour_of_week?: unknown }).hour_of_week : undefined;
  return typeof h === 'number' && Number.isInteger(h) && h >= 0 && h < HOURS_OF_WEEK ? h : undefined;
}

/**
 * When to send, at `now`, for a profile with these computed traits:
 *  - model never trained (or not a send-time model): now, with the reason;
 *  - the target hour is the profile's best hour (its computed trait), else the population's best hour;
 *  - the step waits for the first start of that hour within [now, now + window); when `now` is already inside the
 *    target hour, it sends now;
 *  - when the target hour does not occur within the window, it takes the hour in the window in which the population
 *    engages most (the current hour counts as a candidate sending now; ties: the earliest), which is the model's
 *    posterior order for every hour the profile has no engagement in.
 */
export function planBestTime(spec: BestTimeSpec, model: SendTimeModel | { error: string } | undefined, computed: Record<string, unknown>, now: number): { at: number; detail: Record<string, unknown> } {
  const windowMs = parseDuration(spec.bestTimeWithin, 'at.bestTimeWithin');
  const base = { best_time: { model: spec.model, within: spec.bestTimeWithin } };
  if (model === undefined) return { at: now, detail: { ...base, source: 'none', reason: `model '${spec.model}' has never been trained (or does not exist): sending now` } };
  if ('error' in model) return { at: now, detail: { ...base, source: 'none', reason: `${model.error}: sending now` } };
  const own = profileHour(computed[model.output]);
  let target = own;
  if (target === undefined) {
    target = 0;
    for (let h = 1; h < HOURS_OF_WEEK; h++) if (model.shares[h] > model.shares[target]) target = h;
  }
  const source = own !== undefined ? 'profile' : 'population';
  const who = own !== undefined ? `the profile's best hour (computed.${model.output})` : `no value in computed.${model.output}: the population's best hour`;
  const candidates = [now];
  for (let at = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS; at < now + windowMs; at += HOUR_MS) candidates.push(at);
  const detail = { ...base, run: model.run, source, target: { hour_of_week: target, ...describeHour(target) } };
  const hit = candidates.find((at) => hourOfWeek(at) === target);
  if (hit !== undefined) {
    return { at: hit, detail: { ...detail, in_window: true, reason: `${who}, ${label(target)}, ${hit === now ? 'is now' : `comes within ${spec.bestTimeWithin}`}` } };
  }
  let at = candidates[0];
  for (const c of candidates) if (model.shares[hourOfWeek(c)] > model.shares[hourOfWeek(at)]) at = c;
  const chosen = hourOfWeek(at);
  return {
    at,
    detail: {
      ...detail, in_window: false, chosen: { hour_of_week: chosen, ...describeHour(chosen) },
      reason: `${who}, ${label(target)}, does not come within ${spec.bestTimeWithin}: the hour in the window the population engages most in, ${label(chosen)}${at === now ? ' (now)' : ''}`,
    },
  };
}

/** The SendTimeSource over the models' run store (store.db): the newest successful run's prior and output trait. */
export function modelSendTimes(runs: Pick<ModelRunStore, 'latestOk'>): SendTimeSource {
  return (workspaceId, model) => {
    const run = runs.latestOk(workspaceId, model);
    if (!run) return undefined;
    const shares = (run.artefact as { prior?: { shares?: unknown } } | null)?.prior?.shares;
    if (!Array.isArray(shares) || shares.length !== HOURS_OF_WEEK) return { error: `model '${model}' is not a send-time model` };
    return { run: run.run, output: typeof run.result?.output === 'string' ? run.result.output : model, shares: shares as number[] };
  };
}
