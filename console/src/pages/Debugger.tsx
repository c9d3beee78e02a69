import { useEffect, useState } from 'react';
import { api, qs } from '../api';
import { ErrorText, Section, SelectField, Status, TextField } from '../components/common';
import { beforePage, Pager, usePaged } from '../components/paging';

interface Live { id: number; source: string; violations: unknown[]; message: Record<string, unknown> }

const PAGE = 50;
const TYPES = ['', 'track', 'identify', 'page', 'screen', 'group', 'alias'] as const;

function EventLine({ e }: { e: Live }) {
  return (
    <details>
      <summary>
        #{e.id} {String(e.message.type)} {String(e.message.event ?? '')} · {e.source} · {String(e.message.userId ?? e.message.anonymousId ?? '')}
        {e.violations.length ? ` · ${e.violations.length} violation(s)` : ''}
      </summary>
      <pre>{JSON.stringify(e.message, null, 2)}</pre>
    </details>
  );
}

/** Stored events, newest first, filtered server-side and paged by `before` (the last id shown). */
function History() {
  const [source, setSource] = useState('');
  const [type, setType] = useState<(typeof TYPES)[number]>('');
  const [event, setEvent] = useState('');
  const [filters, setFilters] = useState({ source: '', type: '', event: '' });
  const list = usePaged(async (before: number | undefined) => beforePage((await api<{ data: Live[] }>(`/events?${qs({ ...filters, before, limit: PAGE })}`)).data, PAGE, (e) => e.id), [filters]);
  return (
    <Section title="Event history">
      <form className="row" aria-label="Filter stored events" onSubmit={(e) => (e.preventDefault(), setFilters({ source: source.trim(), type, event: event.trim() }))}>
        <TextField label="Source key" value={source} onChange={setSource} />
        <SelectField label="Message type" value={type} options={TYPES.map((t) => ({ value: t, label: t || 'any' }))} onChange={setType} />
        <TextField label="Event name" value={event} onChange={setEvent} />
        <button type="submit">Show events</button>
      </form>
      <ErrorText error={list.error} />
      <ol className="events" aria-label="Stored events">
        {list.items?.map((e) => (
          <li key={e.id}><EventLine e={e} /></li>
        ))}
      </ol>
      {list.items?.length === 0 ? <p>No stored event matches.</p> : null}
      <Pager label="Event history" paged={list} />
    </Section>
  );
}

/** The live event debugger: each stored event as it arrives, over server-sent events (the session cookie signs it). */
export function Debugger() {
  const [events, setEvents] = useState<Live[]>([]);
  const [connected, setConnected] = useState('Connecting…');
  const [filter, setFilter] = useState('');
  const [paused, setPaused] = useState(false);
  useEffect(() => {
    if (paused) return;
    const stream = new EventSource('/api/v1/events/stream');
    stream.onopen = () => setConnected('Connected: new events appear at the top.');
    stream.onerror = () => setConnected('Disconnected; retrying…');
    stream.addEventListener('event', (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as Live;
      setEvents((list) => [event, ...list].slice(0, 200));
    });
    return () => stream.close();
  }, [paused]);
  const shown = filter ? events.filter((e) => JSON.stringify(e.message).toLowerCase().includes(filter.toLowerCase())) : events;
  return (
    <>
      <h1>Live events</h1>
      <Status text={paused ? 'Paused.' : connected} />
      <div className="row">
        <TextField label="Filter" value={filter} onChange={setFilter} />
        <button type="button" onClick={() => setPaused(!paused)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
      </div>
      <Section title="Events">
        <ol className="events" aria-live="polite">
          {shown.map((e) => (
            <li key={e.id}>
              <EventLine e={e} />
            </li>
          ))}
        </ol>
      </Section>
      <History />
    </>
  );
}
