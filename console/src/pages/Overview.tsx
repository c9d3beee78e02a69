import { useState } from 'react';
import { api, qs } from '../api';
import { ErrorText, Section, SelectField, useLoad, when } from '../components/common';
import { LineChart } from '../components/LineChart';
import { Link } from '../router';

interface Series { timestamps: string[]; series: { labels: Record<string, string>; values: (number | null)[] }[] }
interface Incident { id: number; rule: string; severity: string; summary: string; state: string; openedAt: string; acknowledgedAt: string | null }

const RANGES = { '1h': { ms: 3_600_000, step: '1m' }, '24h': { ms: 86_400_000, step: '15m' }, '7d': { ms: 7 * 86_400_000, step: '1h' } } as const;
type Range = keyof typeof RANGES;
const CHARTS: { metric: string; title: string; aggregate?: string; groupBy?: string }[] = [
  { metric: 'events', title: 'Event volume' },
  { metric: 'delivery', title: 'Deliveries', groupBy: 'status' },
  { metric: 'audience_size', title: 'Audience sizes', aggregate: 'last', groupBy: 'audience' },
  { metric: 'journey', title: 'Journey entries and conversions', groupBy: 'kind' },
];

function Chart({ metric, title, aggregate, groupBy, range }: (typeof CHARTS)[number] & { range: Range }) {
  const { data, error } = useLoad(async () => {
    const to = Date.now();
    return api<Series>(`/metrics/series?${qs({ metric, from: new Date(to - RANGES[range].ms).toISOString(), to: new Date(to).toISOString(), step: RANGES[range].step, aggregate, groupBy })}`);
  }, [metric, range]);
  if (error) return <ErrorText error={`${title}: ${error}`} />;
  if (!data) return <p>Loading {title}…</p>;
  const series = data.series.map((s) => ({ label: Object.values(s.labels).join(' ') || metric, values: s.values }));
  return <LineChart title={title} timestamps={data.timestamps} series={series} />;
}

export function Overview() {
  const [range, setRange] = useState<Range>('24h');
  const incidents = useLoad(() => api<{ data: Incident[] }>('/incidents?state=firing'), []);
  return (
    <>
      <h1>Overview</h1>
      <SelectField label="Time range" value={range} options={Object.keys(RANGES) as Range[]} onChange={setRange} />
      <div className="grid">
        {CHARTS.map((c) => (
          <Section key={c.metric} title={c.title}>
            <Chart {...c} range={range} />
          </Section>
        ))}
      </div>
      <Section title="Open alerts">
        <ErrorText error={incidents.error} />
        {incidents.data?.data.length === 0 ? <p>No alert is firing.</p> : null}
        <ul>
          {incidents.data?.data.map((i) => (
            <li key={i.id}>
              <Link to={`/incidents?id=${i.id}`}>
                [{i.severity}] {i.rule}: {i.summary}
              </Link>{' '}
              {when(i.openedAt)}
            </li>
          ))}
        </ul>
      </Section>
    </>
  );
}
