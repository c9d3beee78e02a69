import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import type { Analytics } from '../analytics/analytics.js';
import { attributionCsv, campaignsCsv, funnelCsv, pathsCsv, retentionCsv } from '../analytics/csv.js';
import {
  AttributionRequestSchema, CampaignsRequestSchema, FunnelRequestSchema, PathsRequestSchema, RetentionRequestSchema, SpendImportSchema, SpendRowSchema,
  type AttributionRequest, type CampaignsRequest, type FunnelRequest, type PathsRequest, type RetentionRequest, type SpendRow,
} from '../analytics/schema.js';
import { parseSpendCsv } from '../analytics/spend.js';
import { badRequest } from '../core/errors.js';

export interface AnalyticsRouteDeps {
  analytics: Analytics;
}

const SPEND_LIMIT = 16 * 1024 * 1024;
const tags = ['analytics'];
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

/** JSON, or CSV when the caller asks for it (Accept: text/csv). */
function answer<T>(req: FastifyRequest, reply: FastifyReply, result: T, csv: (r: T) => string, name: string) {
  if ((req.headers.accept ?? '').includes('text/csv')) {
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(csv(result));
  }
  return reply.send(result);
}

/**
 * The schema as a route declares it: without the `x-` annotations (Fastify's validator is strict about unknown
 * keywords); the request is the same shape, and the reports check the rest with messages naming the field.
 */
function routeSchema<T extends TSchema>(schema: T): T {
  return JSON.parse(JSON.stringify(schema, (key, value) => (key.startsWith('x-') ? undefined : value))) as T;
}

const description = 'Answers JSON, or CSV with `Accept: text/csv`. Reads the warehouse after copying everything the pipeline has resolved (fresh within seconds).';

/** /api/v1/analytics: funnels, retention, paths, attribution, campaign performance and campaign spend (docs/analytics.md). */
export function analyticsRoutes(deps: AnalyticsRouteDeps) {
  const { analytics } = deps;
  return async (app: FastifyInstance): Promise<void> => {
    app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: SPEND_LIMIT }, (_req, body, done) => done(null, body));

    app.post<{ Body: FunnelRequest }>('/analytics/funnel', { schema: { summary: 'Funnel: per-step conversion, drop-off and time to convert, with an optional breakdown', description, tags, body: routeSchema(FunnelRequestSchema) } },
      async (req, reply) => answer(req, reply, await analytics.funnel(req.workspaceId, req.body), funnelCsv, 'funnel'));

    app.post<{ Body: RetentionRequest }>('/analytics/retention', { schema: { summary: 'Retention table and curve by cohort', description, tags, body: routeSchema(RetentionRequestSchema) } },
      async (req, reply) => answer(req, reply, await analytics.retention(req.workspaceId, req.body), retentionCsv, 'retention'));

    app.post<{ Body: PathsRequest }>('/analytics/paths', { schema: { summary: 'Most common event sequences before or after an event', description, tags, body: routeSchema(PathsRequestSchema) } },
      async (req, reply) => answer(req, reply, await analytics.paths(req.workspaceId, req.body), pathsCsv, 'paths'));

    app.post<{ Body: AttributionRequest }>('/analytics/attribution', { schema: { summary: 'Multi-touch attribution per channel or campaign: first/last touch, linear, time decay, position-based, Markov', description, tags, body: routeSchema(AttributionRequestSchema) } },
      async (req, reply) => answer(req, reply, await analytics.attribution(req.workspaceId, req.body), attributionCsv, 'attribution'));

    app.post<{ Body: CampaignsRequest }>('/analytics/campaigns', { schema: { summary: 'Campaign performance: spend, attributed conversions and revenue, CPA and ROAS per model', description, tags, body: routeSchema(CampaignsRequestSchema) } },
      async (req, reply) => answer(req, reply, await analytics.campaigns(req.workspaceId, req.body), campaignsCsv, 'campaigns'));

    app.post<{ Body: { rows: SpendRow[] } | string }>(
      '/analytics/spend',
      {
        bodyLimit: SPEND_LIMIT,
        schema: {
          summary: 'Import campaign spend per day: { rows: [{ date, campaign, channel?, spend }] } or CSV (Content-Type: text/csv); rows with the same date, campaign and channel are replaced; all or nothing',
          tags,
          body: routeSchema(SpendImportSchema),
          response: { 200: Type.Object({ imported: Type.Integer() }) },
        },
      },
      async (req) => {
        const body = req.body;
        const rows = typeof body === 'string' ? parseSpendCsv(body) : body.rows;
        return { imported: analytics.importSpend(req.workspaceId, rows) };
      },
    );

    app.get<{ Querystring: { from: string; to: string } }>(
      '/analytics/spend',
      {
        schema: {
          summary: 'Campaign spend rows with from <= date <= to',
          tags,
          querystring: Type.Object({ from: Day, to: Day }),
          response: { 200: Type.Object({ data: Type.Array(routeSchema(Type.Required(SpendRowSchema))) }) },
        },
      },
      async (req) => {
        if (req.query.from > req.query.to) throw badRequest('invalid_range', 'from must not be after to', 'from');
        return { data: analytics.listSpend(req.workspaceId, req.query.from, req.query.to) };
      },
    );
  };
}
