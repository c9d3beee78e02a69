import { attributionReport, type AttributionAnswer } from './attribution/report.js';
import type { Compact } from './compact.js';
import type { Query } from './funnels.js';
import type { TimeRange } from './range.js';
import type { AttributionModel, CampaignsRequest } from './schema.js';
import type { SpendStore } from './spend.js';

export interface CampaignRow {
  campaign: string | null;
  /** Channels the campaign's touchpoints and spend rows name. */
  channels: string[];
  spend: number;
  touchpoints: number;
  conversions: Partial<Record<AttributionModel, number>>;
  revenue: Partial<Record<AttributionModel, number>>;
  /** Cost per acquisition: spend / attributed conversions (null without conversions or spend). */
  cpa: Partial<Record<AttributionModel, number | null>>;
  /** Return on ad spend: attributed revenue / spend (null without spend). */
  roas: Partial<Record<AttributionModel, number | null>>;
}

export interface CampaignsAnswer extends Omit<AttributionAnswer, 'rows' | 'groupBy'> {
  spend: number;
  rows: CampaignRow[];
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Campaign performance (docs/analytics.md): attribution per campaign (channels summed; the campaign name is the
 * join key) beside the spend imported for the days of [from, to), with CPA and ROAS per model.
 */
export async function campaignsReport(query: Query, spendStore: SpendStore, workspaceId: string, req: CampaignsRequest, range: TimeRange, compact?: Compact): Promise<CampaignsAnswer> {
  const attribution = await attributionReport(query, workspaceId, { ...req, groupBy: 'campaign' }, range, compact);
  const byCampaign = new Map<string | null, CampaignRow>();
  const rowOf = (campaign: string | null) => {
    let r = byCampaign.get(campaign);
    if (!r) byCampaign.set(campaign, (r = { campaign, channels: [], spend: 0, touchpoints: 0, conversions: {}, revenue: {}, cpa: {}, roas: {} }));
    return r;
  };
  const addChannel = (r: CampaignRow, channel: string) => {
    if (channel && !r.channels.includes(channel)) r.channels.push(channel);
  };
  for (const a of attribution.rows) {
    const r = rowOf(a.campaign);
    addChannel(r, a.channel);
    r.touchpoints += a.touchpoints;
    for (const m of attribution.models) {
      r.conversions[m] = (r.conversions[m] ?? 0) + (a.conversions[m] ?? 0);
      r.revenue[m] = (r.revenue[m] ?? 0) + (a.revenue[m] ?? 0);
    }
  }
  // Days from the one holding `from` to the one holding the last instant before `to`.
  let spend = 0;
  for (const s of spendStore.list(workspaceId, day(range.from), day(range.to - 1))) {
    const r = rowOf(s.campaign);
    addChannel(r, s.channel);
    r.spend += s.spend;
    spend += s.spend;
  }
  const rows = [...byCampaign.values()];
  for (const r of rows) {
    r.channels.sort();
    for (const m of attribution.models) {
      const conversions = r.conversions[m] ?? 0;
      const revenue = r.revenue[m] ?? 0;
      r.conversions[m] = conversions;
      r.revenue[m] = revenue;
      r.cpa[m] = r.spend > 0 && conversions > 0 ? r.spend / conversions : null;
      r.roas[m] = r.spend > 0 ? revenue / r.spend : null;
    }
  }
  rows.sort((a, b) => b.spend - a.spend || String(a.campaign ?? '').localeCompare(String(b.campaign ?? '')));
  const { rows: _rows, groupBy: _groupBy, ...rest } = attribution;
  return { ...rest, spend, rows };
}
