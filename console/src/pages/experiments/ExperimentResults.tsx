import { api } from '../../api';
import { BarChart } from '../../components/BarChart';
import { ErrorText, Section, useLoad, when } from '../../components/common';

/** GET /experiments/<key>/results (src/experiments/results.ts). */
interface Interval { estimate: number; low: number; high: number }
interface ArmResult {
  arm: string; control: boolean; n: number; value: number; sd: number; difference?: Interval; lift?: Interval; pValue?: number; pValueAdjusted?: number;
  sequential?: Interval & { pValue: number }; chanceToBeatControl: number; chanceToBeBest: number; expectedLoss: number;
}
interface MetricResult { key: string; name?: string; type: string; event: string; within: string; primary: boolean; guardrail: boolean; direction: string; arms: ArmResult[] }
interface Results {
  experiment: string; control: string; alpha: number; computedAt?: string; exposures: Record<string, number>; crossovers: number;
  srm: { pValue: number; status: string }; metrics: MetricResult[]; recommendation: { decision: string; arm?: string; reasons: string[] };
}

const pct = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}%`;
const num = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
const p = (v?: number) => (v === undefined ? '–' : v < 0.001 ? '< 0.001' : v.toFixed(3));
const DECISIONS: Record<string, string> = { ship: 'Ship', keep_control: 'Keep the control', keep_running: 'Keep running', invalid: 'Invalid: check the sample ratio', no_data: 'No data yet' };

function MetricTable({ m }: { m: MetricResult }) {
  const value = (v: number) => (m.type === 'conversion' ? pct(v) : num(v));
  const diff = (i?: Interval) => (i ? `${m.type === 'conversion' ? pct(i.estimate) : num(i.estimate)} [${m.type === 'conversion' ? pct(i.low) : num(i.low)}, ${m.type === 'conversion' ? pct(i.high) : num(i.high)}]` : '–');
  const title = `${m.name ?? m.key}${m.primary ? ' (primary)' : ''}${m.guardrail ? ' (guardrail)' : ''}`;
  return (
    <>
      <table>
        <caption>
          {title}: {m.type} of {m.event} within {m.within}
        </caption>
        <thead>
          <tr>
            <th scope="col">Arm</th><th scope="col">Exposed</th><th scope="col">{m.type === 'conversion' ? 'Rate' : 'Mean'}</th><th scope="col">Difference [interval]</th>
            <th scope="col">Lift</th><th scope="col">p-value</th><th scope="col">Always-valid p</th><th scope="col">Chance to beat control</th><th scope="col">Chance to be best</th>
          </tr>
        </thead>
        <tbody>
          {m.arms.map((a) => (
            <tr key={a.arm}>
              <th scope="row">{a.arm}{a.control ? ' (control)' : ''}</th>
              <td>{a.n}</td>
              <td>{value(a.value)}</td>
              <td>{a.control ? '–' : diff(a.difference)}</td>
              <td>{a.lift ? `${pct(a.lift.estimate)} [${pct(a.lift.low)}, ${pct(a.lift.high)}]` : '–'}</td>
              <td>{p(a.pValueAdjusted ?? a.pValue)}</td>
              <td>{p(a.sequential?.pValue)}</td>
              <td>{a.control ? '–' : pct(a.chanceToBeatControl, 0)}</td>
              <td>{pct(a.chanceToBeBest, 0)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <BarChart title={`${m.name ?? m.key} per arm`} bars={m.arms.map((a) => ({ label: a.arm, value: a.value, note: `n ${a.n}` }))} format={value} />
    </>
  );
}

/** The results as tables and charts: the recommendation, exposures, the sample ratio check and each metric per arm. */
export function ExperimentResults({ experiment }: { experiment: string }) {
  const results = useLoad(() => api<Results>(`/experiments/${encodeURIComponent(experiment)}/results`), [experiment]);
  const r = results.data;
  return (
    <Section title="Results" actions={<button type="button" className="secondary" onClick={results.reload}>Refresh results</button>}>
      <ErrorText error={results.error} />
      {r ? (
        <>
          <p className="recommendation" role="status" aria-label="Recommendation">
            <strong>
              {DECISIONS[r.recommendation.decision] ?? r.recommendation.decision}
              {r.recommendation.arm ? ` ${r.recommendation.arm}` : ''}
            </strong>
            {r.recommendation.reasons.length ? ` — ${r.recommendation.reasons.join('; ')}` : ''}
          </p>
          <table>
            <caption>Exposures per arm</caption>
            <thead>
              <tr><th scope="col">Arm</th><th scope="col">Exposed profiles</th></tr>
            </thead>
            <tbody>
              {Object.entries(r.exposures).map(([arm, n]) => (
                <tr key={arm}><th scope="row">{arm}{arm === r.control ? ' (control)' : ''}</th><td>{n}</td></tr>
              ))}
            </tbody>
          </table>
          <p>
            Sample ratio check: {r.srm.status} (p = {p(r.srm.pValue)}). Crossovers left out: {r.crossovers}. Significance level {r.alpha}.
            {r.computedAt ? ` Computed ${when(r.computedAt)}.` : ''}
          </p>
          {r.metrics.map((m) => (
            <MetricTable key={m.key} m={m} />
          ))}
        </>
      ) : results.loading ? (
        <p>Loading results…</p>
      ) : null}
    </Section>
  );
}
