import { useState } from 'react';
import { api, describe } from '../api';
import { ErrorText, JsonField, Section, Status, useLoad } from '../components/common';
import { useCanWrite } from '../session';
import { Decisions, type Decision } from './personalization/Decisions';
import { TryIt } from './personalization/TryIt';

/** What POST /v1/personalize may return about a visitor (GET/PUT /personalization). */
function Exposure() {
  const canWrite = useCanWrite();
  const settings = useLoad(() => api<Record<string, unknown>>('/personalization'), []);
  const [draft, setDraft] = useState<unknown>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const save = async () => {
    try {
      await api('/personalization', { method: 'PUT', json: draft ?? settings.data ?? {} });
      setError(undefined);
      setStatus('Saved what a page may see.');
      settings.reload();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <Section title="What a page may see">
      <p>
        Audiences, computed traits and (only with <code>allowPersonalData</code>) traits that the answer may carry; <code>["*"]</code> for all.
      </p>
      <ErrorText error={settings.error} />
      {settings.data ? <JsonField label="Personalization settings (JSON)" value={settings.data} onValid={setDraft} rows={8} readOnly={!canWrite} /> : null}
      {canWrite ? (
        <button type="button" onClick={save}>
          Save settings
        </button>
      ) : null}
      <ErrorText error={error} />
      <Status text={status} />
    </Section>
  );
}

/** Decision points, exposure settings and a live "try it" of POST /v1/personalize (docs/personalization.md). */
export function Personalization() {
  const decisions = useLoad(() => api<{ data: Decision[] }>('/decisions'), []);
  return (
    <>
      <h1>Personalization</h1>
      <TryIt decisions={(decisions.data?.data ?? []).map((d) => d.key)} />
      <Exposure />
      <Decisions list={decisions} />
    </>
  );
}
