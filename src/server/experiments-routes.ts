import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound } from '../core/errors.js';
import { JOURNEY_KIND } from '../journeys/definition.js';
import type { Store } from '../core/ports/store.js';
import { checkExperiment, EXPERIMENT_KIND, ExperimentBody } from '../experiments/definition.js';
import type { Experiments } from '../experiments/experiments.js';
import { definitionRoutes } from './channels-routes.js';

export interface ExperimentsRouteDeps {
  store: Store;
  clock: Clock;
  experiments: Experiments;
}

const Key = Type.Object({ key: Type.String() });
const IntervalView = Type.Object({ estimate: Type.Number(), low: Type.Number(), high: Type.Number() });
const ArmView = Type.Object(
  {
    arm: Type.String(), control: Type.Boolean(), n: Type.Integer(), value: Type.Number({ description: 'Conversion rate, or mean per exposed profile.' }), sd: Type.Number(),
    difference: Type.Optional(IntervalView), differenceAdjusted: Type.Optional(IntervalView), lift: Type.Optional(IntervalView),
    pValue: Type.Optional(Type.Number()), pValueAdjusted: Type.Optional(Type.Number()),
    sequential: Type.Optional(Type.Object({ estimate: Type.Number(), low: Type.Number(), high: Type.Number(), pValue: Type.Number(), pValueAdjusted: Type.Number() })),
    cuped: Type.Optional(Type.Object({ difference: IntervalView, pValue: Type.Number(), varianceReduction: Type.Number(), theta: Type.Number() })),
    chanceToBeatControl: Type.Number(), chanceToBeBest: Type.Number(), expectedLoss: Type.Number(),
  },
  { additionalProperties: false },
);
const ResultsView = Type.Object({
  experiment: Type.String(), control: Type.String(), alpha: Type.Number(), computedAt: Type.String(),
  exposures: Type.Record(Type.String(), Type.Integer()), crossovers: Type.Integer({ description: 'Profiles exposed to two arms (merged profiles), left out.' }),
  srm: Type.Object({ observed: Type.Array(Type.Number()), expected: Type.Array(Type.Number()), chiSquare: Type.Number(), df: Type.Integer(), pValue: Type.Number(), status: Type.String() }),
  metrics: Type.Array(Type.Object({
    key: Type.String(), name: Type.Optional(Type.String()), type: Type.String(), event: Type.String(), within: Type.String(), primary: Type.Boolean(), guardrail: Type.Boolean(),
    direction: Type.String(), arms: Type.Array(ArmView),
  })),
  recommendation: Type.Object({ decision: Type.String(), arm: Type.Optional(Type.String()), reasons: Type.Array(Type.String()) }),
});

/**
 * /api/v1/experiments (CRUD, the body is the definition), results and assignment lookups; the decision log and arm
 * posteriors of journey `decide` nodes under /api/v1/journeys/<key>/decisions and .../nodes/<node>/arms.
 */
export async function experimentsRoutes(app: FastifyInstance, deps: ExperimentsRouteDeps): Promise<void> {
  const { store, clock, experiments } = deps;
  const tags = ['experiments'];
  definitionRoutes<ExperimentBody>(app, store, clock, {
    kind: EXPERIMENT_KIND,
    noun: 'experiment',
    schema: ExperimentBody,
    prepare: async (_ws, body) => checkExperiment(body),
    changed: (ws, key) => void experiments.changed(ws, key),
  });

  app.get<{ Params: { key: string } }>(
    '/experiments/:key/results',
    { schema: { summary: 'Per arm and metric: n, rate or mean, difference, lift, intervals, p-values, chance to win; SRM check and a recommendation', tags, params: Key, response: { 200: ResultsView } } },
    async (req) => experiments.results(req.workspaceId, req.params.key),
  );

  app.get<{ Params: { key: string }; Querystring: { profile_id?: string; type?: string; value?: string } }>(
    '/experiments/:key/assignment',
    {
      schema: {
        summary: "A profile's arm (by profile id, merged ids follow to the survivor, or by identifier); records no exposure",
        tags, params: Key,
        querystring: Type.Object({ profile_id: Type.Optional(Type.String({ minLength: 1 })), type: Type.Optional(Type.String({ minLength: 1 })), value: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ experiment: Type.String(), profileId: Type.String(), arm: Type.Union([Type.String(), Type.Null()]), reason: Type.String(), expose: Type.Boolean() }) },
      },
    },
    async (req) => {
      const { profile_id, type, value } = req.query;
      if (profile_id === undefined && (type === undefined || value === undefined)) throw badRequest('missing_field', 'profile_id: give profile_id, or type and value of an identifier', 'profile_id');
      return experiments.assignment(req.workspaceId, req.params.key, { profileId: profile_id, type, value });
    },
  );

  /** 404 for a journey this workspace does not have (tenant isolation: never an empty 200 for another's key). */
  const journeyOf = async (workspaceId: string, key: string): Promise<object> => {
    if (!(await deps.store.definitions.get(workspaceId, JOURNEY_KIND, key))) throw notFound('journey', key);
    return {};
  };

  app.get<{ Params: { key: string }; Querystring: { node?: string; profile_id?: string; limit?: number } }>(
    '/journeys/:key/decisions',
    {
      schema: {
        summary: "Decide-node decisions, newest first, each with every arm's posterior at that moment (why this arm)",
        tags: ['journeys', 'experiments'], params: Key,
        querystring: Type.Object({ node: Type.Optional(Type.String()), profile_id: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }, { additionalProperties: false }),
      },
    },
    async (req) => ({
      ...(await journeyOf(req.workspaceId, req.params.key)),
      data: experiments.decisions(req.workspaceId, { journey: req.params.key, node: req.query.node, profileId: req.query.profile_id, limit: req.query.limit ?? 100 }).map((d) => ({
        id: d.id, node: d.node, instanceId: d.instanceId, profileId: d.profileId, arm: d.arm, holdout: d.holdout, at: new Date(d.at).toISOString(),
        rewardEvent: d.rewardEvent, deadline: new Date(d.deadline).toISOString(), outcome: d.outcome === null ? 'pending' : d.outcome === 1 ? 'rewarded' : 'not_rewarded', ...d.detail,
      })),
    }),
  );

  app.get<{ Params: { key: string; node: string } }>(
    '/journeys/:key/nodes/:node/arms',
    { schema: { summary: "A decide node's arms now (Beta posteriors over closed reward windows) and the lift over its holdout", tags: ['journeys', 'experiments'], params: Type.Object({ key: Type.String(), node: Type.String() }) } },
    async (req) => (await journeyOf(req.workspaceId, req.params.key), experiments.arms(req.workspaceId, req.params.key, req.params.node)),
  );
}
