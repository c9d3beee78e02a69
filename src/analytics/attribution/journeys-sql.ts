import { nidFilter, nidsNamed, SEQ_TABLE, seqCan, type Compact } from '../compact.js';
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
export function journeyCtes(p: SqlParams, workspaceId: string, req: AttributionRequest, range: TimeRange, lookbackMs: number, halfLifeMs: number, groupBy: 'channel' | 'campaign', markov = true, compact?: Compact): string {
  const ws = p.add(workspaceId);
  if (compact) return journeyCtesOf(p, ws, compact, req, range, lookbackMs, halfLifeMs, groupBy, markov);
  const convSql = conversionsSql(p, ws, req);
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
  return journeysOf(convSql, branches, from, to, lookback, halfLife, groupBy, markov, false, false, false);
}

/** Conversions (event_id, pk, ts, revenue) from m_events. */
function conversionsSql(p: SqlParams, ws: string, req: AttributionRequest): string {
  const revenuePath = req.revenueProperty ?? 'revenue';
  // The default revenue property is read from a_event_fields; another one from the message (slower: JSON per conversion).
  const revenue = revenuePath === 'revenue'
    ? { cols: ['f.revenue AS revenue'], join: true }
    : { cols: [`TRY_CAST(${p.propertyAt('e.message', revenuePath)} AS DOUBLE) AS revenue`], join: false };
  return matchingEvents(p, ws, req.conversion, revenue.cols, !revenue.join, revenue.join ? ` LEFT JOIN ${FIELDS_TABLE} f ON f.event_id = m.event_id` : '');
}

/**
 * The same CTEs with the touchpoints and conversions read from the compact sequence (a_event_seq: name numbers,
 * the profile's hash and the attribution fields in one row), when the conversion has no property filter; the
 * revenue of another property than `revenue` is read from the message as before.
 */
function journeyCtesOf(p: SqlParams, ws: string, c: Compact, req: AttributionRequest, range: TimeRange, lookbackMs: number, halfLifeMs: number, groupBy: 'channel' | 'campaign', markov: boolean): string {
  const convRn = seqCan(c, req.conversion) && (req.revenueProperty ?? 'revenue') === 'revenue';
  const convSql = convRn
    ? `SELECT s.event_id, s.pk, s.ts, s.revenue AS revenue, s.rn FROM ${SEQ_TABLE} s WHERE s.workspace_id = ${ws} AND ${nidFilter(c, req.conversion)}`
    : conversionsSql(p, ws, req);
  const from = p.add(range.from, 'bigint');
  const to = p.add(range.to, 'bigint');
  const lookback = p.add(lookbackMs, 'bigint');
  const halfLife = p.add(halfLifeMs, 'double');
  const tp = req.touchpoints ?? {};
  const ads = tp.ads ?? DEFAULT_ADS;
  const messages = tp.messages ?? DEFAULT_MESSAGES;
  // Name numbers read from the warehouse's own table, not user text.
  const list = (names: string[]) => nidsNamed(c, names).join(', ');
  const inList = (names: string[]) => (list(names) ? `s.nid IN (${list(names)})` : 'FALSE');
  const named = list([...ads, ...messages]);
  const inRange = `s.workspace_id = ${ws} AND s.ts >= ${from} - ${lookback} AND s.ts < ${to}`;
  const branches: string[] = [];
  if (tp.utm !== false) {
    branches.push(
      `SELECT s.event_id, s.pk, s.ts, s.rn, s.rn0, COALESCE(s.utm_source, s.utm_medium, '(none)') AS channel, s.utm_campaign AS campaign FROM ${SEQ_TABLE} s ` +
        `WHERE ${inRange} AND s.utm${named ? ` AND s.nid NOT IN (${named})` : ''}`,
    );
  }
  if (ads.length) {
    branches.push(`SELECT s.event_id, s.pk, s.ts, s.rn, s.rn0, COALESCE(s.channel, s.utm_source, 'ads') AS channel, COALESCE(s.campaign, s.utm_campaign) AS campaign FROM ${SEQ_TABLE} s WHERE ${inRange} AND ${inList(ads)}`);
  }
  if (messages.length) {
    branches.push(`SELECT s.event_id, s.pk, s.ts, s.rn, s.rn0, COALESCE(s.channel, 'tandem') AS channel, COALESCE(s.journey, s.template, s.campaign) AS campaign FROM ${SEQ_TABLE} s WHERE ${inRange} AND ${inList(messages)}`);
  }
  // A touchpoint named in both lists is two rows with one place: then positions come from the window pass.
  const once = !ads.some((a) => messages.includes(a));
  return journeysOf(convSql, branches, from, to, lookback, halfLife, groupBy, markov, true, convRn, once);
}

/**
 * The CTEs from the conversions' and touchpoints' SQL (see journeyCtes). `rn`: the touchpoints carry their place in
 * their profile's sequence (a_event_seq: rn, and rn0, the place of the profile's first event at the same
 * millisecond), which orders a journey as (ts, event_id) does, in one 4-byte sort key. `convRn`: the conversions
 * carry theirs too, and the ASOF join compares places: a conversion is at or after a touchpoint's millisecond exactly
 * when its rn >= the touchpoint's rn0, and the lowest such rn is the earliest conversion, ties by arrival (id).
 */
function journeysOf(convSql: string, branches: string[], from: string, to: string, lookback: string, halfLife: string, groupBy: 'channel' | 'campaign', markov: boolean, rn: boolean, convRn: boolean, once: boolean): string {
  const touch = branches.length
    ? branches.join('\nUNION ALL\n')
    : `SELECT NULL::BIGINT AS event_id, NULL::UBIGINT AS pk, NULL::BIGINT AS ts, ${rn ? 'NULL::INTEGER AS rn, NULL::INTEGER AS rn0, ' : ''}NULL::VARCHAR AS channel, NULL::VARCHAR AS campaign WHERE FALSE`;
  const campaignKey = groupBy === 'campaign' ? 'campaign' : 'NULL::VARCHAR';
  const place = rn ? 'rn, rn0, ' : '';
  // Conversions of a profile at the same millisecond: the first to arrive (lowest id) takes the journey (an ASOF
  // join over tied times would pick one at random): places, or the key time * 2^64 + id.
  const asof = convRn
    ? 'touch t ASOF LEFT JOIN conv c ON t.pk = c.pk AND t.rn0 <= c.rn'
    : `(SELECT *, CAST(ts AS HUGEINT) << 64 AS k FROM touch) t
      ASOF LEFT JOIN (SELECT *, (CAST(ts AS HUGEINT) << 64) + event_id AS k FROM conv) c ON t.pk = c.pk AND t.k <= c.k`;
  const head = `
    conv AS MATERIALIZED (SELECT * FROM (${convSql}) c WHERE c.ts >= ${from} - ${lookback} AND c.ts < ${to}),
    touch_named AS MATERIALIZED (SELECT event_id, pk, ts, ${place}channel AS key_channel, ${campaignKey} AS key_campaign FROM (${touch}) t),
    -- Sorts carry a state's hash, not its names (states: the names of each hash).
    touch AS (SELECT event_id, pk, ts, ${place}hash(key_channel, key_campaign) AS sk FROM touch_named),
    states AS (SELECT DISTINCT hash(key_channel, key_campaign) AS sk, key_channel, key_campaign FROM touch_named),
    tc AS ${markov ? '' : 'MATERIALIZED '}(
      SELECT t.*${convRn ? '' : ' EXCLUDE (k)'}, c.event_id AS conv_id, c.ts AS conv_ts, c.revenue AS revenue,
             (c.event_id IS NOT NULL AND c.ts >= ${from} AND c.ts - t.ts <= ${lookback}) AS credited
      FROM ${asof}
    ),`;
  if (rn && once) return head + placedJourneys(from, halfLife, markov);
  return `${head}
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
      FROM jt WINDOW w AS (PARTITION BY jc, ju ORDER BY ${rn ? 'rn' : 'ts, event_id'})
    ),
    j AS (SELECT * FROM jw WHERE credited)`;
}

/**
 * The journeys from places (a_event_seq's rn, unique per touchpoint when no event is named both an ad and a
 * message): a credited journey's first and last touchpoints are those at its smallest and largest place (a hash
 * aggregate per conversion, no sort), which is all the rule-based models read. The Markov chain's neighbours come
 * from two window passes with small rows: over credited touchpoints per conversion, and over the range's
 * touchpoints credited to none per profile. Same relations as the window over every journey: `j` (credited, with
 * pos 1 for the first, n for the last, 2 for the middle ones, n and decay) and `jw` (credited, pos, sk, psk, ne).
 */
function placedJourneys(from: string, halfLife: string, markov: boolean): string {
  return `
    jn AS (SELECT conv_id, count(*) AS n, sum(pow(0.5, (conv_ts - ts) / ${halfLife})) AS sw, min(rn) AS r1, max(rn) AS rz FROM tc WHERE credited GROUP BY conv_id),
    j AS MATERIALIZED (
      SELECT tc.*, jn.n, pow(0.5, (conv_ts - ts) / ${halfLife}) / jn.sw AS decay,
             CASE WHEN tc.rn = jn.r1 THEN 1 WHEN tc.rn = jn.rz THEN jn.n ELSE 2 END AS pos
      FROM tc JOIN jn ON jn.conv_id = tc.conv_id WHERE credited
    )${markov ? `,
    jw AS MATERIALIZED (
      SELECT TRUE AS credited, pos, sk, lag(sk) OVER (PARTITION BY conv_id ORDER BY rn) AS psk, CASE WHEN pos <> n THEN 1 END AS ne FROM j
      UNION ALL
      SELECT FALSE, row_number() OVER w, sk, lag(sk) OVER w, lead(rn) OVER w FROM tc WHERE NOT credited AND ts >= ${from}
      WINDOW w AS (PARTITION BY pk ORDER BY rn)
    )` : ''}`;
}
