import { useState } from 'react';
import { CurveChart } from '../../components/CurveChart';
import { percent } from '../../components/csv-download';
import { Section, SelectField, TextField } from '../../components/common';
import { ReportActions, useReport, withRange, type Range } from './report';

interface Cell { period: number; eligible: number; returned: number; rate: number | null }
interface RetentionAnswer { period: string; cohortBy: string; returnOn: string; cohorts: { cohort: string | null; size: number; periods: Cell[] }[]; curve: Cell[] }

/** Retention: cohorts by first event (or trait), returns per period, the table and the weighted curve. */
export function Retention({ range }: { range: Range }) {
  const [cohortEvent, setCohortEvent] = useState('');
  const [returnEvent, setReturnEvent] = useState('');
  const [period, setPeriod] = useState<'day' | 'week' | 'month'>('week');
  const [periods, setPeriods] = useState('8');
  const report = useReport<RetentionAnswer>('retention');
  const body = () =>
    withRange(range, {
      ...(cohortEvent.trim() ? { cohort: { event: { event: cohortEvent.trim() } } } : {}),
      ...(returnEvent.trim() ? { return: { event: returnEvent.trim() } } : {}),
      period,
      periods: Number(periods),
    });
  const data = report.data;
  const columns = data?.curve.map((c) => c.period) ?? [];
  return (
    <Section title="Retention">
      <div className="row">
        <TextField label="Cohort event (empty: any first event)" value={cohortEvent} onChange={setCohortEvent} />
        <TextField label="Return event (empty: any event)" value={returnEvent} onChange={setReturnEvent} />
        <SelectField label="Period" value={period} options={['day', 'week', 'month'] as const} onChange={setPeriod} />
        <TextField label="Periods" type="number" value={periods} onChange={setPeriods} />
      </div>
      <ReportActions name="retention" busy={report.busy} onRun={() => report.run(body())} onCsv={() => report.csv(body())} error={report.error} status={report.status} />
      {data ? (
        <>
          <CurveChart title="Retention curve" max={1} format={(v) => percent(v)} points={data.curve.map((c) => ({ label: `${data.period} ${c.period}`, value: c.rate }))} />
          <div className="scroll">
            <table>
              <caption>
                Retention by {data.period}: cohort {data.cohortBy}, return on {data.returnOn}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Cohort</th>
                  <th scope="col">Profiles</th>
                  {columns.map((p) => (
                    <th scope="col" key={p}>
                      {data.period} {p}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.cohorts.map((c) => (
                  <tr key={String(c.cohort)}>
                    <th scope="row">{c.cohort ?? '(no value)'}</th>
                    <td>{c.size}</td>
                    {c.periods.map((p) => (
                      <td key={p.period} title={`${p.returned} of ${p.eligible}`}>
                        {p.rate === null ? '–' : `${percent(p.rate)} (${p.returned})`}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </Section>
  );
}
