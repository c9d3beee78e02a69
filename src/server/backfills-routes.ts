import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { backfillOf, runningBackfills, type BackfillProgress } from '../apply/backfill-progress.js';
import { AUDIENCES, TRAITS } from '../apply/definitions.js';
import type { ApplyStore } from '../apply/ports.js';

const Key = Type.Object({ key: Type.String() });
const iso = (ms: number) => new Date(ms).toISOString();

const Progress = Type.Object({
  kind: Type.String({ description: 'audiences or traits' }),
  key: Type.String(),
  state: Type.Union([Type.Literal('backfilling'), Type.Literal('active')], { description: 'backfilling: a version is being computed; active: the version answers.' }),
  mode: Type.Optional(Type.Union([Type.Literal('shadow'), Type.Literal('new')], {
    description: 'shadow: a changed definition, computed beside the active version, which answers until the atomic switch; new: a new definition, answering profile by profile.',
  })),
  version: Type.Integer({ description: 'The version being backfilled (backfilling) or answering (active).' }),
  activeVersion: Type.Optional(Type.Integer({ description: 'The version that answers until the switch (shadow backfills).' })),
  profilesDone: Type.Optional(Type.Integer()),
  profilesTotal: Type.Optional(Type.Integer()),
  startedAt: Type.Optional(Type.String({ format: 'date-time' })),
  eta: Type.Optional(Type.String({ format: 'date-time', description: 'Estimated end from the rate so far.' })),
});

const toJson = (p: BackfillProgress) => ({
  ...p,
  ...(p.startedAt !== undefined ? { startedAt: iso(p.startedAt) } : {}),
  ...(p.eta !== undefined ? { eta: iso(p.eta) } : {}),
});

export interface BackfillsRouteDeps {
  store: Store;
  applyStore: ApplyStore;
  clock: Clock;
}

/** Backfill progress of audiences and computed traits (docs/audiences.md, "Changing a definition"). */
export function backfillsRoutes(deps: BackfillsRouteDeps) {
  const { store, applyStore, clock } = deps;
  return async (app: FastifyInstance): Promise<void> => {
    app.get(
      '/backfills',
      { schema: { summary: 'Running backfills of audiences and computed traits, with progress and ETA', tags: ['audiences', 'traits'], response: { 200: Type.Object({ data: Type.Array(Progress) }) } } },
      async (req) => ({ data: runningBackfills(applyStore, req.workspaceId, clock.now()).map(toJson) }),
    );
    for (const [kind, noun] of [[AUDIENCES, 'audience'], [TRAITS, 'trait']] as const) {
      app.get<{ Params: { key: string } }>(
        `/${kind}/:key/backfill`,
        { schema: { summary: `The ${noun}'s backfill: state, version, profiles done of total, started at, ETA`, tags: [kind], params: Key, response: { 200: Progress } } },
        async (req) => {
          const found = await store.definitions.get(req.workspaceId, kind, req.params.key);
          if (!found) throw notFound(noun, req.params.key);
          return toJson(backfillOf(applyStore, req.workspaceId, kind, req.params.key, found.version, clock.now()));
        },
      );
    }
  };
}
