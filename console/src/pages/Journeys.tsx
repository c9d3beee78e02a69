import { useCallback, useMemo, useState } from 'react';
import { Background, Controls, ReactFlow, type Connection, type EdgeChange, type NodeChange } from '@xyflow/react';
import { api, apiWithHeaders, describe } from '../api';
import { ErrorText, JsonField, Section, SelectField, Status, TextField, useLoad } from '../components/common';
import { defaultJourneyNode, exits, layout, NODE_TYPES, setExit, toFlow, type JourneyDefinition, type JourneyNode } from '../components/journey-graph';
import { JourneyNodeForm, type NodeFormOptions } from '../components/JourneyNodeForm';
import { Link, navigate } from '../router';
import { useCanWrite } from '../session';

interface Stats { entries: number; active: number; conversions: number; nodes: Record<string, { visits: number; active: number; conversions: number }> }
interface Simulation { path: { at: number; kind: string; node: string | null; detail: Record<string, unknown> }[]; messages: { at: number; node: string; channel: string }[]; timings: { node: string; afterStart: number }[] }
interface VersionRow { version: number; at: string; author: string; message: string; changes: { kind: string; key: string; op: string; fields: { path: string; op: string }[] }[] }

const NEW_JOURNEY: JourneyDefinition = { key: '', name: '', trigger: { type: 'event', event: 'Signed Up' }, start: '', nodes: {} };
const duration = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)}s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)}m` : ms < 86_400_000 ? `${(ms / 3_600_000).toFixed(1)}h` : `${(ms / 86_400_000).toFixed(1)}d`);

/**
 * The selected node: its form (fields per node kind, no JSON needed), where each exit goes, and the node as JSON
 * behind an "advanced" toggle. Viewers see the same form disabled: they may simulate, not change.
 */
function NodePanel({ id, def, options, onChange, onRemove }: { id: string; def: JourneyDefinition; options: NodeFormOptions; onChange(n: JourneyNode): void; onRemove(): void }) {
  const canWrite = useCanWrite();
  const node = def.nodes[id];
  const ids = Object.keys(def.nodes).filter((k) => k !== id);
  return (
    <Section title={`Node ${id} (${node.type})`}>
      <fieldset className="node-form" disabled={!canWrite} aria-label={`Settings of ${id}`}>
        <JourneyNodeForm id={id} node={node} set={onChange} options={options} />
        {exits(node).map((e) => (
          <SelectField key={e.field} label={`${id}: ${e.label} goes to`} value={e.target ?? ''} options={[{ value: '', label: '(end)' }, ...ids.map((k) => ({ value: k, label: k }))]} onChange={(v) => onChange(setExit(node, e.field, v || undefined))} />
        ))}
        <details>
          <summary>Advanced: node {id} as JSON</summary>
          <JsonField key={id} label={`Node ${id} (JSON)`} value={node} rows={8} readOnly={!canWrite} onValid={(v) => onChange({ ...(v as JourneyNode), type: (v as JourneyNode).type ?? node.type })} />
        </details>
      </fieldset>
      {canWrite ? (
        <button type="button" className="danger" onClick={onRemove}>
          Remove node {id}
        </button>
      ) : null}
    </Section>
  );
}

function Editor({ initial, isNew, onSaved }: { initial: JourneyDefinition; isNew: boolean; onSaved(key: string, message: string): void }) {
  const canWrite = useCanWrite();
  const [def, setDef] = useState<JourneyDefinition>(initial);
  const [positions, setPositions] = useState(() => layout(initial));
  const [selected, setSelected] = useState<string>();
  const [newType, setNewType] = useState<(typeof NODE_TYPES)[number]>('wait');
  const [newId, setNewId] = useState('');
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const [simProfile, setSimProfile] = useState('');
  const [simUntil, setSimUntil] = useState('3d');
  const [simulation, setSimulation] = useState<Simulation>();
  const saved = useLoad(async () => (isNew ? undefined : apiWithHeaders(`/journeys/${encodeURIComponent(initial.key)}`)), [initial.key]);
  const stats = useLoad(async () => (isNew ? undefined : api<Stats>(`/journeys/${encodeURIComponent(initial.key)}/stats`)), [initial.key]);
  const versions = useLoad(async () => (isNew ? [] : (await api<{ data: VersionRow[] }>('/versions?limit=200')).data.filter((v) => v.changes.some((c) => c.kind === 'journeys' && c.key === initial.key))), [initial.key]);
  const lists = useLoad(async (): Promise<NodeFormOptions> => {
    const [channels, templates, experiments] = await Promise.all([
      api<{ data: { key: string; type?: string }[] }>('/channels').catch(() => ({ data: [] })),
      api<{ data: { key: string; channel: string }[] }>('/templates').catch(() => ({ data: [] })),
      api<{ data: { key: string }[] }>('/experiments').catch(() => ({ data: [] })),
    ]);
    return { channels: channels.data, templates: templates.data, experiments: experiments.data.map((e) => e.key) };
  }, []);
  const flow = useMemo(() => toFlow(def, positions, stats.data?.nodes ?? {}, selected), [def, positions, stats.data, selected]);
  const trigger = def.trigger as { type: string; event?: string; audience?: string };

  const update = (fn: (d: JourneyDefinition) => JourneyDefinition) => setDef((d) => fn(d));
  const setNode = (id: string, node: JourneyNode) => update((d) => ({ ...d, nodes: { ...d.nodes, [id]: node } }));
  const removeNode = (id: string) => {
    update((d) => {
      const nodes: Record<string, JourneyNode> = {};
      for (const [k, n] of Object.entries(d.nodes)) if (k !== id) nodes[k] = exits(n).reduce((acc, e) => (e.target === id ? setExit(acc, e.field, undefined) : acc), n);
      return { ...d, nodes, start: d.start === id ? '' : d.start };
    });
    setSelected(undefined);
  };
  const addNode = () => {
    const id = newId.trim() || `${newType}_${Object.keys(def.nodes).length + 1}`;
    if (def.nodes[id]) return setError(`a node named '${id}' already exists`);
    const from = selected && def.nodes[selected] ? selected : undefined;
    update((d) => {
      let nodes = { ...d.nodes, [id]: defaultJourneyNode(newType) };
      // Appended after the selected node (or as the start) so a journey can be built from the keyboard alone.
      if (from) {
        const free = exits(nodes[from]).find((e) => !e.target);
        if (free) nodes = { ...nodes, [from]: setExit(nodes[from], free.field, id) };
      }
      return { ...d, nodes, start: d.start || id };
    });
    const p = from ? positions.get(from) : undefined;
    setPositions((m) => new Map(m).set(id, p ? { x: p.x, y: p.y + 110 } : { x: 40, y: 130 + m.size * 20 }));
    setSelected(id);
    setNewId('');
    setError(undefined);
  };
  const onConnect = useCallback((c: Connection) => {
    if (c.source === '$trigger') return update((d) => ({ ...d, start: c.target }));
    update((d) => {
      const node = d.nodes[c.source];
      const free = exits(node).find((e) => !e.target) ?? exits(node)[0];
      return free ? { ...d, nodes: { ...d.nodes, [c.source]: setExit(node, free.field, c.target) } } : d;
    });
  }, []);
  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    for (const ch of changes) {
      if (ch.type !== 'remove') continue;
      const [source, field] = ch.id.split(':');
      if (field) update((d) => ({ ...d, nodes: { ...d.nodes, [source]: setExit(d.nodes[source], field, undefined) } }));
    }
  }, []);
  const onNodesChange = useCallback((changes: NodeChange[]) => {
    for (const ch of changes) {
      if (ch.type === 'position' && ch.position) setPositions((m) => new Map(m).set(ch.id, ch.position!));
      if (ch.type === 'select' && ch.selected) setSelected(ch.id === '$trigger' ? undefined : ch.id);
      if (ch.type === 'remove' && ch.id !== '$trigger') removeNode(ch.id);
    }
  }, []);

  const simulate = async () => {
    try {
      const body = { definition: def, ...(simProfile ? { profile_id: simProfile } : {}), until: simUntil };
      setSimulation(await api<Simulation>(`/journeys/${encodeURIComponent(def.key || 'draft')}/simulate`, { json: body }));
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    }
  };
  const publish = async () => {
    try {
      const { headers } = await apiWithHeaders(isNew ? '/journeys' : `/journeys/${encodeURIComponent(def.key)}`, { method: isNew ? 'POST' : 'PUT', json: def });
      const message = `Published '${def.key}' as version ${headers.get('tandem-version') ?? '?'}.`;
      setStatus(message);
      setError(undefined);
      onSaved(def.key, message);
    } catch (e) {
      setError(describe(e));
    }
  };
  const setState = async (action: 'pause' | 'resume') => {
    try {
      await api(`/journeys/${encodeURIComponent(def.key)}/${action}`, { json: {} });
      setStatus(action === 'pause' ? 'Paused: no new entries; timers wait.' : 'Resumed.');
      saved.reload();
    } catch (e) {
      setError(describe(e));
    }
  };
  const journeyStatus = saved.data?.headers.get('tandem-status');

  return (
    <>
      <Section title={isNew ? 'New journey' : `Journey ${initial.key}`} actions={journeyStatus ? <span className="badge">{journeyStatus}</span> : undefined}>
        <fieldset className="node-form row" disabled={!canWrite} aria-label="Key, name, trigger and start">
          <TextField label="Journey key" value={def.key} onChange={(v) => update((d) => ({ ...d, key: v }))} readOnly={!isNew} required />
          <TextField label="Journey name" value={String(def.name ?? '')} onChange={(v) => update((d) => ({ ...d, name: v }))} />
          <SelectField label="Trigger" value={trigger.type as 'event'} options={['event', 'audience_entered', 'audience_exited'] as const} onChange={(t) => update((d) => ({ ...d, trigger: t === 'event' ? { type: t, event: trigger.event ?? '' } : { type: t, audience: trigger.audience ?? '' } }))} />
          {trigger.type === 'event' ? (
            <TextField label="Trigger event" value={trigger.event ?? ''} onChange={(v) => update((d) => ({ ...d, trigger: { ...d.trigger, event: v } }))} />
          ) : (
            <TextField label="Trigger audience" value={trigger.audience ?? ''} onChange={(v) => update((d) => ({ ...d, trigger: { ...d.trigger, audience: v } }))} />
          )}
          <SelectField label="Start node" value={def.start} options={[{ value: '', label: '(none)' }, ...Object.keys(def.nodes).map((k) => ({ value: k, label: k }))]} onChange={(v) => update((d) => ({ ...d, start: v }))} />
        </fieldset>
        <div className="flow" aria-label="Journey graph (drag to connect; keyboard: use the node panel)">
          <ReactFlow key={Object.keys(def.nodes).length} fitViewOptions={{ maxZoom: 1, padding: 0.2 }} nodes={flow.nodes} edges={flow.edges} onConnect={canWrite ? onConnect : undefined} onNodesChange={onNodesChange} onEdgesChange={canWrite ? onEdgesChange : undefined} nodesConnectable={canWrite} fitView proOptions={{ hideAttribution: true }}>
            <Background />
            <Controls showInteractive={false} />
          </ReactFlow>
        </div>
        {stats.data ? <p>Entries {stats.data.entries} · active {stats.data.active} · conversions {stats.data.conversions}</p> : null}
        {canWrite ? (
          <form className="row" onSubmit={(e) => (e.preventDefault(), addNode())} aria-label="Add a node">
            <SelectField label="New node type" value={newType} options={NODE_TYPES} onChange={setNewType} />
            <TextField label="New node id" value={newId} onChange={setNewId} placeholder={`${newType}_${Object.keys(def.nodes).length + 1}`} />
            <button type="submit">Add node{selected ? ` after ${selected}` : ''}</button>
          </form>
        ) : null}
        <SelectField label="Selected node" value={selected ?? ''} options={[{ value: '', label: '(none)' }, ...Object.keys(def.nodes).map((k) => ({ value: k, label: k }))]} onChange={(v) => setSelected(v || undefined)} />
        {selected && def.nodes[selected] ? <NodePanel id={selected} def={def} options={lists.data ?? { channels: [], templates: [], experiments: [] }} onChange={(n) => setNode(selected, n)} onRemove={() => removeNode(selected)} /> : null}
        <details>
          <summary>Advanced: the whole definition (JSON)</summary>
          <JsonField label="Journey definition" value={def} readOnly={!canWrite} onValid={(v) => (setDef(v as JourneyDefinition), setPositions(layout(v as JourneyDefinition)))} rows={16} />
        </details>
        <div className="row">
          {canWrite ? <button type="button" onClick={publish}>Publish</button> : null}
          {canWrite && !isNew ? (
            journeyStatus === 'paused' ? <button type="button" onClick={() => setState('resume')}>Resume</button> : <button type="button" onClick={() => setState('pause')}>Pause</button>
          ) : null}
        </div>
        <ErrorText error={error} />
        <Status text={status} />
      </Section>
      <Section title="Simulate">
        <form className="row" onSubmit={(e) => (e.preventDefault(), void simulate())} aria-label="Simulate">
          <TextField label="Profile id (empty: synthetic)" value={simProfile} onChange={setSimProfile} />
          <TextField label="Simulate for" value={simUntil} onChange={setSimUntil} />
          <button type="submit">Simulate</button>
        </form>
        {simulation ? (
          <ol className="simulation" aria-label="Simulated path">
            {simulation.path.map((p, i) => (
              <li key={i}>
                +{duration(p.at - simulation.path[0].at)} {p.kind} {p.node ?? ''} {p.detail && Object.keys(p.detail).length ? <code>{JSON.stringify(p.detail)}</code> : null}
              </li>
            ))}
            {simulation.messages.map((m, i) => (
              <li key={`m${i}`}>message on {m.channel} from {m.node}</li>
            ))}
          </ol>
        ) : null}
      </Section>
      {!isNew ? (
        <Section title="Versions">
          <ul>
            {versions.data?.map((v) => (
              <li key={v.version}>
                workspace version {v.version} · {new Date(v.at).toLocaleString()} · {v.author} · {v.changes.filter((c) => c.key === initial.key).map((c) => `${c.op}: ${c.fields.map((f) => f.path).join(', ')}`).join('; ')}
              </li>
            ))}
          </ul>
          <Link to="/versions">All versions, diffs and rollback</Link>
        </Section>
      ) : null}
    </>
  );
}

export function Journeys({ selected }: { selected?: string }) {
  const canWrite = useCanWrite();
  const list = useLoad(() => api<{ data: JourneyDefinition[] }>('/journeys'), []);
  const [flash, setFlash] = useState<string>();
  const current = selected && selected !== 'new' ? list.data?.data.find((j) => j.key === selected) : undefined;
  return (
    <>
      <h1>Journeys</h1>
      <ErrorText error={list.error} />
      <Status text={flash} />
      <ul className="pills">
        {list.data?.data.map((j) => (
          <li key={j.key}><Link to={`/journeys/${encodeURIComponent(j.key)}`} aria-current={j.key === selected ? 'page' : undefined}>{j.name || j.key}</Link></li>
        ))}
        {canWrite ? <li><Link to="/journeys/new">New journey</Link></li> : null}
      </ul>
      {selected === 'new' && canWrite ? (
        <Editor key="new" isNew initial={NEW_JOURNEY} onSaved={(k, message) => (setFlash(message), list.reload(), navigate(`/journeys/${encodeURIComponent(k)}`))} />
      ) : current ? (
        <Editor key={current.key} isNew={false} initial={current} onSaved={() => (setFlash(undefined), list.reload())} />
      ) : null}
    </>
  );
}
