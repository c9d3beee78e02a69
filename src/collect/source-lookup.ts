import { sha256 } from '../core/ids.js';
import type { Source, Store } from '../core/ports/store.js';

/**
 * Sources by write key, cached by the key's hash (`clear()` after a source changes). Every lookup also waits for
 * the source's workspace's tracking plans and aliases: after a change drops them, the next message must wait for
 * them rather than be collected without; the wait is over at once while they are loaded.
 */
export function sourceLookup(store: Pick<Store, 'sources'>, plans: { prepare(workspaceId: string): Promise<void> }) {
  const sources = new Map<string, Source>();
  return {
    async byWriteKey(writeKey: string): Promise<Source | undefined> {
      const hash = sha256(writeKey);
      let source = sources.get(hash);
      if (!source) {
        source = await store.sources.byWriteKeyHash(hash);
        if (source) sources.set(hash, source);
      }
      if (source) await plans.prepare(source.workspaceId);
      return source;
    },
    clear(): void {
      sources.clear();
    },
  };
}
