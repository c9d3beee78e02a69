import type { AttributionAnswer } from './attribution/report.js';
import type { CampaignsAnswer } from './campaigns.js';
import type { FunnelAnswer } from './funnels.js';
import type { PathsAnswer } from './paths.js';
import type { RetentionAnswer } from './retention.js';

type Cell = string | number | null | undefined;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text that a spreadsheet would run
 * as a formula (=, +, -, @ first) gets a leading apostrophe; numbers are written as they are.
 */
export function csvField(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: string[], rows: Cell[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function funnelCsv(a: FunnelAnswer): string {
  const groups = [{ group: '(all)' as string | null, steps: a.steps }, ...(a.breakdown?.groups ?? [])];
  return toCsv(
    ['group', 'step', 'label', 'count', 'conversion', 'step_conversion', 'drop_off', 'median_from_previous_ms', 'median_from_start_ms'],
    groups.flatMap((g) => g.steps.map((s) => [g.group, s.step, s.label, s.count, s.conversion, s.stepConversion, s.dropOff, s.medianFromPrevious, s.medianFromStart])),
  );
}

export function retentionCsv(a: RetentionAnswer): string {
  const rows: Cell[][] = a.cohorts.flatMap((c) => c.periods.map((p) => [c.cohort, c.size, p.period, p.eligible, p.returned, p.rate]));
  for (const p of a.curve) rows.push(['(all)', a.curve[0]?.eligible ?? 0, p.period, p.eligible, p.returned, p.rate]);
  return toCsv(['cohort', 'size', 'period', 'eligible', 'returned', 'rate'], rows);
}

export function pathsCsv(a: PathsAnswer): string {
  return toCsv(['rank', 'path', 'profiles', 'share'], a.paths.map((p, i) => [i + 1, p.path.join(' > '), p.profiles, p.share]));
}

export function attributionCsv(a: AttributionAnswer): string {
  const header = ['channel', 'campaign', 'touchpoints', ...a.models.flatMap((m) => [`${m}_conversions`, `${m}_revenue`])];
  if (a.models.includes('markov')) header.push('markov_removal_effect');
  return toCsv(
    header,
    a.rows.map((r) => [
      r.channel, r.campaign, r.touchpoints,
      ...a.models.flatMap((m) => [r.conversions[m] ?? 0, r.revenue[m] ?? 0]),
      ...(a.models.includes('markov') ? [r.removalEffect ?? 0] : []),
    ]),
  );
}

export function campaignsCsv(a: CampaignsAnswer): string {
  return toCsv(
    ['campaign', 'channels', 'spend', 'touchpoints', ...a.models.flatMap((m) => [`${m}_conversions`, `${m}_revenue`, `${m}_cpa`, `${m}_roas`])],
    a.rows.map((r) => [r.campaign, r.channels.join(' '), r.spend, r.touchpoints, ...a.models.flatMap((m) => [r.conversions[m], r.revenue[m], r.cpa[m], r.roas[m]])]),
  );
}
