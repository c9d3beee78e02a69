import type { Clock } from '../core/clock.js';
import { attributionReport, type AttributionAnswer } from './attribution/report.js';
import { campaignsReport, type CampaignsAnswer } from './campaigns.js';
import type { Compact } from './compact.js';
import { EventFields } from './event-fields.js';
import { funnelReport, type FunnelAnswer, type Query } from './funnels.js';
import { pathsReport, type PathsAnswer } from './paths.js';
import { resolveRange } from './range.js';
import { retentionReport, type RetentionAnswer } from './retention.js';
import { EventSequence, type SequenceWarehouse } from './sequence.js';
import type { AttributionRequest, CampaignsRequest, FunnelRequest, PathsRequest, RetentionRequest, SpendRow } from './schema.js';
import { checkSpendRows, type SpendStore } from './spend.js';

export interface AnalyticsDeps {
  /** The warehouse's writable connection: reports read, and the extracted event fields and sequence are kept up to date on it. */
  warehouse: SequenceWarehouse;
  /** Copies what is stored but not yet in the warehouse (events, the profile mirror): reports are as fresh as the resolve stage. */
  sync(): Promise<void>;
  spend: SpendStore;
  clock: Clock;
  /**
   * false: reports read m_events and the raw messages, as before the compact sequence (a_event_seq) existed; for
   * the A/B test that checks both give the same answers. Default true.
   */
  compact?: boolean;
}

/**
 * The analytics reports (docs/analytics.md), one SQL query each over the warehouse, after bringing it up to date
 * with everything the pipeline has resolved.
 */
export class Analytics {
  private readonly fields: EventFields;
  private readonly sequence: EventSequence;
  private readonly query: Query;

  constructor(private readonly deps: AnalyticsDeps) {
    this.fields = new EventFields(deps.warehouse);
    this.sequence = new EventSequence(deps.warehouse);
    this.query = (sql, params) => deps.warehouse.query(sql, params);
  }

  /**
   * Copies what the pipeline has resolved, then brings the extracted fields (attribution, or every report on the
   * compact sequence, which carries them) and the sequence up to date; returns what reports need to read it.
   */
  private async fresh(fields = false): Promise<Compact | undefined> {
    await this.deps.sync();
    if (this.deps.compact === false) {
      if (fields) await this.fields.refresh();
      return undefined;
    }
    await this.fields.refresh();
    await this.sequence.refresh();
    return { names: await this.sequence.names() };
  }

  async funnel(workspaceId: string, req: FunnelRequest): Promise<FunnelAnswer> {
    const range = resolveRange(req, this.deps.clock.now());
    return funnelReport(this.query, workspaceId, req, range, await this.fresh());
  }

  async retention(workspaceId: string, req: RetentionRequest): Promise<RetentionAnswer> {
    const range = resolveRange(req, this.deps.clock.now());
    return retentionReport(this.query, workspaceId, req, range, await this.fresh());
  }

  async paths(workspaceId: string, req: PathsRequest): Promise<PathsAnswer> {
    const range = resolveRange(req, this.deps.clock.now());
    return pathsReport(this.query, workspaceId, req, range, await this.fresh());
  }

  async attribution(workspaceId: string, req: AttributionRequest): Promise<AttributionAnswer> {
    const range = resolveRange(req, this.deps.clock.now());
    return attributionReport(this.query, workspaceId, req, range, await this.fresh(true));
  }

  async campaigns(workspaceId: string, req: CampaignsRequest): Promise<CampaignsAnswer> {
    const range = resolveRange(req, this.deps.clock.now());
    return campaignsReport(this.query, this.deps.spend, workspaceId, req, range, await this.fresh(true));
  }

  importSpend(workspaceId: string, rows: SpendRow[]): number {
    return this.deps.spend.upsert(workspaceId, checkSpendRows(rows), this.deps.clock.now());
  }

  listSpend(workspaceId: string, fromDay: string, toDay: string): Required<SpendRow>[] {
    return this.deps.spend.list(workspaceId, fromDay, toDay);
  }

  /** Brings the extracted event fields up to date now (benchmarks measure this one-off cost apart from reports). */
  refreshFields(): Promise<void> {
    return this.fields.refresh();
  }

  /** Brings the compact event sequence up to date now (call after refreshFields; benchmarks measure this apart). */
  refreshSequence(): Promise<void> {
    return this.sequence.refresh();
  }
}
