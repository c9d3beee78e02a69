import { useState } from 'react';
import { BarChart } from '../../components/BarChart';
import { percent } from '../../components/csv-download';
import { Section, TextField } from '../../components/common';
import { ReportActions, useReport, withRange, type Range } from './report';

interface Step { step: number; label: string; count: number; conversion: number | null; stepConversion: number | null; dropOff: number; medianFromPrevious: number | null; medianFromStart: number | null }
interface FunnelAnswer { from: string; to: string; window: string; steps: Step[] }

const duration = (ms: number | null) => (ms === null ? '–' : ms < 60_000 ? `${Math.round(ms / 1000)}s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)}m` : `${Math.round(ms / 360_000) / 10}h`);

/** Funnel builder: ordered steps (event names), a window, a bar chart of step counts and the per-step table. */
export function Funnel({ range }: { range: Range }) {
  const [steps, setSteps] = useState<string[]>(['', '']);
  const [window, setWindow] = useState('7d');
  const report = useReport<FunnelAnswer>('funnel');
  const body = () => withRange(range, { steps: steps.map((s) => s.trim()).filter(Boolean).map((event) => ({ event })), window });
  return (
    <Section title="Funnel">
      <ol className="steps">
        {steps.map((s, i) => (
          <li key={i} className="row">
            <TextField label={`Step ${i + 1} event`} value={s} onChange={(v) => setSteps(steps.map((x, j) => (j === i ? v : x)))} placeholder="Order Completed" />
            {steps.length > 2 ? (
              <button type="button" className="link" onClick={() => setSteps(steps.filter((_, j) => j !== i))}>
                Remove step {i + 1}
              </button>
            ) : null}
          </li>
        ))}
      </ol>
      <div className="row">
        <button type="button" className="secondary" onClick={() => setSteps([...steps, ''])}>
          Add step
        </button>
        <TextField label="Conversion window" value={window} onChange={setWindow} placeholder="7d" />
      </div>
      <ReportActions name="funnel" busy={report.busy} onRun={() => report.run(body())} onCsv={() => report.csv(body())} error={report.error} status={report.status} />
      {report.data ? (
        <>
          <BarChart title="Profiles per step" bars={report.data.steps.map((s) => ({ label: `${s.step}. ${s.label}`, value: s.count, note: `${percent(s.conversion)} of entries` }))} />
          <table>
            <caption>
              Funnel from {report.data.from.slice(0, 10)} to {report.data.to.slice(0, 10)}, window {report.data.window}
            </caption>
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Profiles</th>
                <th scope="col">Conversion</th>
                <th scope="col">From previous</th>
                <th scope="col">Drop-off</th>
                <th scope="col">Median time from previous</th>
              </tr>
            </thead>
            <tbody>
              {report.data.steps.map((s) => (
                <tr key={s.step}>
                  <th scope="row">
                    {s.step}. {s.label}
                  </th>
                  <td>{s.count}</td>
                  <td>{percent(s.conversion)}</td>
                  <td>{percent(s.stepConversion)}</td>
                  <td>{s.dropOff}</td>
                  <td>{duration(s.medianFromPrevious)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </Section>
  );
}
