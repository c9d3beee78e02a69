import { useCallback, useEffect, useRef, useState } from 'react';
import { describe } from '../api';

/** One page of a list and the cursor of the page after it (undefined on the last page). */
export interface Page<T, C> {
  items: T[];
  next?: C;
}

/**
 * Server-side paging by cursor: the API's `before` (an id) or `after` (an opaque cursor) of each list route. The
 * cursors of the pages already seen are kept, so "Previous" asks the API for that page again (fresh data) instead
 * of counting an offset. `deps` restart from the first page (a new filter or search).
 */
export function usePaged<T, C>(load: (cursor: C | undefined) => Promise<Page<T, C>>, deps: unknown[]) {
  const [cursors, setCursors] = useState<(C | undefined)[]>([undefined]);
  const [state, setState] = useState<{ page?: Page<T, C>; error?: string; loading: boolean }>({ loading: true });
  const loadRef = useRef(load);
  loadRef.current = load;
  const [tick, setTick] = useState(0);
  const depsKey = JSON.stringify(deps);
  useEffect(() => setCursors([undefined]), [depsKey]);
  const cursor = cursors[cursors.length - 1];
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    loadRef.current(cursor).then(
      (page) => live && setState({ page, loading: false }),
      (error: unknown) => live && setState({ error: describe(error), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [cursor, tick, depsKey]);
  const next = useCallback(() => {
    const n = state.page?.next;
    if (n !== undefined) setCursors((c) => [...c, n]);
  }, [state.page]);
  const previous = useCallback(() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)), []);
  return {
    items: state.page?.items,
    error: state.error,
    loading: state.loading,
    number: cursors.length,
    hasNext: state.page?.next !== undefined,
    hasPrevious: cursors.length > 1,
    next,
    previous,
    reload: () => setTick((t) => t + 1),
  };
}

/** A page of a `before`-paged list: the next page starts below the last id shown, when this page was full. */
export const beforePage = <T,>(items: T[], limit: number, id: (item: T) => number): Page<T, number> => ({
  items,
  next: items.length === limit && items.length > 0 ? id(items[items.length - 1]) : undefined,
});

/** Previous / next buttons of a paged list, labelled with what they page through (keyboard: native buttons). */
export function Pager(props: { label: string; paged: { number: number; hasNext: boolean; hasPrevious: boolean; loading: boolean; next(): void; previous(): void } }) {
  const p = props.paged;
  return (
    <nav className="pager row" aria-label={`${props.label} pages`}>
      <button type="button" className="secondary" onClick={p.previous} disabled={!p.hasPrevious || p.loading} aria-label={`Previous page of ${props.label.toLowerCase()}`}>
        ← Previous
      </button>
      <span aria-live="polite">Page {p.number}{p.loading ? ' (loading…)' : ''}</span>
      <button type="button" className="secondary" onClick={p.next} disabled={!p.hasNext || p.loading} aria-label={`Next page of ${props.label.toLowerCase()}`}>
        Next →
      </button>
    </nav>
  );
}
