import { useId, useState } from 'react';
import { ErrorText, Section, SelectField, Status, TextField } from '../../components/common';

interface Answer {
  known: boolean;
  audiences?: string[];
  traits?: Record<string, unknown>;
  computed?: Record<string, unknown>;
  context?: Record<string, unknown>;
  decisions: Record<string, { id?: string; offer: { key: string; content?: unknown } | null; group?: string; reason?: string }>;
}

/** Calls the public POST /v1/personalize as a page would (with a source's write key) and shows the answer. */
export function TryIt({ decisions }: { decisions: string[] }) {
  const [writeKey, setWriteKey] = useState('');
  const [idType, setIdType] = useState<'userId' | 'anonymousId'>('userId');
  const [visitor, setVisitor] = useState('');
  const [path, setPath] = useState('/');
  const [chosen, setChosen] = useState<string[]>([]);
  const [answer, setAnswer] = useState<Answer>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const groupId = useId();
  const tryIt = async () => {
    setStatus('Asking /v1/personalize…');
    try {
      const res = await fetch('/v1/personalize', {
        method: 'POST',
        // text/plain with the key in the body: the "simple" request a page on another origin would send.
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ writeKey, [idType]: visitor, decisions: chosen.filter((d) => decisions.includes(d)), context: { page: { path } } }),
      });
      const body = (await res.json()) as Answer & { error?: { message?: string; path?: string } };
      if (!res.ok) throw new Error(`${body.error?.message ?? `${res.status} ${res.statusText}`}${body.error?.path ? ` (${body.error.path})` : ''}`);
      setAnswer(body);
      setError(undefined);
      setStatus(body.known ? 'A known visitor.' : 'An unknown visitor: no profile holds this id yet.');
    } catch (e) {
      setAnswer(undefined);
      setStatus(undefined);
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <Section title="Try it">
      <p>Asks the public <code>POST /v1/personalize</code> exactly as a page would: with a source's write key (the source list shows only its start; use the key shown when the source was created).</p>
      <div className="row">
        <TextField label="Write key" value={writeKey} onChange={setWriteKey} autoComplete="off" />
        <SelectField label="Visitor id type" value={idType} options={['userId', 'anonymousId'] as const} onChange={setIdType} />
        <TextField label="Visitor id" value={visitor} onChange={setVisitor} />
        <TextField label="Page path" value={path} onChange={setPath} />
      </div>
      {decisions.length ? (
        <fieldset aria-labelledby={groupId}>
          <legend id={groupId}>Decision points to ask for</legend>
          {decisions.map((d) => (
            <label key={d} className="check">
              <input type="checkbox" checked={chosen.includes(d)} onChange={(e) => setChosen(e.target.checked ? [...chosen, d] : chosen.filter((x) => x !== d))} /> {d}
            </label>
          ))}
        </fieldset>
      ) : null}
      <button type="button" onClick={tryIt}>
        Personalize
      </button>
      <ErrorText error={error} />
      <Status text={status} />
      {answer ? (
        <div role="group" aria-label="Answer">
          <h3>Audiences</h3>
          {answer.audiences?.length ? (
            <ul aria-label="Audiences of the visitor">
              {answer.audiences.map((a) => (
                <li key={a}>{a}</li>
              ))}
            </ul>
          ) : (
            <p>None exposed (the personalization settings list which audiences a page may see).</p>
          )}
          {Object.keys(answer.decisions).length ? (
            <>
              <h3>Decisions</h3>
              <ul aria-label="Decisions">
                {Object.entries(answer.decisions).map(([key, d]) => (
                  <li key={key}>
                    {key}: {d.offer ? `offer ${d.offer.key}` : `no offer (${d.reason ?? 'none'})`}
                    {d.group ? ` · ${d.group}` : ''}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          <h3>Whole answer</h3>
          <pre>{JSON.stringify(answer, null, 2)}</pre>
        </div>
      ) : null}
    </Section>
  );
}
