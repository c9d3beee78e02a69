import type { JsonValue } from '../conditions/model.js';
import { parseDuration } from '../core/duration.js';
import type { SqlValue } from '../core/ports/warehouse.js';
import { instant, type SendTimeParams } from './definition.js';
import { bestSendTime, describeHour, fitSendTimePrior, posteriorShares, type HourCounts, type SendTimePrior } from './send-time.js';
import { round, type Trained, type TrainingContext } from './training.js';

export interface SendTimeArtefact {
  prior: SendTimePrior;
  asOf: number;
  from: number;
}

/** Engagements by (profile, hour of the week: ((ts in hours) + 72) mod 168, as hourOfWeek computes it). */
function countsQuery(p: SendTimeParams, from: number, to: number, profileId?: string): { sql: string; params: SqlValue[] } {
  const params: SqlValue[] = [from, to, ...p.events];
  const list = p.events.map((_, i) => `$${i + 3}`).join(', ');
  const one = profileId !== undefined ? ` AND profile_id = $${params.push(profileId)}` : '';
  return {
    sql: `SELECT profile_id, CAST(((ts // 3600000) + 72) % 168 AS INTEGER) AS h, count(*) AS n FROM c_events
          WHERE ts > $1 AND ts <= $2 AND event IN (${list})${one} AND profile_id IN (SELECT profile_id FROM c_profiles) GROUP BY 1, 2`,
    params,
  };
}

const view = (s: ReturnType<typeof bestSendTime>): JsonValue => ({ ...s, share: round(s.share, 4), own_weight: round(s.own_weight, 4) });

/** The population prior (Dirichlet-multinomial), then each engaged profile's best hour from its posterior. */
export async function trainSendTime(p: SendTimeParams, ctx: TrainingContext): Promise<Trained> {
  const asOf = p.asOf !== undefined ? instant(p.asOf, 'sendTime.asOf') : ctx.now;
  const from = asOf - parseDuration(p.lookback, 'sendTime.lookback');
  ctx.progress('reading engagements', 0);
  const q = countsQuery(p, from, asOf);
  const byProfile = new Map<string, HourCounts>();
  for (const r of await ctx.sql(q.sql, q.params)) {
    const id = String(r.profile_id);
    let c = byProfile.get(id);
    if (!c) byProfile.set(id, (c = new Map()));
    c.set(Number(r.h), Number(r.n));
  }
  ctx.progress('fitting the population prior', 0.4);
  const prior = fitSendTimePrior([...byProfile.values()]);
  ctx.progress('scoring', 0.6);
  const values = new Map<string, JsonValue>();
  for (const [id, c] of byProfile) values.set(id, view(bestSendTime(prior, c)));
  const population = bestSendTime(prior, new Map());
  const top = prior.shares.map((s, h) => ({ h, s })).sort((a, b) => b.s - a.s).slice(0, 5);
  return {
    artefact: { prior, asOf, from } satisfies SendTimeArtefact,
    values,
    result: {
      window: { from: new Date(from).toISOString(), to: new Date(asOf).toISOString() },
      events: p.events,
      profiles: prior.profiles,
      engagements: prior.engagements,
      priorStrength: round(prior.strength, 6),
      populationBest: { hour_of_week: population.hour_of_week, day: population.day, hour: population.hour },
      populationTopHours: top.map(({ h, s }) => ({ hour_of_week: h, ...describeHour(h), share: round(s, 4) })),
      explanation: `A profile's share of engagements in each hour of the week (UTC, Monday 00:00 = 0) is (its count + k x population share) / (its total + k), with k = ${round(prior.strength, 4)} estimated from all profiles (Dirichlet-multinomial maximum likelihood): with few engagements the population's hours win, with many its own do. Profiles with no engagement get no value; use populationBest.`,
    },
  };
}

export async function explainSendTime(p: SendTimeParams, a: SendTimeArtefact, ctx: TrainingContext, profileId: string): Promise<Record<string, unknown>> {
  const q = countsQuery(p, a.from, a.asOf, profileId);
  const counts: HourCounts = new Map((await ctx.sql(q.sql, q.params)).map((r) => [Number(r.h), Number(r.n)]));
  const post = posteriorShares(a.prior, counts);
  return {
    values: view(bestSendTime(a.prior, counts)),
    engagementsByHour: [...counts.entries()].sort((x, y) => x[0] - y[0]).map(([h, n]) => ({ hour_of_week: h, ...describeHour(h), count: n })),
    topHours: post.map((s, h) => ({ h, s })).sort((x, y) => y.s - x.s).slice(0, 5).map(({ h, s }) => ({ hour_of_week: h, ...describeHour(h), share: round(s, 4), own: counts.get(h) ?? 0, population: round(a.prior.shares[h], 4) })),
    priorStrength: round(a.prior.strength, 6),
  };
}
