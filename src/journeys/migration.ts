import { invalid, type JourneyDefinition } from './definition.js';
import type { JourneyInstance, JourneyStore } from './ports.js';

/**
 * A journey version may move the running instances of an earlier version onto its own nodes
 * (`migrate: { from: N, nodes: { oldNodeId: newNodeId } }`, docs/journeys.md "Changing a running journey"). An
 * instance of version N at a mapped node moves to the new node of the new version at save time, keeping its wake-up
 * time and context; an instance at an unmapped node, or of another version, stays on its version.
 */

/** Checks a mapping against the version it migrates from (at save: the API refuses naming the field). */
export function checkMigration(def: JourneyDefinition, version: number, from: JourneyDefinition | undefined): void {
  const m = def.migrate;
  if (!m) return;
  if (m.from >= version) throw invalid('migrate.from', `must be an earlier version than this one (${version})`);
  if (!from) throw invalid('migrate.from', `journey '${def.key}' has no version ${m.from}`);
  for (const [old, target] of Object.entries(m.nodes)) {
    const was = from.nodes[old];
    if (!was) throw invalid(`migrate.nodes.${old}`, `version ${m.from} has no node '${old}'`);
    const now = def.nodes[target];
    if (now.type !== was.type) throw invalid(`migrate.nodes.${old}`, `'${old}' is a ${was.type} node in version ${m.from} and '${target}' a ${now.type} node; map a node to one of the same type`);
  }
}

/** Moves the mapped instances (inside the engine's transaction); returns the moved ones. */
export function migrateInstances(store: JourneyStore, workspaceId: string, key: string, version: number, def: JourneyDefinition, now: number): JourneyInstance[] {
  const m = def.migrate;
  if (!m || m.from >= version) return [];
  const from = store.version(workspaceId, key, m.from);
  if (!from) return [];
  const moved: JourneyInstance[] = [];
  for (const inst of store.activeOf(workspaceId, key)) {
    if (inst.version !== m.from || !Object.hasOwn(m.nodes, inst.node)) continue;
    const target = m.nodes[inst.node];
    // A mapping saved through workspace apply is not checked against the old version: a mismatched one moves nobody.
    if (!def.nodes[target] || from.nodes[inst.node]?.type !== def.nodes[target].type) continue;
    const was = inst.node;
    inst.node = target;
    inst.version = version;
    if (inst.context.deferred?.node === was) inst.context.deferred = { ...inst.context.deferred, node: target };
    inst.updatedAt = now;
    store.updateInstance(inst);
    store.trail({ workspaceId, journey: key, profileId: inst.profileId, instanceId: inst.id, version, at: now, kind: 'migrate', node: target, detail: { fromVersion: m.from, fromNode: was } });
    moved.push(inst);
  }
  return moved;
}
