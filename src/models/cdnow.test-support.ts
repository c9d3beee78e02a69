import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Purchase } from './purchase-summary.js';

/** The shared datasets folder (../shared/datasets beside the checkout), read in place. */
export const DATASETS = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));

/**
 * cdnow_sample.txt as purchases by customer (the master id, which the summary file numbers 1..2357): whitespace-
 * separated id, master id, YYYYMMDD, CDs, dollars.
 */
export function readCdnowSample(): Map<string, Purchase[]> {
  const out = new Map<string, Purchase[]>();
  for (const line of readFileSync(`${DATASETS}cdnow_sample.txt`, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const d = f[2];
    const at = Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8)));
    const id = String(Number(f[1]));
    const list = out.get(id) ?? [];
    list.push({ at, value: Number(f[4]) });
    out.set(id, list);
  }
  return out;
}
