import { useState } from 'react';
import { api, describe } from '../../api';
import { ErrorText, Section, Status, useLoad } from '../../components/common';
import { useCanWrite } from '../../session';

interface Suggestion { target: string; classification: string; piiType?: string; confidence: string; reasons: string[]; samples: string[] }

/** Classification suggestions; confirming one writes its dictionary entry (POST /metadata/suggestions/confirm). */
export function Suggestions(props: { onConfirmed(): void }) {
  const canWrite = useCanWrite();
  const list = useLoad(() => api<{ data: Suggestion[] }>('/metadata/suggestions'), []);
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const confirm = async (s: Suggestion, classification?: string) => {
    try {
      const entry = await api<{ key: string; classification?: string }>('/metadata/suggestions/confirm', { json: { target: s.target, ...(classification ? { classification } : {}) } });
      setError(undefined);
      setStatus(`Dictionary entry '${entry.key}' saved: ${s.target} is ${entry.classification ?? classification ?? s.classification}.`);
      list.reload();
      props.onConfirmed();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <Section title="Classification suggestions">
      <ErrorText error={list.error ?? error} />
      <Status text={status} />
      {list.data?.data.length === 0 ? <p>No field waits for a decision.</p> : null}
      <ul className="suggestions">
        {list.data?.data.map((s) => (
          <li key={s.target}>
            <p>
              <strong>{s.target}</strong>: {s.classification}
              {s.piiType ? ` (${s.piiType})` : ''}, confidence {s.confidence}
            </p>
            <ul>
              {s.reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
            {s.samples.length ? <p>Samples: {s.samples.join(', ')}</p> : null}
            {canWrite ? (
              <div className="row">
                <button type="button" onClick={() => confirm(s)}>
                  Confirm {s.target}
                </button>
                <button type="button" className="secondary" onClick={() => confirm(s, 'none')}>
                  Not personal: {s.target}
                </button>
              </div>
            ) : null}
          </li>
        ))}
      </ul>
    </Section>
  );
}
