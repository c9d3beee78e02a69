import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { compilePlan, type TrackingPlans } from '../collect/tracking-plan/check.js';
import { TRACKING_PLAN_KIND, TrackingPlanBody, type TrackingPlan } from '../collect/tracking-plan/schema.js';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';

const Key = Type.Object({ key: Type.String() });

export interface TrackingPlansRouteDeps {
  store: Store;
  clock: Clock;
  plans: TrackingPlans;
}

/**
 * /api/v1/tracking-plans: the body is exactly the plan definition. Each save is a new version of the definition
 * (answered in the `Tandem-Version` header) and takes effect for collection before the answer is sent.
 */
export async function trackingPlansRoutes(app: FastifyInstance, deps: TrackingPlansRouteDeps): Promise<void> {
  const { store, clock, plans } = deps;
  const tags = ['tracking-plans'];
  const audit = (workspaceId: string, action: string, target: string, detail?: unknown) =>
    store.audit.add({ workspaceId, actor: 'admin', action, target, detail }, clock.now());

  /** Compiles first (refusing a plan whose schemas do not compile), then stores the version and swaps it in. */
  const save = async (workspaceId: string, body: TrackingPlan, action: string) => {
    const compiled = compilePlan(body);
    await plans.prepare(workspaceId);
    const version = await store.definitions.put(workspaceId, TRACKING_PLAN_KIND, body.key, body);
    compiled.version = version;
    plans.saved(workspaceId, compiled);
    await audit(workspaceId, action, body.key, { version });
    return version;
  };

  app.get('/tracking-plans', { schema: { summary: 'List tracking plans', tags, response: { 200: Type.Object({ data: Type.Array(TrackingPlanBody) }) } } }, async (req) => ({
    data: (await store.definitions.list<TrackingPlan>(req.workspaceId, TRACKING_PLAN_KIND)).map((d) => d.body),
  }));

  app.post<{ Body: TrackingPlan }>(
    '/tracking-plans',
    { schema: { summary: 'Create a tracking plan', tags, body: TrackingPlanBody, response: { 201: TrackingPlanBody } } },
    async (req, reply) => {
      if (await store.definitions.get(req.workspaceId, TRACKING_PLAN_KIND, req.body.key)) throw new TandemError('conflict', `tracking plan '${req.body.key}' already exists; use PUT to change it`, 409, 'key');
      const version = await save(req.workspaceId, req.body, 'tracking-plan.create');
      return reply.status(201).header('tandem-version', version).send(req.body);
    },
  );

  app.get<{ Params: { key: string } }>('/tracking-plans/:key', { schema: { summary: 'Get a tracking plan', tags, params: Key, response: { 200: TrackingPlanBody } } }, async (req, reply) => {
    const found = await store.definitions.get<TrackingPlan>(req.workspaceId, TRACKING_PLAN_KIND, req.params.key);
    if (!found) throw notFound('tracking plan', req.params.key);
    return reply.header('tandem-version', found.version).send(found.body);
  });

  app.put<{ Params: { key: string }; Body: TrackingPlan }>(
    '/tracking-plans/:key',
    { schema: { summary: 'Replace a tracking plan (a new version)', tags, params: Key, body: TrackingPlanBody, response: { 200: TrackingPlanBody } } },
    async (req, reply) => {
      if (req.body.key !== req.params.key) throw badRequest('key_mismatch', `key in the body ('${req.body.key}') must equal the key in the path ('${req.params.key}')`, 'key');
      if (!(await store.definitions.get(req.workspaceId, TRACKING_PLAN_KIND, req.params.key))) throw notFound('tracking plan', req.params.key);
      const version = await save(req.workspaceId, req.body, 'tracking-plan.update');
      return reply.header('tandem-version', version).send(req.body);
    },
  );

  app.delete<{ Params: { key: string } }>('/tracking-plans/:key', { schema: { summary: 'Delete a tracking plan that no source uses', tags, params: Key } }, async (req, reply) => {
    const users = (await store.sources.list(req.workspaceId)).filter((s) => s.settings.trackingPlan === req.params.key).map((s) => s.key);
    // Deleting a plan in use would silently stop checking (and blocking) those sources.
    if (users.length) throw new TandemError('in_use', `tracking plan '${req.params.key}' is used by source ${users.map((k) => `'${k}'`).join(', ')}; point them elsewhere first`, 409);
    if (!(await store.definitions.remove(req.workspaceId, TRACKING_PLAN_KIND, req.params.key))) throw notFound('tracking plan', req.params.key);
    plans.removed(req.workspaceId, req.params.key);
    await audit(req.workspaceId, 'tracking-plan.delete', req.params.key);
    return reply.status(204).send();
  });
}
