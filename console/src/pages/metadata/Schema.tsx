import { api, qs } from '../../api';
import { ErrorText, Section, useLoad, when } from '../../components/common';
import { percent } from '../../components/csv-download';

export interface Entity { source: string; type: string; event: string; count: number; firstSeen: string; lastSeen: string; fields: number; untracked: number; status?: string; description?: string }
interface Field { path: string; types: Record<string, number>; count: number; nullRate: number; distinct: number; firstSeen: string; lastSeen: string; samples: string[]; classification?: string; piiType?: string; status?: string; description?: string }

const typesText = (types: Record<string, number>) =>
  Object.entries(types)
    .sort((a, b) => b[1] - a[1])
    .map(([t, c]) => `${t} ${c}`)
    .join(', ');

/** Every observed event per source, with a button to open one. */
export function ObservedEvents(props: { onOpen(e: Entity): void; selected?: Entity }) {
  const list = useLoad(() => api<{ data: Entity[] }>('/metadata/schema'), []);
  return (
    <Section title="Observed events" actions={<button type="button" className="secondary" onClick={list.reload}>Refresh</button>}>
      <ErrorText error={list.error} />
      {list.data?.data.length === 0 ? <p>No event observed yet.</p> : null}
      {list.data?.data.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Type</th>
              <th scope="col">Source</th>
              <th scope="col">Count</th>
              <th scope="col">Fields</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {list.data.data.map((e) => (
              <tr key={`${e.source}/${e.type}/${e.event}`} aria-current={props.selected && props.selected.source === e.source && props.selected.type === e.type && props.selected.event === e.event ? 'true' : undefined}>
                <th scope="row">
                  <button type="button" className="link" onClick={() => props.onOpen(e)}>
                    {e.event || '(computed traits)'}
                  </button>
                  {e.status && e.status !== 'live' ? <span className="badge">{e.status}</span> : null}
                </th>
                <td>{e.type}</td>
                <td>{e.source}</td>
                <td>{e.count}</td>
                <td>{e.fields}</td>
                <td>{when(e.lastSeen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

/** One event's properties as observed: types, null rates, distinct counts, samples; each with a lineage button. */
export function ObservedEvent(props: { entity: Entity; onLineage(path: string): void }) {
  const { entity } = props;
  const detail = useLoad(
    () => api<{ data: (Entity & { properties: Field[] })[] }>(`/metadata/events/${encodeURIComponent(entity.event)}?${qs({ source: entity.source, type: entity.type })}`),
    [entity.source, entity.type, entity.event],
  );
  const view = detail.data?.data[0];
  return (
    <Section title={`Event ${entity.event}`}>
      <ErrorText error={detail.error} />
      {view ? (
        <>
          <p>
            {view.count} seen from source {view.source}, {when(view.firstSeen)} to {when(view.lastSeen)}
            {view.untracked ? `; ${view.untracked} field occurrences beyond the tracking limit` : ''}.
          </p>
          <table>
            <caption>Properties of {entity.event}</caption>
            <thead>
              <tr>
                <th scope="col">Property</th>
                <th scope="col">Types</th>
                <th scope="col">Count</th>
                <th scope="col">Null rate</th>
                <th scope="col">Distinct</th>
                <th scope="col">Samples</th>
                <th scope="col">Dictionary</th>
                <th scope="col">Lineage</th>
              </tr>
            </thead>
            <tbody>
              {view.properties.map((f) => (
                <tr key={f.path}>
                  <th scope="row">{f.path}</th>
                  <td>{typesText(f.types)}</td>
                  <td>{f.count}</td>
                  <td>{percent(f.nullRate)}</td>
                  <td>{f.distinct}</td>
                  <td>{f.samples.join(', ')}</td>
                  <td>{[f.classification, f.piiType, f.status].filter(Boolean).join(', ')}</td>
                  <td>
                    <button type="button" className="link" onClick={() => props.onLineage(f.path)}>
                      Lineage of {f.path}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : detail.loading ? (
        <p>Loading…</p>
      ) : null}
    </Section>
  );
}
