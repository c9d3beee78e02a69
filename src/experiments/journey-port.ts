import { parseDuration } from '../core/duration.js';
import type { NodeOf } from '../journeys/definition.js';
import type { DecisionAnswer, ExperimentPort, ExperimentStep, JourneyEvent } from '../journeys/ports.js';
import type { SqliteExperimentStore } from '../storage/sqlite/experiment-store.js';
import { assign, unitInterval } from './assign.js';
import { HOLDOUT_ARM, thompsonChoice } from './decide.js';
import type { Experiment } from './definition.js';
import { Random } from './stats/random.js';

export interface JourneyExperimentsDeps {
  store: SqliteExperimentStore;
  /** The running experiments of a workspace, synchronously (Experiments keeps them cached). */
  experiments(workspaceId: string): Map<string, Experiment>;
  /** An exposure was recorded: wake whatever appends exposures to the Log. */
  exposed?(): void;
  /** Exploration floor when a decide node gives none. */
  defaultExploration?: number;
}

export const DEFAULT_EXPLORATION = 0.05;

/** The journeys' side of experiments (ports.ts ExperimentPort), over the experiment store on the step's handle. */
export function journeyExperiments(deps: JourneyExperimentsDeps): ExperimentPort {
  const { store } = deps;
  const expose = (step: Pick<ExperimentStep, 'workspaceId' | 'profile' | 'now'>, e: Experiment, arm: string, where: Record<string, unknown>) => {
    const first = store.expose({
      workspaceId: step.workspaceId, experiment: e.key, profileId: step.profile.id, arm, event: e.exposure_event,
      properties: { experiment: e.key, arm, ...where }, at: step.now,
    });
    if (first) deps.exposed?.();
  };
  return {
    split(step, key) {
      const e = deps.experiments(step.workspaceId).get(key);
      if (!e) return { arm: null, exposed: false, reason: `experiment '${key}' does not exist: first branch` };
      const a = assign(e, step.profile, { events: step.input.events, now: step.now, catalogs: step.input.catalogs });
      if (!a.expose) return { arm: a.arm ?? e.control, exposed: false, reason: a.reason === 'stopped' ? 'the experiment is stopped: control' : 'not targeted: control, no exposure' };
      expose(step, e, a.arm!, { journey: step.journey, node: step.node });
      return { arm: a.arm, exposed: true, reason: 'assigned' };
    },

    holdout(step) {
      for (const e of deps.experiments(step.workspaceId).values()) {
        if (!e.holdout || !(e.holdout.journeys.includes('*') || e.holdout.journeys.includes(step.journey))) continue;
        const a = assign(e, step.profile, { events: step.input.events, now: step.now, catalogs: step.input.catalogs });
        if (!a.expose || a.arm === null) continue;
        expose(step, e, a.arm, { journey: step.journey });
        if (a.arm === e.holdout.arm) return { experiment: e.key, arm: a.arm };
      }
      return undefined;
    },

    decide(step, node, eligible): DecisionAnswer {
      const done = store.decision(step.instanceId, step.node, step.visit);
      if (done) return { arm: done.arm, holdout: done.holdout, next: nextOf(node, done.arm), decision: done.id, detail: done.detail };
      const window = parseDuration(node.reward.within, `nodes.${step.node}.reward.within`);
      const counts = new Map(store.armCounts(step.workspaceId, step.journey, step.node, step.now).map((c) => [c.arm, c]));
      const holdout = node.holdout !== undefined && node.holdout.percent > 0 && unitInterval(`${step.journey}:${step.node}`, step.profile.id) < node.holdout.percent / 100;
      let arm: string;
      let detail: Record<string, unknown>;
      if (holdout || eligible.length === 0) {
        const c = counts.get(HOLDOUT_ARM) ?? { successes: 0, failures: 0, pending: 0 };
        arm = HOLDOUT_ARM;
        detail = { reason: holdout ? 'holdout' : 'no arm eligible: holdout', holdoutCounts: { successes: c.successes, failures: c.failures, pending: c.pending } };
        if (!holdout) return { arm: HOLDOUT_ARM, holdout: false, next: node.none_eligible, decision: 0, detail };
      } else {
        // Seeded by the step: a repeated step (after a crash) makes the same draws.
        const rng = new Random(`${step.instanceId}:${step.node}:${step.visit}`);
        const choice = thompsonChoice(node.arms.map((a) => a.key), counts, eligible, node.exploration ?? deps.defaultExploration ?? DEFAULT_EXPLORATION, rng);
        arm = choice.arm;
        detail = { reason: choice.explored ? 'exploration floor' : 'thompson sampling', posteriors: choice.posteriors };
      }
      const decision = store.addDecision({
        workspaceId: step.workspaceId, journey: step.journey, node: step.node, instanceId: step.instanceId, visit: step.visit, profileId: step.profile.id,
        arm, holdout, rewardEvent: node.reward.event, deadline: step.now + window, at: step.now, detail,
      });
      return { arm, holdout, next: nextOf(node, arm), decision, detail };
    },

    concerns(workspaceId, profileId, event: JourneyEvent) {
      return event.event !== undefined && store.hasOpenDecision(workspaceId, profileId, event.event);
    },

    observe(workspaceId, profileId, event, now) {
      if (event.event === undefined) return;
      store.rewardDecisions(workspaceId, profileId, event.event, Math.min(event.timestamp, now));
    },
  };
}

function nextOf(node: NodeOf<'decide'>, arm: string): string | undefined {
  if (arm === HOLDOUT_ARM) return node.holdout?.next;
  return node.arms.find((a) => a.key === arm)?.next;
}
