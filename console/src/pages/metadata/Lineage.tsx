import { useEffect, useState } from 'react';
import { api, describe, qs } from '../../api';
import { ErrorText, Section, SelectField, TextField } from '../../components/common';

type Target = 'property' | 'event' | 'trait' | 'computed' | 'definition';
export interface LineageQuery { target: Target; event: string; name: string }
interface Entry { kind: string; key: string; paths: string[] }
interface Answer { target: string; usedBy: Entry[]; downstream: (Entry & { via: string })[]; destinations: string[]; producedBy: Entry[]; uses?: { target: string; path: string }[] }

const entryText = (e: Entry) => `${e.kind}/${e.key}${e.paths.length ? `: ${e.paths.join(', ')}` : ''}`;

/** What uses an event, a property, a trait, a computed trait or a definition (GET /lineage). */
export function Lineage(props: { query?: LineageQuery }) {
  const [q, setQ] = useState<LineageQuery>(props.query ?? { target: 'property', event: '', name: '' });
  const [answer, setAnswer] = useState<Answer>();
  const [error, setError] = useState<string>();
  const run = async (query: LineageQuery) => {
    try {
      const params =
        query.target === 'property' ? { event: query.event || undefined, property: query.name } : query.target === 'event' ? { event: query.name } : { [query.target]: query.name };
      setAnswer(await api<Answer>(`/lineage?${qs(params)}`));
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    }
  };
  useEffect(() => {
    if (props.query) {
      setQ(props.query);
      void run(props.query);
    }
  }, [props.query]);
  return (
    <Section title="Lineage">
      <div className="row">
        <SelectField label="Lineage of" value={q.target} options={['property', 'event', 'trait', 'computed', 'definition'] as const} onChange={(target) => setQ({ ...q, target })} />
        {q.target === 'property' ? <TextField label="Of event (empty: any event)" value={q.event} onChange={(event) => setQ({ ...q, event })} /> : null}
        <TextField label={q.target === 'definition' ? 'Definition (kind/key)' : `${q.target[0].toUpperCase()}${q.target.slice(1)} name`} value={q.name} onChange={(name) => setQ({ ...q, name })} />
        <button type="button" onClick={() => run(q)}>
          Show lineage
        </button>
      </div>
      <ErrorText error={error} />
      {answer ? (
        <div aria-label={`Lineage of ${answer.target}`} role="group">
          <h3>Lineage of {answer.target}</h3>
          {answer.usedBy.length + answer.downstream.length + answer.producedBy.length + (answer.uses?.length ?? 0) === 0 ? <p>No definition uses it.</p> : null}
          {answer.producedBy.length ? <p>Produced by: {answer.producedBy.map(entryText).join('; ')}</p> : null}
          {answer.usedBy.length ? (
            <>
              <p>Used by:</p>
              <ul>
                {answer.usedBy.map((e) => (
                  <li key={`${e.kind}/${e.key}`}>{entryText(e)}</li>
                ))}
              </ul>
            </>
          ) : null}
          {answer.downstream.length ? (
            <>
              <p>Downstream:</p>
              <ul>
                {answer.downstream.map((e) => (
                  <li key={`${e.kind}/${e.key}`}>
                    {entryText(e)} (via {e.via})
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          {answer.destinations.length ? <p>Sent through: {answer.destinations.join(', ')}</p> : null}
          {answer.uses?.length ? (
            <>
              <p>Uses:</p>
              <ul>
                {answer.uses.map((u) => (
                  <li key={`${u.target}@${u.path}`}>
                    {u.target} at {u.path}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </div>
      ) : null}
    </Section>
  );
}
