import { useState } from 'react';
import { api, describe } from '../api';
import { ErrorText, JsonField, Section, SelectField, Status, TextField, useLoad } from '../components/common';
import { useCanWrite } from '../session';

type Template = { key: string; channel: string } & Record<string, unknown>;
interface Rendered { variant: string; subject?: string; text?: string; html?: string; body?: string }

/** Liquid / MJML templates: edit, save, and preview rendered for a real profile. */
export function Templates() {
  const canWrite = useCanWrite();
  const list = useLoad(() => api<{ data: Template[] }>('/templates'), []);
  const [selected, setSelected] = useState('');
  const [draft, setDraft] = useState<unknown>();
  const [profileId, setProfileId] = useState('');
  const [rendered, setRendered] = useState<Rendered>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const current = list.data?.data.find((t) => t.key === selected);
  const save = async () => {
    try {
      const body = (draft ?? current) as Template;
      await api(current ? `/templates/${encodeURIComponent(current.key)}` : '/templates', { method: current ? 'PUT' : 'POST', json: body });
      setStatus(`Saved template '${body.key}'.`);
      setError(undefined);
      list.reload();
      setSelected(body.key);
    } catch (e) {
      setError(describe(e));
    }
  };
  const preview = async () => {
    try {
      setRendered(await api<Rendered>(`/templates/${encodeURIComponent(selected)}/render`, { json: profileId ? { profileId } : {} }));
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <>
      <h1>Templates</h1>
      <ErrorText error={list.error} />
      <SelectField label="Template" value={selected} options={[{ value: '', label: canWrite ? 'New template…' : 'Choose' }, ...(list.data?.data ?? []).map((t) => ({ value: t.key, label: `${t.key} (${t.channel})` }))]} onChange={(v) => (setSelected(v), setDraft(undefined), setRendered(undefined))} />
      <div className="grid">
        <Section title="Edit">
          <JsonField key={selected} label="Template (JSON: subject, mjml or html, text, body, locales)" value={current ?? { key: 'welcome', channel: 'email', subject: 'Welcome, {{ traits.first_name }}', mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ traits.first_name }}</mj-text></mj-column></mj-section></mj-body></mjml>' }} onValid={setDraft} rows={18} readOnly={!canWrite} />
          {canWrite ? <button type="button" onClick={save}>Save template</button> : null}
          <Status text={status} />
        </Section>
        <Section title="Preview">
          <form className="row" onSubmit={(e) => (e.preventDefault(), void preview())} aria-label="Preview">
            <TextField label="Profile id (empty: sample)" value={profileId} onChange={setProfileId} />
            <button type="submit" disabled={!current}>Render preview</button>
          </form>
          {rendered ? (
            <>
              {rendered.subject !== undefined ? <p>Subject: <strong>{rendered.subject}</strong> (variant {rendered.variant})</p> : null}
              {rendered.html ? <iframe title="Rendered HTML" sandbox="" srcDoc={rendered.html} className="preview" /> : null}
              {rendered.text ?? rendered.body ? <pre>{rendered.text ?? rendered.body}</pre> : null}
            </>
          ) : null}
        </Section>
      </div>
      <ErrorText error={error} />
    </>
  );
}
