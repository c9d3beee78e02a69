import { definitionId } from './definitions.js';
import type { ApplyStore } from './ports.js';

/**
 * Where a definition's backfill stands (docs/audiences.md, "Changing a definition"):
 * - `backfilling`, mode `shadow`: a changed definition; `activeVersion` answers until the switch to `version`;
 * - `backfilling`, mode `new`: a new definition; profiles answer as the backfill reaches them;
 * - `active`: no backfill; `version` answers.
 */
export interface BackfillProgress {
  kind: string;
  key: string;
  state: 'backfilling' | 'active';
  mode?: 'shadow' | 'new';
  /** The version being backfilled (backfilling) or answering (active). */
  version: number;
  /** The version that answers while a shadow is backfilled. */
  activeVersion?: number;
  profilesDone?: number;
  profilesTotal?: number;
  startedAt?: number;
  /** Estimated end, from the rate so far (absent before the first chunk). */
  eta?: number;
}

const kindAndKey = (def: string): { kind: string; key: string } => {
  const i = def.indexOf(':');
  return { kind: def.slice(0, i), key: def.slice(i + 1) };
};

/** Every running backfill of the workspace, with its progress. */
export function runningBackfills(store: ApplyStore, workspaceId: string, now: number): BackfillProgress[] {
  const active = store.activeVersions(workspaceId);
  return store
    .backfills()
    .filter((b) => b.workspaceId === workspaceId)
    .map((b) => {
      const was = active.get(b.def);
      const shadow = was !== undefined && was < b.version;
      const total = store.profileCount(workspaceId);
      const done = b.cursor === '' ? 0 : Math.min(total, store.profileCount(workspaceId, b.cursor));
      const elapsed = b.startedAt === undefined ? undefined : now - b.startedAt;
      return {
        ...kindAndKey(b.def),
        state: 'backfilling' as const,
        mode: shadow ? ('shadow' as const) : ('new' as const),
        version: b.version,
        ...(shadow ? { activeVersion: was } : {}),
        profilesDone: done,
        profilesTotal: total,
        ...(b.startedAt !== undefined ? { startedAt: b.startedAt } : {}),
        ...(elapsed !== undefined && done > 0 ? { eta: now + Math.round((elapsed * (total - done)) / done) } : {}),
      };
    });
}

/** One definition's backfill, or its active version when none runs (`latest`: the stored version, for definitions older than active versions). */
export function backfillOf(store: ApplyStore, workspaceId: string, kind: string, key: string, latest: number, now: number): BackfillProgress {
  const running = runningBackfills(store, workspaceId, now).find((b) => b.kind === kind && b.key === key);
  if (running) return running;
  return { kind, key, state: 'active', version: store.activeVersions(workspaceId).get(definitionId(kind, key)) ?? latest };
}

