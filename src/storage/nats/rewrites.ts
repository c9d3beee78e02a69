/** A batch rewritten by a privacy erasure: it keeps its log offset, its content lives in message `seq`. */
export interface Rewrite {
  /** The offset of the original batch, which readers see. */
  offset: number;
  /** Stream sequence of the message holding the rewritten batch. */
  seq: number;
  receivedAt: number;
}

/**
 * Where rewritten batches are, per partition. JetStream cannot change a stored message, so an erasure publishes the
 * batch without the person's messages and erases the original (docs/scale-out.md); reads put the rewrite back at
 * the original's offset with this index. Erasures are rare: the index is small and held in memory by every log.
 */
export class Rewrites {
  private readonly partitions = new Map<number, Map<number, Rewrite>>();

  get(partition: number, offset: number): Rewrite | undefined {
    return this.partitions.get(partition)?.get(offset);
  }

  /** Records a rewrite; the newest (highest seq) of an offset wins. Returns the one no longer current, if any. */
  add(partition: number, rewrite: Rewrite): Rewrite | undefined {
    let map = this.partitions.get(partition);
    if (!map) this.partitions.set(partition, (map = new Map()));
    const existing = map.get(rewrite.offset);
    if (!existing) {
      map.set(rewrite.offset, rewrite);
      return undefined;
    }
    if (existing.seq === rewrite.seq) return undefined;
    if (existing.seq > rewrite.seq) return rewrite;
    map.set(rewrite.offset, rewrite);
    return existing;
  }

  remove(partition: number, offset: number): void {
    this.partitions.get(partition)?.delete(offset);
  }

  /** Rewrites of a partition with offsets in (after, upTo], by offset. */
  between(partition: number, after: number, upTo: number): Rewrite[] {
    const map = this.partitions.get(partition);
    if (!map || map.size === 0) return [];
    return [...map.values()].filter((r) => r.offset > after && r.offset <= upTo).sort((a, b) => a.offset - b.offset);
  }

  all(partition: number): Rewrite[] {
    return this.between(partition, -Infinity, Infinity);
  }

  maxOffset(partition: number): number {
    let max = 0;
    for (const r of this.partitions.get(partition)?.values() ?? []) max = Math.max(max, r.offset);
    return max;
  }

  /**
   * A fresh reading of the stream up to sequence `last` replaces what the index knew up to there; rewrites it
   * learnt of after `last` (this log's own erasures while the stream was read) stay.
   */
  replaceUpTo(partition: number, found: Rewrite[], last: number): void {
    const map = this.partitions.get(partition);
    if (map) for (const [offset, r] of map) if (r.seq <= last) map.delete(offset);
    for (const r of found) this.add(partition, r);
  }
}
