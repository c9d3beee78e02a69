/** Dependency order of named nodes (each lists what it reads); throws naming a cycle, such as a -> b -> a. */
export function dependencyOrder(nodes: Map<string, string[]>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (key: string, path: string[]) => {
    const s = state.get(key);
    if (s === 'done') return;
    if (s === 'visiting') throw new CycleError([...path.slice(path.indexOf(key)), key]);
    state.set(key, 'visiting');
    for (const dep of [...(nodes.get(key) ?? [])].sort()) if (nodes.has(dep)) visit(dep, [...path, key]);
    state.set(key, 'done');
    order.push(key);
  };
  for (const key of [...nodes.keys()].sort()) visit(key, []);
  return order;
}

/** The nodes `targets` read, directly or not, and the targets themselves, in dependency order. */
export function upstreamOf(nodes: Map<string, string[]>, targets: string[]): string[] {
  const wanted = new Set<string>();
  const add = (key: string) => {
    if (wanted.has(key) || !nodes.has(key)) return;
    wanted.add(key);
    for (const dep of nodes.get(key) ?? []) add(dep);
  };
  targets.forEach(add);
  return dependencyOrder(nodes).filter((k) => wanted.has(k));
}

export class CycleError extends Error {
  constructor(readonly cycle: string[]) {
    super(`models read each other in a cycle: ${cycle.join(' -> ')}`);
  }
}
