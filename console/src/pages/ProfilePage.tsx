import { useState } from 'react';
import { api, describe } from '../api';
import { ErrorText, Section, Status, useLoad, when } from '../components/common';
import { beforePage, Pager, usePaged } from '../components/paging';
import { IdentityGraph } from '../components/IdentityGraph';
import { navigate } from '../router';
import { useCanWrite } from '../session';

interface Profile {
  id: string;
  identifiers: { type: string; value: string; firstSeen: string; lastSeen: string }[];
  traits: Record<string, unknown>;
  lineage: Record<string, { rule: string; source: string; messageId: string; time: string }>;
  computed: Record<string, unknown>;
  audiences: string[];
  mergedFrom: string[];
  firstSeen: string;
  lastSeen: string;
}
interface TimelineEvent { id: number; source: string; message: Record<string, unknown> }
interface Instance { journey: string; status: string; node: string; enteredAt: number | string }

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export function ProfilePage({ id }: { id: string }) {
  const canWrite = useCanWrite();
  const profile = useLoad(() => api<Profile>(`/profiles/${encodeURIComponent(id)}`), [id]);
  const graph = useLoad(() => api<Parameters<typeof IdentityGraph>[0]['graph']>(`/profiles/${encodeURIComponent(id)}/graph`), [id]);
  const timeline = usePaged(async (before: number | undefined) => beforePage((await api<{ data: TimelineEvent[] }>(`/profiles/${encodeURIComponent(id)}/events?limit=50${before ? `&before=${before}` : ''}`)).data, 50, (e) => e.id), [id]);
  const journeys = useLoad(() => api<{ data?: Instance[]; instances?: Instance[] }>(`/profiles/${encodeURIComponent(id)}/trace`).catch((): { data?: Instance[]; instances?: Instance[] } => ({ data: [] })), [id]);
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const exportData = async () => {
    try {
      const data = await api(`/profiles/${encodeURIComponent(id)}/export`);
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `profile-${id}.json`;
      a.click();
      URL.revokeObjectURL(url);
      setStatus('Export downloaded.');
    } catch (e) {
      setError(describe(e));
    }
  };
  const erase = async () => {
    if (!window.confirm(`Erase profile ${id} and everything held about this person? This cannot be undone.`)) return;
    try {
      await api(`/profiles/${encodeURIComponent(id)}`, { method: 'DELETE' });
      navigate('/profiles');
    } catch (e) {
      setError(describe(e));
    }
  };
  if (profile.error) return <ErrorText error={profile.error} />;
  const p = profile.data;
  if (!p) return <p>Loading…</p>;
  const instances = journeys.data ? (journeys.data.instances ?? journeys.data.data ?? []) : [];
  return (
    <>
      <h1>Profile {p.id}</h1>
      <p>
        First seen {when(p.firstSeen)} · last seen {when(p.lastSeen)}
        {p.mergedFrom.length ? ` · merged from ${p.mergedFrom.join(', ')}` : ''}
      </p>
      <div className="row">
        <button type="button" onClick={exportData}>Export data</button>
        {canWrite ? <button type="button" className="danger" onClick={erase}>Delete profile</button> : null}
      </div>
      <ErrorText error={error} />
      <Status text={status} />
      <div className="grid">
        <Section title="Identifiers">
          <ul>
            {p.identifiers.map((i) => (
              <li key={`${i.type}:${i.value}`}>
                {i.type}: <strong>{i.value}</strong> (seen {when(i.firstSeen)} – {when(i.lastSeen)})
              </li>
            ))}
          </ul>
          {graph.data ? <IdentityGraph graph={graph.data} /> : <ErrorText error={graph.error} />}
        </Section>
        <Section title="Traits">
          <table>
            <caption>Traits with lineage</caption>
            <thead><tr><th scope="col">Trait</th><th scope="col">Value</th><th scope="col">Set by</th></tr></thead>
            <tbody>
              {Object.entries(p.traits).map(([k, v]) => (
                <tr key={k}>
                  <td>{k}</td><td>{show(v)}</td>
                  <td>{p.lineage[k] ? `${p.lineage[k].rule} rule, source ${p.lineage[k].source}, ${when(p.lineage[k].time)}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
        <Section title="Computed traits">
          {Object.keys(p.computed).length === 0 ? <p>None.</p> : null}
          <dl>
            {Object.entries(p.computed).map(([k, v]) => (
              <div key={k}><dt>{k}</dt><dd>{show(v)}</dd></div>
            ))}
          </dl>
        </Section>
        <Section title="Audiences and journeys">
          <p>Audiences: {p.audiences.length ? p.audiences.join(', ') : 'none'}</p>
          <ul>
            {instances.map((j, i) => (
              <li key={i}>journey {j.journey}: {j.status} at {j.node}</li>
            ))}
          </ul>
        </Section>
      </div>
      <Section title="Event timeline">
        <ErrorText error={timeline.error} />
        <ol className="timeline">
          {timeline.items?.map((e) => (
            <li key={e.id}>
              <time dateTime={String(e.message.timestamp ?? '')}>{when(String(e.message.timestamp ?? e.message.receivedAt ?? ''))}</time>{' '}
              <strong>{String(e.message.type)}</strong> {String(e.message.event ?? e.message.name ?? '')} <small>({e.source})</small>
            </li>
          ))}
        </ol>
        <Pager label="Event timeline" paged={timeline} />
      </Section>
    </>
  );
}
