import { createHash } from 'node:crypto';
import { emptyCatalogs, evaluate, type CatalogLookup, type EventRecord, type ProfileView } from '../conditions/index.js';
import type { Experiment } from './definition.js';

/**
 * Deterministic assignment: the first 52 bits of md5(`<salt>:<profile id>`) as a number in [0, 1), laid over the
 * arms' cumulative weights. The same profile gets the same arm on every call, in every process, with no state.
 *
 * Merges: assignment reads the canonical (surviving) profile id, so after two profiles merge the survivor keeps its
 * own arm and the merged-away profile's identifiers now answer with the survivor's arm. The analysis (metrics.ts)
 * attributes a profile to the arm of its first exposure; a merged profile whose history holds exposures to two
 * different arms is a crossover and is left out of every metric (counted in the results as `crossovers`), because
 * it saw both treatments.
 */
export function unitInterval(salt: string, profileId: string): number {
  const hex = createHash('md5').update(`${salt}:${profileId}`).digest('hex');
  return parseInt(hex.slice(0, 13), 16) / 2 ** 52;
}

/** The arm of a bucket value in [0, 1) under the arms' weights. */
export function armAt(arms: { key: string; weight: number }[], u: number): string {
  const total = arms.reduce((s, a) => s + a.weight, 0);
  let acc = 0;
  for (const arm of arms) {
    acc += arm.weight / total;
    if (u < acc) return arm.key;
  }
  return arms[arms.length - 1].key;
}

export interface Assignment {
  /** null when the profile takes no part (not targeted). */
  arm: string | null;
  reason: 'assigned' | 'not_targeted' | 'stopped';
  /** Whether an exposure should be recorded (assigned and running). */
  expose: boolean;
}

export interface TargetingInput {
  events?: EventRecord[];
  now: number;
  catalogs?: CatalogLookup;
}

/** The profile's arm: stopped experiments give the control arm without exposure; untargeted profiles none. */
export function assign(experiment: Experiment, profile: ProfileView, input: TargetingInput): Assignment {
  if (experiment.status === 'stopped') return { arm: experiment.control, reason: 'stopped', expose: false };
  if (experiment.parsedTargeting && !evaluate(experiment.parsedTargeting, { profile, events: input.events ?? [], now: input.now, catalogs: input.catalogs ?? emptyCatalogs })) {
    return { arm: null, reason: 'not_targeted', expose: false };
  }
  return { arm: armAt(experiment.arms, unitInterval(experiment.salt, profile.id)), reason: 'assigned', expose: true };
}
