import cliProgress from 'cli-progress';

/** A running backfill as `GET /api/v1/backfills` answers it (src/server/backfills-routes.ts). */
export interface BackfillView {
  kind: string;
  key: string;
  state: 'backfilling' | 'active';
  mode?: 'shadow' | 'new';
  version: number;
  activeVersion?: number;
  profilesDone?: number;
  profilesTotal?: number;
  eta?: string;
}

export interface WaitOptions {
  /** The running backfills (GET /api/v1/backfills). */
  running: () => Promise<BackfillView[]>;
  /** Where the bars (or, when it is not a terminal, one line per finished backfill) go. */
  out: NodeJS.WritableStream & { isTTY?: boolean };
  pollMs?: number;
  /** Gives up after this long (the backfills go on in the server). */
  timeoutMs?: number;
}

const name = (t: { kind: string; key: string }) => `${t.kind}/${t.key}`;

/**
 * Waits until the backfills of these definitions have finished (a changed one has switched to its new version),
 * showing a progress bar per backfill. Returns the definitions still backfilling when it gave up (empty: all done).
 */
export async function waitForBackfills(targets: { kind: string; key: string }[], options: WaitOptions): Promise<string[]> {
  const wanted = new Set(targets.map(name));
  if (wanted.size === 0) return [];
  const { out } = options;
  const pollMs = options.pollMs ?? 500;
  const end = performance.now() + (options.timeoutMs ?? Infinity);
  const multi = out.isTTY
    ? new cliProgress.MultiBar(
        { stream: out, format: ' {name} [{bar}] {value}/{total} profiles | {what} | ETA {when}', hideCursor: true, clearOnComplete: false, stopOnComplete: false },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  const seen = new Set<string>();
  const finish = (n: string) => {
    const bar = bars.get(n);
    if (bar) bar.update(bar.getTotal(), { what: 'switched', when: 'done' });
    else if (!multi) out.write(`${n}: backfilled\n`);
  };
  try {
    for (;;) {
      const running = (await options.running()).filter((b) => wanted.has(name(b)));
      const now = new Set(running.map(name));
      for (const n of seen) if (!now.has(n)) (finish(n), seen.delete(n), wanted.delete(n));
      // Not seen running at the first look: finished before it.
      if (bars.size === 0 && seen.size === 0) for (const n of [...wanted]) if (!now.has(n)) (finish(n), wanted.delete(n));
      for (const b of running) {
        const n = name(b);
        seen.add(n);
        const what = b.mode === 'shadow' ? `v${b.version} beside v${b.activeVersion ?? '?'}` : `v${b.version} (new)`;
        const when = b.eta ? new Date(b.eta).toISOString().slice(11, 19) : '-';
        const total = Math.max(1, b.profilesTotal ?? 1);
        if (multi) {
          const bar = bars.get(n) ?? multi.create(total, 0, { name: n, what, when });
          bars.set(n, bar);
          bar.setTotal(total);
          bar.update(Math.min(total, b.profilesDone ?? 0), { name: n, what, when });
        }
      }
      if (wanted.size === 0) return [];
      if (performance.now() > end) return [...wanted].sort();
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    multi?.stop();
  }
}
