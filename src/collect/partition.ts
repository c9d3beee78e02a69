/** FNV-1a over the routing identifier, so one person's messages stay in one partition and keep their order. */
export function partitionOf(routingId: string, partitions: number): number {
  if (partitions <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < routingId.length; i++) {
    hash ^= routingId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
