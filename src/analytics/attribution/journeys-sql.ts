import { FIELDS_TABLE } from '../event-fields.js';
import type { TimeRange } from '../range.js';
import type { AttributionRequest } from '../schema.js';
import { matchingEvents, SqlParams } from '../sql.js';

export const DEFAULT_ADS = ['Ad Clicked', 'Ad Viewed'];
export const DEFAULT_MESSAGES = ['Message Sent'];

/**
 * The common part of every attribution query, as CTEs (docs/analytics.md):
 * - `conv`: conversion events from `from - lookback` on (those before `from` only close earlier journeys), read once;
 * - `touch`: touchpoints (UTM parameters in context.campaign, ad events, Tandem's delivery events), each with a
 *   channel and a campaign;
 * - `tc`: each touchpoint with the profile's next conversion at or after it (an ASOF join) and whether it is
 *   credited to it: the conversion falls in [from, to) and at most `lookback` after the touch;
 * - `jn`: each credited journey's length `n` and time-decay sum (weight 2^(-age / halfLife)), a hash aggregate
 *   per conversion (cheaper than a window over each journey);
 * - `jw`: every journey's touchpoints with their position and neighbours, their journey's length and time-decay
 *   share; `j` the credited ones (their journey is their conversion, `jc`).
 * A touchpoint counts as the state `sk`, a hash of (channel, campaign) (campaign NULL when grouping by channel);
 * `states` names them. Without `markov`, journeys hold only credited touchpoints, so the window pass sorts fewer
 * rows (`tc` is then materialized: the report counts the non-converting journeys from it).
 */
export function journeyCtes(p: SqlParams, workspaceId: string, req: AttributionRequest, range: TimeRange, lookbackMs: number, halfLifeMs: number, groupBy: 'channel' | 'campaign', markov = true): string {
  const ws = p.add(workspaceId);
  const revenuePath = req.revenueProperty ?? 'revenue';
  // The default revenue property is read from a_event_fields; another one from the message (slower: JSON per conversion).
  const revenue = revenuePath === 'revenue'
    ? { cols: ['f.revenue AS revenue'], join: true }
    : { cols: [`TRY_CAST(${p.propertyAt('e.message', revenuePath)} AS DOUBLE) AS revenue`], join: false };
  const convSql = matchingEvents(p, ws, req.conversion, revenue.cols, !revenue.join, revenue.join ? ` LEFT JOIN ${FIELDS_TABLE} f ON f.event_id = m.event_id` : '');
  const from = p.add(range.from, 'bigint');
  const to = p.add(range.to, 'bigint');
  const lookback = p.add(lookbackMs, 'bigint');
  const halfLife = p.add(halfLifeMs, 'double');
  const tp = req.touchpoints ?? {};
  const ads = (tp.ads ?? DEFAULT_ADS).map((e) => p.add(e));
  const messages = (tp.messages ?? DEFAULT_MESSAGES).map((e) => p.add(e));
  const named = [...ads, ...messages];
  const inRange = `m.workspace_id = ${ws} AND m.ts >= ${from} - ${lookback} AND m.ts < ${to}`;
  const branches: string[] = [];
  if (tp.utm !== false) {
    branches.push(
      `SELECT m.event_id, hash(m.profile_id) AS pk, m.ts, COALESCE(f.utm_source, f.utm_medium, '(none)') AS channel, f.utm_campaign AS campaign ` +
        `FROM m_events m JOIN ${FIELDS_TABLE} f ON f.event_id = m.event_id ` +
        `WHERE ${inRange} AND COALESCE(f.utm_source, f.utm_medium, f.utm_campaign) IS NOT NULL${named.length ? ` AND (m.event IS NULL OR m.event NOT IN (${named.join(', ')}))` : ''}`,
    );
  }
  if (ads.length) {
    branches.push(
      `SELECT m.event_id, hash(m.profile_id) AS pk, m.ts, COALESCE(f.channel, f.utm_source, 'ads') AS channel, COALESCE(f.campaign, f.utm_campaign) AS campaign ` +
        `FROM m_events m LEFT JOIN ${FIELDS_TABLE} f ON f.event_id = m.event_id WHERE ${inRange} AND m.event IN (${ads.join(', ')})`,
    );
  }
  if (messages.length) {
    branches.push(
      `SELECT m.event_id, hash(m.profile_id) AS pk, m.ts, COALESCE(f.channel, 'tandem') AS channel, COALESCE(f.journey, f.template, f.campaign) AS campaign ` +
        `FROM m_events m LEFT JOIN ${FIELDS_TABLE} f ON f.event_id = m.event_id WHERE ${inRange} AND m.event IN (${messages.join(', ')})`,
    );
  }
  const touch = branches.length
    ? branches.join('\nUNION ALL\n')
    : 'SELECT NULL::BIGINT AS event_id, NULL::UBIGINT AS pk, NULL::BIGINT AS ts, NULL::VARCHAR AS channel, NULL::VARCHAR AS campaign WHERE FALSE';
  const campaignKey = groupBy === 'campaign' ? 'campaign' : 'NULL::VARCHAR';
  return `
    conv AS MATERIALIZED (SELECT * FROM (${convSql}) c WHERE c.ts >= ${from} - ${lookback} AND c.ts < ${to}),
    touch_named AS MATERIALIZED (SELECT event_id, pk, ts, channel AS key_channel, ${campaignKey} AS key_campaign FROM (${touch}) t),
    -- Sorts carry a state's hash, not its names (states: the names of each hash).
    touch AS (SELECT event_id, pk, ts, hash(key_channel, key_campaign) AS sk FROM touch_named),
    states AS (SELECT DISTINCT hash(key_channel, key_campaign) AS sk, key_channel, key_campaign FROM touch_named),
    tc AS ${markov ? '' : 'MATERIALIZED '}(
      SELECT t.*, c.event_id AS conv_id, c.ts AS conv_ts, c.revenue AS revenue,
             (c.event_id IS NOT NULL AND c.ts >= ${from} AND c.ts - t.ts <= ${lookback}) AS credited
      FROM touch t ASOF LEFT JOIN conv c ON t.pk = c.pk AND t.ts <= c.ts
    ),
    -- A credited journey's length and time-decay sum: a hash aggregate per conversion (cheaper than a window).
    jn AS (SELECT conv_id, count(*) AS n, sum(pow(0.5, (conv_ts - ts) / ${halfLife})) AS sw FROM tc WHERE credited GROUP BY conv_id),
    -- Journeys: a conversion's credited touchpoints (jc), or a profile's touchpoints of the range credited to none (ju);
    -- the latter only for the Markov chain (the rule-based models read credited touchpoints alone).
    jt AS (
      SELECT tc.*, CASE WHEN credited THEN tc.conv_id END AS jc, CASE WHEN NOT credited THEN pk END AS ju,
             jn.n, pow(0.5, (conv_ts - ts) / ${halfLife}) / jn.sw AS decay
      -- (n and decay are read for credited touchpoints only: an older one of the same conversion also joins.)
      FROM tc LEFT JOIN jn ON jn.conv_id = tc.conv_id WHERE credited${markov ? ` OR ts >= ${from}` : ''}
    ),
    -- One sort per journey: position and neighbours (Markov).
    jw AS MATERIALIZED (
      SELECT jt.*, row_number() OVER w AS pos, lag(sk) OVER w AS psk, lead(event_id) OVER w AS ne
      FROM jt WINDOW w AS (PARTITION BY jc, ju ORDER BY ts, event_id)
    ),
    j AS (SELECT * FROM jw WHERE credited)`;
}
