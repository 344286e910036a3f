'use client';
/** Rows that just arrived live, highlighted (`.fresh`) for a moment. */
import { useCallback, useEffect, useRef, useState } from 'react';

/** How long a new row keeps the `.fresh` highlight (the CSS animation is 2 s). */
const FRESH_MS = 2500;

export function useFreshIds(): { readonly freshIds: ReadonlySet<string>; readonly markFresh: (ids: readonly string[]) => void } {
  const [freshIds, setFreshIds] = useState<ReadonlySet<string>>(() => new Set());
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());

  const markFresh = useCallback((ids: readonly string[]) => {
    if (ids.length === 0) return;
    setFreshIds((prev) => new Set([...prev, ...ids]));
    const t = setTimeout(() => {
      timers.current.delete(t);
      setFreshIds((prev) => {
        const next = new Set(prev);
        for (const id of ids) next.delete(id);
        return next;
      });
    }, FRESH_MS);
    timers.current.add(t);
  }, []);

  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const t of pending) clearTimeout(t);
    };
  }, []);

  return { freshIds, markFresh };
}
