import type { Edge, Node } from '@xyflow/react';

export type JourneyNode = Record<string, unknown> & { type: string };
export interface JourneyDefinition {
  key: string;
  name?: string;
  trigger: Record<string, unknown>;
  start: string;
  nodes: Record<string, JourneyNode>;
  [field: string]: unknown;
}

export const NODE_TYPES = ['wait', 'wait_until', 'wait_for_event', 'branch', 'split', 'decide', 'send', 'update_trait', 'webhook', 'ad_audience', 'exit'] as const;

/** The fields of a node that name the node after it, with the label of each edge. */
export function exits(node: JourneyNode): { field: string; label: string; target?: string }[] {
  switch (node.type) {
    case 'exit':
      return [];
    case 'branch':
      return [{ field: 'then', label: 'then', target: node.then as string }, { field: 'else', label: 'else', target: node.else as string }];
    case 'wait_for_event':
      return [{ field: 'next', label: 'event', target: node.next as string }, { field: 'timeout_next', label: 'timeout', target: node.timeout_next as string }];
    case 'split':
      return ((node.branches as { next?: string }[]) ?? []).map((b, i) => ({ field: `branches.${i}`, label: `branch ${i + 1}`, target: b.next }));
    case 'decide': {
      const arms = ((node.arms as { key?: string; next?: string }[]) ?? []).map((a, i) => ({ field: `arms.${i}`, label: `arm ${a.key || i + 1}`, target: a.next }));
      const holdout = node.holdout as { next?: string } | undefined;
      return [...arms, ...(holdout ? [{ field: 'holdout', label: 'holdout', target: holdout.next }] : []), { field: 'none_eligible', label: 'none eligible', target: node.none_eligible as string }];
    }
    default:
      return [{ field: 'next', label: 'next', target: node.next as string }];
  }
}

export function setExit(node: JourneyNode, field: string, target: string | undefined): JourneyNode {
  const next = { ...node };
  const withNext = <T extends { next?: string }>(b: T): T => {
    const { next: _n, ...rest } = b;
    return (target ? { ...rest, next: target } : rest) as T;
  };
  if (field.startsWith('branches.') || field.startsWith('arms.')) {
    const [list, index] = field.split('.');
    next[list] = ((node[list] as { next?: string }[]) ?? []).map((b, j) => (j === Number(index) ? withNext(b) : b));
    return next;
  }
  if (field === 'holdout') {
    next.holdout = withNext((node.holdout as { next?: string }) ?? {});
    return next;
  }
  if (target) next[field] = target;
  else delete next[field];
  return next;
}

export function defaultJourneyNode(type: (typeof NODE_TYPES)[number]): JourneyNode {
  switch (type) {
    case 'wait': return { type, duration: '1h' };
    case 'wait_until': return { type, time: '09:00' };
    case 'wait_for_event': return { type, event: 'Order Completed', timeout: '1d' };
    case 'branch': return { type, condition: { trait: 'email', exists: true } };
    case 'split': return { type, branches: [{ weight: 50 }, { weight: 50 }] };
    case 'decide': return { type, arms: [{ key: 'a' }, { key: 'b' }], reward: { event: 'Order Completed', within: '7d' } };
    case 'send': return { type, channel: 'email', template: 'welcome' };
    case 'update_trait': return { type, trait: 'welcomed', value: true };
    case 'webhook': return { type, channel: 'webhook' };
    case 'ad_audience': return { type, channel: 'ads', action: 'add' };
    case 'exit': return { type };
  }
}

/** Layered layout: depth from the start node (breadth first), nodes of one depth side by side. */
export function layout(def: JourneyDefinition): Map<string, { x: number; y: number }> {
  const depth = new Map<string, number>([['$trigger', 0]]);
  const queue: string[] = [];
  if (def.nodes[def.start]) {
    depth.set(def.start, 1);
    queue.push(def.start);
  }
  while (queue.length) {
    const id = queue.shift()!;
    for (const e of exits(def.nodes[id])) if (e.target && def.nodes[e.target] && !depth.has(e.target)) (depth.set(e.target, depth.get(id)! + 1), queue.push(e.target));
  }
  let orphanDepth = Math.max(0, ...depth.values()) + 1;
  for (const id of Object.keys(def.nodes)) if (!depth.has(id)) depth.set(id, orphanDepth++);
  const perDepth = new Map<number, number>();
  const out = new Map<string, { x: number; y: number }>();
  for (const [id, d] of depth) {
    const i = perDepth.get(d) ?? 0;
    perDepth.set(d, i + 1);
    out.set(id, { x: 40 + i * 240, y: 20 + d * 110 });
  }
  return out;
}

export function toFlow(def: JourneyDefinition, positions: Map<string, { x: number; y: number }>, counts: Record<string, { visits: number; active: number; conversions: number }>, selected?: string) {
  const trigger = def.trigger as { type?: string; event?: string; audience?: string };
  const nodes: Node[] = [
    { id: '$trigger', position: positions.get('$trigger') ?? { x: 40, y: 20 }, data: { label: `Trigger: ${trigger.type ?? '?'} ${trigger.event ?? trigger.audience ?? ''}` }, type: 'input', className: 'rf-trigger', deletable: false },
    ...Object.entries(def.nodes).map(([id, n]): Node => {
      const c = counts[id];
      return {
        id,
        position: positions.get(id) ?? { x: 40, y: 40 },
        data: { label: `${id} (${n.type})${c ? ` · ${c.visits} visits, ${c.active} here${c.conversions ? `, ${c.conversions} conv.` : ''}` : ''}` },
        type: n.type === 'exit' ? 'output' : 'default',
        selected: id === selected,
        ariaLabel: `Node ${id}, ${n.type}`,
      };
    }),
  ];
  const edges: Edge[] = [];
  if (def.start) edges.push({ id: '$trigger->start', source: '$trigger', target: def.start, deletable: false });
  for (const [id, n] of Object.entries(def.nodes)) for (const e of exits(n)) if (e.target) edges.push({ id: `${id}:${e.field}`, source: id, target: e.target, label: e.label === 'next' ? undefined : e.label });
  return { nodes, edges };
}
