import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { badRequest } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Audiences } from '../audiences/audiences.js';
import { AudienceBody, Preview } from '../audiences/schema.js';

const Key = Type.Object({ key: Type.String() });
const iso = (ms: number) => new Date(ms).toISOString();
const DAY = 86_400_000;

function instant(value: string | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw badRequest('invalid_time', `${field} must be an ISO-8601 instant or milliseconds since the epoch`, field);
  return ms;
}

const csvField = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export interface AudiencesRouteDeps {
  audiences: Audiences;
  clock: Clock;
}

/**
 * /api/v1/audiences: the body is exactly the audience definition (docs/audiences.md). Each save is a new version
 * (the `Tandem-Version` header) and starts a backfill of the memberships from the stored history.
 */
export function audiencesRoutes(deps: AudiencesRouteDeps) {
  const { audiences, clock } = deps;
  const tags = ['audiences'];
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/audiences', { schema: { summary: 'List audiences', tags, response: { 200: Type.Object({ data: Type.Array(AudienceBody) }) } } }, async (req) => ({
      data: await audiences.list(req.workspaceId),
    }));

    app.post<{ Body: AudienceBody }>(
      '/audiences',
      { schema: { summary: 'Create an audience (refused with the cycle if it would reference itself through others)', tags, body: AudienceBody, response: { 201: AudienceBody } } },
      async (req, reply) => {
        const version = await audiences.create(req.workspaceId, req.body);
        return reply.status(201).header('tandem-version', version).send(req.body);
      },
    );

    app.post<{ Body: { condition: Record<string, unknown>; sample?: number } }>(
      '/audiences/preview',
      {
        schema: {
          summary: 'Size and sample profiles of a draft condition now, computed with SQL over the full history',
          tags,
          body: Type.Object({ condition: Type.Object({}, { additionalProperties: true }), sample: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 10 })) }),
          response: { 200: Preview },
        },
      },
      async (req) => {
        const result = await audiences.preview(req.workspaceId, req.body.condition, req.body.sample ?? 10);
        return { size: result.size, sample: result.sample, asOf: iso(result.asOf) };
      },
    );

    app.get<{ Params: { key: string } }>('/audiences/:key', { schema: { summary: 'Get an audience', tags, params: Key, response: { 200: AudienceBody } } }, async (req, reply) => {
      const found = await audiences.get(req.workspaceId, req.params.key);
      return reply.header('tandem-version', found.version).send(found.body);
    });

    app.put<{ Params: { key: string }; Body: AudienceBody }>(
      '/audiences/:key',
      { schema: { summary: 'Replace an audience (a new version, backfilled)', tags, params: Key, body: AudienceBody, response: { 200: AudienceBody } } },
      async (req, reply) => {
        const version = await audiences.update(req.workspaceId, req.params.key, req.body);
        return reply.header('tandem-version', version).send(req.body);
      },
    );

    app.delete<{ Params: { key: string } }>('/audiences/:key', { schema: { summary: 'Delete an audience no other audience references', tags, params: Key } }, async (req, reply) => {
      await audiences.remove(req.workspaceId, req.params.key);
      return reply.status(204).send();
    });

    app.get<{ Params: { key: string }; Querystring: { limit?: number; after?: string } }>(
      '/audiences/:key/members',
      {
        schema: {
          summary: 'Current members, in profile id order (page with `after`)',
          tags,
          params: Key,
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })), after: Type.Optional(Type.String()) }),
          response: {
            200: Type.Object({
              data: Type.Array(Type.Object({ profileId: Type.String(), enteredAt: Type.String({ format: 'date-time' }) })),
              next: Type.Optional(Type.String({ description: 'Pass as `after` for the next page; absent on the last page.' })),
            }),
          },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 100;
        const rows = await audiences.members(req.workspaceId, req.params.key, req.query.after ?? '', limit);
        return { data: rows.map((r) => ({ profileId: r.profileId, enteredAt: iso(r.enteredAt) })), ...(rows.length === limit ? { next: rows[rows.length - 1].profileId } : {}) };
      },
    );

    app.get<{ Params: { key: string } }>(
      '/audiences/:key/members.csv',
      { schema: { summary: 'Current members as CSV (profile_id, entered_at)', tags, params: Key, produces: ['text/csv'] } },
      async (req, reply) => {
        const lines = ['profile_id,entered_at'];
        for (let after = ''; ;) {
          const rows = await audiences.members(req.workspaceId, req.params.key, after, 1000);
          for (const r of rows) lines.push(`${csvField(r.profileId)},${iso(r.enteredAt)}`);
          if (rows.length < 1000) break;
          after = rows[rows.length - 1].profileId;
        }
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${req.params.key}-members.csv"`)
          .send(`${lines.join('\n')}\n`);
      },
    );

    app.get<{ Params: { key: string }; Querystring: { from?: string; to?: string } }>(
      '/audiences/:key/size',
      {
        schema: {
          summary: 'Size now and over time: the size after each change within [from, to) (default: the last 30 days)',
          tags,
          params: Key,
          querystring: Type.Object({ from: Type.Optional(Type.String()), to: Type.Optional(Type.String()) }),
          response: {
            200: Type.Object({
              size: Type.Integer(),
              before: Type.Integer({ description: 'Size just before `from`.' }),
              points: Type.Array(Type.Object({ at: Type.String({ format: 'date-time' }), size: Type.Integer() })),
            }),
          },
        },
      },
      async (req) => {
        const now = clock.now();
        const to = instant(req.query.to, now + 1, 'to');
        const from = instant(req.query.from, to - 30 * DAY, 'from');
        const s = await audiences.size(req.workspaceId, req.params.key, from, to);
        return { size: s.size, before: s.before, points: s.points.map((p) => ({ at: iso(p.at), size: p.size })) };
      },
    );
  };
}
