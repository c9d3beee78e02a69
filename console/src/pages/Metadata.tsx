import { useState } from 'react';
import { api } from '../api';
import { ErrorText, Section, useLoad } from '../components/common';
import { Lineage, type LineageQuery } from './metadata/Lineage';
import { ObservedEvent, ObservedEvents, type Entity } from './metadata/Schema';
import { Suggestions } from './metadata/Suggestions';

interface DictionaryEntry { key: string; event?: string; property?: string; trait?: string; computed?: string; classification?: string; piiType?: string; status?: string; description?: string }

const targetOf = (d: DictionaryEntry) =>
  d.trait !== undefined ? `trait ${d.trait}` : d.computed !== undefined ? `computed ${d.computed}` : d.property !== undefined ? `${d.event ?? 'any event'}: ${d.property}` : `event ${d.event ?? ''}`;

function Dictionary({ version }: { version: number }) {
  const list = useLoad(() => api<{ data: DictionaryEntry[] }>('/dictionary'), [version]);
  return (
    <Section title="Data dictionary">
      <ErrorText error={list.error} />
      {list.data?.data.length === 0 ? <p>No entry yet. Confirm a suggestion, or add entries as workspace files (kind: dictionary).</p> : null}
      {list.data?.data.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Target</th>
              <th scope="col">Classification</th>
              <th scope="col">Status</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {list.data.data.map((d) => (
              <tr key={d.key}>
                <th scope="row">{d.key}</th>
                <td>{targetOf(d)}</td>
                <td>{[d.classification ?? 'none', d.piiType].filter(Boolean).join(', ')}</td>
                <td>{d.status ?? 'live'}</td>
                <td>{d.description ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

/** The observed schema, classification suggestions, the data dictionary and lineage (docs/metadata.md). */
export function Metadata() {
  const [entity, setEntity] = useState<Entity>();
  const [lineage, setLineage] = useState<LineageQuery>();
  const [version, setVersion] = useState(0);
  const openLineage = (path: string) => {
    if (!entity) return;
    const query: LineageQuery =
      entity.type === 'track' ? { target: 'property', event: entity.event, name: path } : entity.type === 'identify' || entity.type === 'group' ? { target: 'trait', event: '', name: path } : entity.type === 'computed' ? { target: 'computed', event: '', name: path } : { target: 'property', event: '', name: path };
    setLineage(query);
  };
  return (
    <>
      <h1>Metadata</h1>
      <ObservedEvents onOpen={setEntity} selected={entity} />
      {entity ? <ObservedEvent entity={entity} onLineage={openLineage} /> : null}
      <Lineage query={lineage} />
      <Suggestions onConfirmed={() => setVersion((v) => v + 1)} />
      <Dictionary version={version} />
    </>
  );
}
