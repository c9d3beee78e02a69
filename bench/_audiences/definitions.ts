// The 20 audiences and 20 computed traits of the audiences benchmark, each with the SQL a data engineer would write
// by hand for it (the baseline of the backfill). The history they read is generated in bench/audiences.ts: events
// Page Viewed, Product Viewed, Product Added, Email Opened, Email Clicked, Order Completed, Signed Up, Search,
// Cart Viewed with properties price, category, quantity, channel; traits plan, country, age, email, vip.

export interface Definition {
  key: string;
  definition: Record<string, unknown>;
  /** Audiences: a query of the member profile ids. Traits: an aggregate over `ev` rows, or `join` for a subquery. */
  hand: string;
  /** Traits whose hand-written form needs a subquery returning (profile_id, value) joined to the profiles. */
  join?: string;
  /** Audiences previewed in part (c). */
  preview?: boolean;
}

const NOW = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;
const since = (days: number) => `ts > ${NOW - days * DAY} AND ts <= ${NOW}`;
const upTo = `ts <= ${NOW}`;
const ev = (name: string, extra = '') => `SELECT DISTINCT profile_id FROM c_events WHERE event = '${name}' AND ${upTo}${extra ? ` AND ${extra}` : ''}`;
const price = `CAST(json_extract(properties, '$.price') AS DOUBLE)`;
const str = (p: string) => `json_extract_string(properties, '$.${p}')`;
const trait = (p: string) => `json_extract_string(traits, '$.${p}')`;

export const AUDIENCES: Definition[] = [
  { key: 'recent_viewers', definition: { performed: 'Product Viewed', within: '7d' }, hand: ev('Product Viewed', since(7)), preview: true },
  { key: 'cart_adders_24h', definition: { performed: 'Product Added', within: '24h' }, hand: ev('Product Added', since(1)) },
  { key: 'buyers_30d', definition: { performed: 'Order Completed', within: '30d' }, hand: ev('Order Completed', since(30)) },
  {
    key: 'big_spenders',
    definition: { performed: 'Order Completed', where: [{ property: 'price', gte: 150 }], count: { gte: 2 } },
    hand: `SELECT profile_id FROM c_events WHERE event = 'Order Completed' AND ${upTo} AND ${price} >= 150 GROUP BY profile_id HAVING COUNT(*) >= 2`,
    preview: true,
  },
  {
    key: 'cart_abandoners',
    definition: { all: [{ performed: 'Product Added', within: '7d' }, { not: { performed: 'Order Completed', within: '7d' } }] },
    hand: `${ev('Product Added', since(7))} EXCEPT ${ev('Order Completed', since(7))}`,
    preview: true,
  },
  {
    key: 'lapsed',
    definition: { last_performed: 'Order Completed', ago: { gt: '90d' } },
    hand: `SELECT profile_id FROM c_events WHERE event = 'Order Completed' AND ${upTo} GROUP BY profile_id HAVING MAX(ts) < ${NOW - 90 * DAY}`,
  },
  {
    key: 'new_signups',
    definition: { first_performed: 'Signed Up', ago: { lt: '30d' } },
    hand: `SELECT profile_id FROM c_events WHERE event = 'Signed Up' AND ${upTo} GROUP BY profile_id HAVING MIN(ts) > ${NOW - 30 * DAY}`,
  },
  { key: 'pro_plan', definition: { trait: 'plan', eq: 'pro' }, hand: `SELECT profile_id FROM c_profiles WHERE ${trait('plan')} = 'pro'`, preview: true },
  {
    key: 'eu_customers',
    definition: { trait: 'country', in: ['FR', 'DE', 'ES', 'IT', 'NL', 'SE'] },
    hand: `SELECT profile_id FROM c_profiles WHERE ${trait('country')} IN ('FR', 'DE', 'ES', 'IT', 'NL', 'SE')`,
  },
  { key: 'adults_40plus', definition: { trait: 'age', gte: 40 }, hand: `SELECT profile_id FROM c_profiles WHERE CAST(json_extract(traits, '$.age') AS DOUBLE) >= 40` },
  {
    key: 'vip_email',
    definition: { all: [{ trait: 'vip', eq: true }, { has_identifier: 'email' }] },
    hand: `SELECT profile_id FROM c_profiles WHERE CAST(json_extract(traits, '$.vip') AS BOOLEAN) INTERSECT SELECT profile_id FROM c_identifiers WHERE type = 'email'`,
  },
  {
    key: 'engaged_email',
    definition: { performed: 'Email Clicked', count: { gte: 3 }, within: '90d' },
    hand: `SELECT profile_id FROM c_events WHERE event = 'Email Clicked' AND ${since(90)} GROUP BY profile_id HAVING COUNT(*) >= 3`,
  },
  {
    key: 'emailable',
    definition: { all: [{ subscribed: 'marketing_email' }, { trait: 'email', exists: true }] },
    hand: `SELECT profile_id FROM c_subscriptions WHERE grp = 'marketing_email' AND status = 'subscribed' INTERSECT SELECT profile_id FROM c_profiles WHERE ${trait('email')} IS NOT NULL`,
    preview: true,
  },
  {
    key: 'shoe_fans',
    definition: { performed: 'Product Viewed', where: [{ property: 'category', eq: 'shoes' }], count: { gte: 5 } },
    hand: `SELECT profile_id FROM c_events WHERE event = 'Product Viewed' AND ${upTo} AND ${str('category')} = 'shoes' GROUP BY profile_id HAVING COUNT(*) >= 5`,
  },
  {
    key: 'mobile_shoppers',
    definition: { performed: 'Order Completed', where: [{ property: 'channel', in: ['ios', 'android'] }], within: '180d' },
    hand: ev('Order Completed', `${since(180)} AND ${str('channel')} IN ('ios', 'android')`),
  },
  {
    key: 'test_group',
    definition: { bucket: { salt: 'exp1', lt: 10 } },
    hand: `SELECT profile_id FROM c_profiles WHERE CAST(('0x' || substr(md5('exp1:' || profile_id), 1, 8)) AS BIGINT) % 100 < 10`,
  },
  {
    key: 'winback_target',
    definition: { all: [{ in_audience: 'lapsed' }, { in_audience: 'emailable' }] },
    hand: `SELECT profile_id FROM members_hand WHERE audience = 'lapsed' INTERSECT SELECT profile_id FROM members_hand WHERE audience = 'emailable'`,
    preview: true,
  },
  {
    key: 'high_value_pro',
    definition: { all: [{ in_audience: 'pro_plan' }, { in_audience: 'big_spenders' }] },
    hand: `SELECT profile_id FROM members_hand WHERE audience = 'pro_plan' INTERSECT SELECT profile_id FROM members_hand WHERE audience = 'big_spenders'`,
  },
  {
    key: 'searchers_no_cart',
    definition: { all: [{ performed: 'Search', within: '14d' }, { not: { performed: 'Cart Viewed', within: '14d' } }] },
    hand: `${ev('Search', since(14))} EXCEPT ${ev('Cart Viewed', since(14))}`,
  },
  {
    key: 'any_engaged',
    definition: { any: [{ in_audience: 'buyers_30d' }, { in_audience: 'engaged_email' }, { performed: 'Email Opened', within: '3d' }] },
    hand: `SELECT profile_id FROM members_hand WHERE audience IN ('buyers_30d', 'engaged_email') UNION ${ev('Email Opened', since(3))}`,
    preview: true,
  },
];

// Traits read `ev`: c_events up to now with the properties extracted once (see handTraitsQuery in audiences.ts).
const is = (name: string, extra = '') => `event = '${name}'${extra ? ` AND ${extra}` : ''}`;
const inDays = (days: number) => `ts > ${NOW - days * DAY}`;
const json = (expr: string) => `CAST(to_json(${expr}) AS VARCHAR)`;
/** Most frequent value, ties to the least value: a subquery, as SQL has no deterministic mode. */
const mostFrequent = (column: string, where: string) =>
  `SELECT profile_id, ${json(column)} AS value FROM (SELECT profile_id, ${column}, COUNT(*) AS n FROM ev WHERE ${where} AND ${column} IS NOT NULL GROUP BY ALL) QUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY n DESC, ${column}) = 1`;

export const TRAITS: Definition[] = [
  { key: 'order_count', definition: { key: 'order_count', event: 'Order Completed', compute: { count: true } }, hand: `COUNT(*) FILTER (WHERE ${is('Order Completed')})` },
  { key: 'revenue', definition: { key: 'revenue', event: 'Order Completed', compute: { sum: 'price' } }, hand: `SUM(price) FILTER (WHERE ${is('Order Completed')})` },
  { key: 'avg_order', definition: { key: 'avg_order', event: 'Order Completed', compute: { avg: 'price' } }, hand: `AVG(price) FILTER (WHERE ${is('Order Completed')})` },
  { key: 'max_order', definition: { key: 'max_order', event: 'Order Completed', compute: { max: 'price' } }, hand: `MAX(price) FILTER (WHERE ${is('Order Completed')})` },
  { key: 'min_order', definition: { key: 'min_order', event: 'Order Completed', compute: { min: 'price' } }, hand: `MIN(price) FILTER (WHERE ${is('Order Completed')})` },
  { key: 'first_category', definition: { key: 'first_category', event: 'Product Viewed', compute: { first: 'category' } }, hand: json(`arg_min(category, ts) FILTER (WHERE ${is('Product Viewed')})`) },
  { key: 'last_category', definition: { key: 'last_category', event: 'Product Viewed', compute: { last: 'category' } }, hand: json(`arg_max(category, ts) FILTER (WHERE ${is('Product Viewed')})`) },
  {
    key: 'fav_category',
    definition: { key: 'fav_category', event: 'Product Viewed', compute: { most_frequent: 'category' } },
    hand: '',
    join: mostFrequent('category', is('Product Viewed')),
  },
  {
    key: 'categories',
    definition: { key: 'categories', event: 'Product Viewed', compute: { unique: 'category' } },
    hand: json(`list_sort(list(DISTINCT category) FILTER (WHERE ${is('Product Viewed')}))`),
  },
  { key: 'category_count', definition: { key: 'category_count', event: 'Product Viewed', compute: { unique_count: 'category' } }, hand: `COUNT(DISTINCT category) FILTER (WHERE ${is('Product Viewed')})` },
  { key: 'views_7d', definition: { key: 'views_7d', event: 'Product Viewed', within: '7d', compute: { count: true } }, hand: `COUNT(*) FILTER (WHERE ${is('Product Viewed', inDays(7))})` },
  { key: 'revenue_30d', definition: { key: 'revenue_30d', event: 'Order Completed', within: '30d', compute: { sum: 'price' } }, hand: `SUM(price) FILTER (WHERE ${is('Order Completed', inDays(30))})` },
  {
    key: 'days_since_order',
    definition: { key: 'days_since_order', event: 'Order Completed', compute: { since_last: 'days' } },
    hand: `CAST(FLOOR((${NOW} - MAX(ts) FILTER (WHERE ${is('Order Completed')})) / ${DAY}) AS BIGINT)`,
  },
  { key: 'days_since_first_seen', definition: { key: 'days_since_first_seen', compute: { since_first: 'days' } }, hand: `CAST(FLOOR((${NOW} - MIN(ts)) / ${DAY}) AS BIGINT)` },
  { key: 'clicks_90d', definition: { key: 'clicks_90d', event: 'Email Clicked', within: '90d', compute: { count: true } }, hand: `COUNT(*) FILTER (WHERE ${is('Email Clicked', inDays(90))})` },
  {
    key: 'big_orders',
    definition: { key: 'big_orders', event: 'Order Completed', where: [{ property: 'price', gte: 100 }], compute: { count: true } },
    hand: `COUNT(*) FILTER (WHERE ${is('Order Completed', 'price >= 100')})`,
  },
  { key: 'last_channel', definition: { key: 'last_channel', compute: { last: 'channel' } }, hand: json('arg_max(channel, ts)') },
  { key: 'searches', definition: { key: 'searches', event: 'Search', compute: { count: true } }, hand: `COUNT(*) FILTER (WHERE ${is('Search')})` },
  { key: 'items_added', definition: { key: 'items_added', event: 'Product Added', compute: { sum: 'quantity' } }, hand: `SUM(quantity) FILTER (WHERE ${is('Product Added')})` },
  {
    key: 'fav_channel_30d',
    definition: { key: 'fav_channel_30d', within: '30d', compute: { most_frequent: 'channel' } },
    hand: '',
    join: mostFrequent('channel', inDays(30)),
  },
];
