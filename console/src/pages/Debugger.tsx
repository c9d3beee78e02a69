import { useEffect, useState } from 'react';
import { Section, Status, TextField } from '../components/common';

interface Live { id: number; source: string; violations: unknown[]; message: Record<string, unknown> }

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
              <details>
                <summary>
                  #{e.id} {String(e.message.type)} {String(e.message.event ?? '')} · {e.source} · {String(e.message.userId ?? e.message.anonymousId ?? '')}
                  {e.violations.length ? ` · ${e.violations.length} violation(s)` : ''}
                </summary>
                <pre>{JSON.stringify(e.message, null, 2)}</pre>
              </details>
            </li>
          ))}
        </ol>
      </Section>
    </>
  );
}
