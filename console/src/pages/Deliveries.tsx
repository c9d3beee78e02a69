import { useState } from 'react';
import { api, describe, qs } from '../api';
import { ErrorText, Section, SelectField, Status, TextField, useLoad, when } from '../components/common';
import { beforePage, Pager, usePaged } from '../components/paging';
import { Link } from '../router';
import { useCanWrite } from '../session';

interface Delivery {
  id: string; seq: number; profileId: string; channel: string; template: string | null; journey: string | null; node: string | null;
  state: 'pending' | 'done' | 'dead'; status: string; attempts: number; lastError: string | null; createdAt: string; updatedAt: string;
}
interface Detail extends Delivery { log: { status: string; at: string; attempt?: number; detail?: Record<string, unknown> }[] }

const PAGE = 50;
const STATES = ['', 'pending', 'done', 'dead'] as const;
const STATUSES = ['', 'queued', 'sent', 'delivered', 'failed', 'bounced', 'suppressed', 'opened', 'clicked'] as const;

function DeliveryDetail({ id, onRetried }: { id: string; onRetried(): void }) {
  const canWrite = useCanWrite();
  const detail = useLoad(() => api<Detail>(`/deliveries/${encodeURIComponent(id)}`), [id]);
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const retry = async () => {
    try {
      await api(`/deliveries/${encodeURIComponent(id)}/retry`, { json: {} });
      setStatus(`Message ${id} queued again.`);
      setError(undefined);
      detail.reload();
      onRetried();
    } catch (e) {
      setError(describe(e));
    }
  };
  const d = detail.data;
  return (
    <Section title={`Message ${id}`}>
      <ErrorText error={detail.error ?? error} />
      {d ? (
        <>
          <p>
            {d.channel}{d.template ? ` · template ${d.template}` : ''}{d.journey ? ` · journey ${d.journey} (${d.node ?? ''})` : ''} · to{' '}
            <Link to={`/profiles/${encodeURIComponent(d.profileId)}`}>{d.profileId}</Link> · {d.state} / {d.status} · {d.attempts} attempt(s)
          </p>
          {d.lastError ? <p className="error">Last error: {d.lastError}</p> : null}
          <ol aria-label="Delivery log">
            {d.log.map((e, i) => (
              <li key={i}>{when(e.at)} · {e.status}{e.attempt ? ` (attempt ${e.attempt})` : ''} {e.detail && Object.keys(e.detail).length ? <code>{JSON.stringify(e.detail)}</code> : null}</li>
            ))}
          </ol>
          {canWrite && d.state !== 'pending' && (d.state === 'dead' || d.status === 'failed') ? <button type="button" onClick={retry}>Retry message {id}</button> : null}
        </>
      ) : null}
      <Status text={status} />
    </Section>
  );
}

/** Messages sent by journeys and the API, newest first, paged by `before` (the last seq shown); dead letters can be retried. */
export function Deliveries() {
  const [state, setState] = useState<(typeof STATES)[number]>('');
  const [status, setStatus] = useState<(typeof STATUSES)[number]>('');
  const [channel, setChannel] = useState('');
  const [profile, setProfile] = useState('');
  const [filters, setFilters] = useState({ state: '', status: '', channel: '', profile: '' });
  const [selected, setSelected] = useState<string>();
  const list = usePaged(async (before: number | undefined) => beforePage((await api<{ data: Delivery[] }>(`/deliveries?${qs({ ...filters, before, limit: PAGE })}`)).data, PAGE, (d) => d.seq), [filters]);
  return (
    <>
      <h1>Deliveries</h1>
      <form className="row" aria-label="Filter messages" onSubmit={(e) => (e.preventDefault(), setFilters({ state, status, channel: channel.trim(), profile: profile.trim() }))}>
        <SelectField label="State" value={state} options={STATES.map((s) => ({ value: s, label: s || 'any' }))} onChange={setState} />
        <SelectField label="Status" value={status} options={STATUSES.map((s) => ({ value: s, label: s || 'any' }))} onChange={setStatus} />
        <TextField label="Channel" value={channel} onChange={setChannel} />
        <TextField label="Profile id" value={profile} onChange={setProfile} />
        <button type="submit">Show messages</button>
      </form>
      <ErrorText error={list.error} />
      <table>
        <caption>Messages, newest first, page {list.number}</caption>
        <thead><tr><th scope="col">Message</th><th scope="col">Channel</th><th scope="col">Template</th><th scope="col">Journey</th><th scope="col">State</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Created</th></tr></thead>
        <tbody>
          {list.items?.map((d) => (
            <tr key={d.id} aria-current={d.id === selected ? 'true' : undefined}>
              <td><button type="button" className="link" onClick={() => setSelected(d.id)} aria-label={`Inspect message ${d.id}`}>{d.id}</button></td>
              <td>{d.channel}</td><td>{d.template ?? '—'}</td><td>{d.journey ?? '—'}</td><td>{d.state}</td><td>{d.status}</td><td>{d.attempts}</td><td>{when(d.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.items?.length === 0 ? <p>No message matches.</p> : null}
      <Pager label="Messages" paged={list} />
      {selected ? <DeliveryDetail key={selected} id={selected} onRetried={list.reload} /> : null}
    </>
  );
}
