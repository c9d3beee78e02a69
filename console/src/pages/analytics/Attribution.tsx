import { useState } from 'react';
import { BarChart } from '../../components/BarChart';
import { percent } from '../../components/csv-download';
import { Section, SelectField, TextField } from '../../components/common';
import { names, ReportActions, useReport, withRange, type Range } from './report';

export const MODELS = ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'markov'] as const;
export type Model = (typeof MODELS)[number];
const MODEL_LABEL: Record<Model, string> = { first_touch: 'First touch', last_touch: 'Last touch', linear: 'Linear', time_decay: 'Time decay', position_based: 'Position-based', markov: 'Markov' };

interface Row { channel: string; campaign: string | null; touchpoints: number; conversions: Partial<Record<Model, number>>; revenue: Partial<Record<Model, number>>; removalEffect?: number }
interface AttributionAnswer { conversion: string; lookback: string; groupBy: 'channel' | 'campaign'; models: Model[]; totals: { conversions: number; revenue: number; attributed: number; attributedRevenue: number }; rows: Row[] }
interface CampaignRow { campaign: string | null; channels: string[]; spend: number; touchpoints: number; conversions: Partial<Record<Model, number>>; revenue: Partial<Record<Model, number>>; cpa: Partial<Record<Model, number | null>>; roas: Partial<Record<Model, number | null>> }
interface CampaignsAnswer { spend: number; models: Model[]; rows: CampaignRow[] }

const n2 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : String(Math.round(v * 100) / 100));

/** The fields attribution and campaign performance share. */
function useConversionFields() {
  const [conversion, setConversion] = useState('');
  const [revenueProperty, setRevenueProperty] = useState('revenue');
  const [lookback, setLookback] = useState('30d');
  const [ads, setAds] = useState('Ad Clicked, Ad Viewed');
  const body = { conversion: { event: conversion.trim() }, revenueProperty: revenueProperty.trim() || undefined, lookback, touchpoints: { utm: true, ads: names(ads) } };
  const fields = (
    <div className="row">
      <TextField label="Conversion event" value={conversion} onChange={setConversion} />
      <TextField label="Revenue property" value={revenueProperty} onChange={setRevenueProperty} />
      <TextField label="Lookback" value={lookback} onChange={setLookback} />
      <TextField label="Ad events (comma-separated)" value={ads} onChange={setAds} />
    </div>
  );
  return { body, fields };
}

/** Attribution by model: the table of every model and a bar chart of the chosen one. */
export function Attribution({ range }: { range: Range }) {
  const { body: shared, fields } = useConversionFields();
  const [groupBy, setGroupBy] = useState<'campaign' | 'channel'>('campaign');
  const [model, setModel] = useState<Model>('linear');
  const report = useReport<AttributionAnswer>('attribution');
  const body = () => withRange(range, { ...shared, groupBy });
  const data = report.data;
  const rowLabel = (r: Row) => (data?.groupBy === 'campaign' ? `${r.channel} / ${r.campaign ?? '(none)'}` : r.channel);
  return (
    <Section title="Attribution">
      {fields}
      <div className="row">
        <SelectField label="Group by" value={groupBy} options={['campaign', 'channel'] as const} onChange={setGroupBy} />
        <SelectField label="Model in the chart" value={model} options={MODELS.map((m) => ({ value: m, label: MODEL_LABEL[m] }))} onChange={setModel} />
      </div>
      <ReportActions name="attribution" busy={report.busy} onRun={() => report.run(body())} onCsv={() => report.csv(body())} error={report.error} status={report.status} />
      {data ? (
        <>
          <p>
            {data.totals.conversions} conversions ({data.conversion}), {data.totals.attributed} with touchpoints in the {data.lookback} lookback; revenue {n2(data.totals.revenue)}.
          </p>
          <BarChart title={`Conversions credited (${MODEL_LABEL[model]})`} format={n2} bars={data.rows.map((r) => ({ label: rowLabel(r), value: r.conversions[model] ?? 0, note: `revenue ${n2(r.revenue[model])}` }))} />
          <div className="scroll">
            <table>
              <caption>Conversions credited per model</caption>
              <thead>
                <tr>
                  <th scope="col">{data.groupBy === 'campaign' ? 'Channel / campaign' : 'Channel'}</th>
                  <th scope="col">Touchpoints</th>
                  {data.models.map((m) => (
                    <th scope="col" key={m}>
                      {MODEL_LABEL[m]}
                    </th>
                  ))}
                  {data.models.includes('markov') ? <th scope="col">Removal effect</th> : null}
                </tr>
              </thead>
              <tbody>
                {data.rows.map((r) => (
                  <tr key={rowLabel(r)}>
                    <th scope="row">{rowLabel(r)}</th>
                    <td>{r.touchpoints}</td>
                    {data.models.map((m) => (
                      <td key={m}>{n2(r.conversions[m])}</td>
                    ))}
                    {data.models.includes('markov') ? <td>{percent(r.removalEffect)}</td> : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {data.rows.length === 0 ? <p>No touchpoint led to a conversion in this range.</p> : null}
        </>
      ) : null}
    </Section>
  );
}

/** Campaign performance: spend beside attributed conversions, revenue, CPA and ROAS for one model. */
export function Campaigns({ range }: { range: Range }) {
  const { body: shared, fields } = useConversionFields();
  const [model, setModel] = useState<Model>('linear');
  const report = useReport<CampaignsAnswer>('campaigns');
  const body = () => withRange(range, shared);
  const data = report.data;
  return (
    <Section title="Campaign performance">
      {fields}
      <SelectField label="Model" value={model} options={MODELS.map((m) => ({ value: m, label: MODEL_LABEL[m] }))} onChange={setModel} />
      <ReportActions name="campaigns" busy={report.busy} onRun={() => report.run(body())} onCsv={() => report.csv(body())} error={report.error} status={report.status} />
      {data ? (
        <table>
          <caption>
            Campaigns ({MODEL_LABEL[model]}), total spend {n2(data.spend)}
          </caption>
          <thead>
            <tr>
              <th scope="col">Campaign</th>
              <th scope="col">Channels</th>
              <th scope="col">Spend</th>
              <th scope="col">Conversions</th>
              <th scope="col">Revenue</th>
              <th scope="col">CPA</th>
              <th scope="col">ROAS</th>
            </tr>
          </thead>
          <tbody>
            {data.rows.map((r) => (
              <tr key={String(r.campaign)}>
                <th scope="row">{r.campaign ?? '(none)'}</th>
                <td>{r.channels.join(', ')}</td>
                <td>{n2(r.spend)}</td>
                <td>{n2(r.conversions[model])}</td>
                <td>{n2(r.revenue[model])}</td>
                <td>{n2(r.cpa[model])}</td>
                <td>{n2(r.roas[model])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}
