import { useState } from 'react';
import { api, describe, qs } from '../api';
import { ErrorText, Section, SelectField, TextField } from '../components/common';
import { Pager, usePaged } from '../components/paging';
import { Link, navigate } from '../router';

interface ProfileSummary { id: string; identifiers: { type: string; value: string }[]; traits: Record<string, unknown>; lastSeen?: string }
const TYPES = ['email', 'user_id', 'anonymous_id', 'phone', 'device_id', 'any'] as const;
const PAGE = 25;

/**
 * Every profile, a page at a time, or a search: an exact lookup by identifier type (follows merges), or a prefix /
 * trait-value search. Both are server-side and keyset-paged (`after` = the answer's `next`), so they stay fast on
 * millions of profiles.
 */
export function Profiles() {
  const [type, setType] = useState<(typeof TYPES)[number]>('any');
  const [value, setValue] = useState('');
  const [query, setQuery] = useState('');
  const [error, setError] = useState<string>();
  const paged = usePaged(async (after: string | undefined) => {
    const page = await api<{ data: ProfileSummary[]; next?: string }>(`/profiles?${qs({ q: query, after, limit: PAGE })}`);
    return { items: page.data, next: page.next };
  }, [query]);
  const search = async () => {
    setError(undefined);
    try {
      if (type !== 'any') {
        const profile = await api<ProfileSummary>(`/profiles/lookup?${qs({ type, value })}`);
        navigate(`/profiles/${encodeURIComponent(profile.id)}`);
        return;
      }
      setQuery(value.trim());
    } catch (e) {
      setError(describe(e));
    }
  };
  const title = query ? `Profiles matching “${query}”` : 'All profiles';
  return (
    <>
      <h1>Profiles</h1>
      <form className="row" onSubmit={(e) => (e.preventDefault(), void search())} role="search" aria-label="Find a profile">
        <SelectField label="Identifier type" value={type} options={TYPES.map((t) => ({ value: t, label: t === 'any' ? 'any (prefix or trait value)' : `${t} (exact)` }))} onChange={setType} />
        <TextField label="Identifier" value={value} onChange={setValue} required={type !== 'any'} />
        <button type="submit">Find profile</button>
        {query ? (
          <button type="button" className="secondary" onClick={() => (setValue(''), setQuery(''))}>
            Show all profiles
          </button>
        ) : null}
      </form>
      <ErrorText error={error ?? paged.error} />
      <Section title={title}>
        <table>
          <caption>{title}, page {paged.number}</caption>
          <thead><tr><th scope="col">Profile</th><th scope="col">Identifiers</th><th scope="col">Traits</th></tr></thead>
          <tbody>
            {paged.items?.map((p) => (
              <tr key={p.id}>
                <td><Link to={`/profiles/${encodeURIComponent(p.id)}`}>{p.id}</Link></td>
                <td>{p.identifiers.map((i) => `${i.type}: ${i.value}`).join(', ')}</td>
                <td>{Object.entries(p.traits).slice(0, 4).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {paged.items?.length === 0 ? <p>No profile matches.</p> : null}
        <Pager label="Profiles" paged={paged} />
      </Section>
    </>
  );
}
