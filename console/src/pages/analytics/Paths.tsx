import { useState } from 'react';
import { percent } from '../../components/csv-download';
import { Section, SelectField, TextField } from '../../components/common';
import { names, ReportActions, useReport, withRange, type Range } from './report';

interface PathsAnswer { anchor: string; direction: 'after' | 'before'; anchored: number; noEvents: number; paths: { path: string[]; profiles: number; share: number }[] }

/** Top paths after (or before) an anchor event. */
export function Paths({ range }: { range: Range }) {
  const [anchor, setAnchor] = useState('');
  const [direction, setDirection] = useState<'after' | 'before'>('after');
  const [steps, setSteps] = useState('3');
  const [exclude, setExclude] = useState('Audience Entered, Audience Exited');
  const report = useReport<PathsAnswer>('paths');
  const body = () => withRange(range, { anchor: { event: anchor.trim() }, direction, steps: Number(steps), exclude: names(exclude) });
  const data = report.data;
  return (
    <Section title="Paths">
      <div className="row">
        <TextField label="Anchor event" value={anchor} onChange={setAnchor} />
        <SelectField label="Direction" value={direction} options={['after', 'before'] as const} onChange={setDirection} />
        <TextField label="Events per path" type="number" value={steps} onChange={setSteps} />
        <TextField label="Leave out (comma-separated)" value={exclude} onChange={setExclude} />
      </div>
      <ReportActions name="paths" busy={report.busy} onRun={() => report.run(body())} onCsv={() => report.csv(body())} error={report.error} status={report.status} />
      {data ? (
        <>
          <p>
            {data.anchored} profiles did {data.anchor}; {data.noEvents} did nothing {data.direction} it.
          </p>
          <ol aria-label="Top paths">
            {data.paths.map((p, i) => (
              <li key={i}>
                {data.direction === 'after' ? [data.anchor, ...p.path].join(' → ') : [...p.path, data.anchor].join(' → ')}: {p.profiles} profiles ({percent(p.share)})
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </Section>
  );
}
