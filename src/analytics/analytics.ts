import type { Clock } from '../core/clock.js';
import { attributionReport, type AttributionAnswer } from './attribution/report.js';
import { campaignsReport, type CampaignsAnswer } from './campaigns.js';
import { EventFields, type FieldsWarehouse } from './event-fields.js';
import { funnelReport, type FunnelAnswer, type Query } from './funnels.js';
import { pathsReport, type PathsAnswer } from './paths.js';
import { resolveRange } from './range.js';
import { retentionReport, type RetentionAnswer } from './retention.js';
import type { AttributionRequest, CampaignsRequest, FunnelRequest, PathsRequest, RetentionRequest, SpendRow } from './schema.js';
import { checkSpendRows, type SpendStore } from './spend.js';

export interface AnalyticsDeps {
  /** The warehouse's writable connection: reports read, and the extracted event fields are kept up to date on it. */
  warehouse: FieldsWarehouse;
  /** Copies what is stored but not yet in the warehouse (events, the profile mirror): reports are as fresh as the resolve stage. */
  sync(): Promise<void>;
  spend: SpendStore;
  clock: Clock;
}

/**
 * The analytics reports (docs/analytics.md), one SQL query each over the warehouse, after bringing it up to date
 * with everything the pipeline has resolved.
 */
export class Analytics {
  private readonly fields: EventFields;
  private readonly query: Query;

  constructor(private readonly deps: AnalyticsDeps) {
    this.fields = new EventFields(deps.warehouse);
    this.query = (sql, params) => deps.warehouse.query(sql, params);
  }

  private async fresh(fields = false): Promise<void> {
    await this.deps.sync();
    if (fields) await this.fields.refresh();
  }

  async funnel(workspaceId: string, req: FunnelRequest): Promise<FunnelAnswer> {
    const range = resolveRange(req, this.deps.clock.now());
    await this.fresh();
    return funnelReport(this.query, workspaceId, req, range);
  }

  async retention(workspaceId: string, req: RetentionRequest): Promise<RetentionAnswer> {
    const range = resolveRange(req, this.deps.clock.now());
    await this.fresh();
    return retentionReport(this.query, workspaceId, req, range);
  }

  async paths(workspaceId: string, req: PathsRequest): Promise<PathsAnswer> {
    const range = resolveRange(req, this.deps.clock.now());
    await this.fresh();
    return pathsReport(this.query, workspaceId, req, range);
  }

  async attribution(workspaceId: string, req: AttributionRequest): Promise<AttributionAnswer> {
    const range = resolveRange(req, this.deps.clock.now());
    await this.fresh(true);
    return attributionReport(this.query, workspaceId, req, range);
  }

  async campaigns(workspaceId: string, req: CampaignsRequest): Promise<CampaignsAnswer> {
    const range = resolveRange(req, this.deps.clock.now());
    await this.fresh(true);
    return campaignsReport(this.query, this.deps.spend, workspaceId, req, range);
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
}
