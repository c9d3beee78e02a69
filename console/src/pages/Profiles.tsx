import { useState } from 'react';
import { api, describe, qs } from '../api';
import { ErrorText, SelectField, TextField } from '../components/common';
import { Link, navigate } from '../router';

interface ProfileSummary { id: string; identifiers: { type: string; value: string }[]; traits: Record<string, unknown> }
const TYPES = ['email', 'user_id', 'anonymous_id', 'phone', 'device_id', 'any'] as const;

/** Search by any identifier: an exact lookup by type (follows merges), or a prefix / trait search server-side. */
export function Profiles() {
  const [type, setType] = useState<(typeof TYPES)[number]>('email');
  const [value, setValue] = useState('');
  const [results, setResults] = useState<ProfileSummary[]>();
  const [error, setError] = useState<string>();
  const search = async () => {
    setError(undefined);
    try {
      if (type !== 'any') {
        const profile = await api<ProfileSummary>(`/profiles/lookup?${qs({ type, value })}`);
        navigate(`/profiles/${encodeURIComponent(profile.id)}`);
        return;
      }
      setResults((await api<{ data: ProfileSummary[] }>(`/profiles?${qs({ q: value, limit: 50 })}`)).data);
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <>
      <h1>Profiles</h1>
      <form className="row" onSubmit={(e) => (e.preventDefault(), void search())} role="search" aria-label="Find a profile">
        <SelectField label="Identifier type" value={type} options={TYPES.map((t) => ({ value: t, label: t === 'any' ? 'any (prefix or trait value)' : t }))} onChange={setType} />
        <TextField label="Identifier" value={value} onChange={setValue} required />
        <button type="submit">Find profile</button>
      </form>
      <ErrorText error={error} />
      {results ? (
        <ul>
          {results.length === 0 ? <li>No profile matches.</li> : null}
          {results.map((p) => (
            <li key={p.id}>
              <Link to={`/profiles/${encodeURIComponent(p.id)}`}>{p.id}</Link> {p.identifiers.map((i) => `${i.type}: ${i.value}`).join(', ')}
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}
