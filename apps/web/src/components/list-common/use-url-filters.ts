'use client';
/**
 * A list's filters live in the URL (a view can be shared, Back undoes a filter). Discrete changes
 * (a select, removing a chip) push a history entry; typing replaces the current one, so Back
 * does not step through every keystroke.
 */
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback, useMemo } from 'react';

export type FilterValues<K extends string> = Readonly<Record<K, string>>;

export function useUrlFilters<K extends string>(keys: readonly K[]): {
  values: FilterValues<K>;
  /** The URL's query string of these filters (stable key for a list query). */
  search: string;
  set: (patch: Partial<Record<K, string>>, mode?: 'push' | 'replace') => void;
  clear: () => void;
} {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const search = params.toString();
  const values = useMemo(() => {
    const sp = new URLSearchParams(search);
    return Object.fromEntries(keys.map((k) => [k, sp.get(k)?.trim() ?? ''])) as Record<K, string>;
    // keys is a module constant of the caller.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);

  const set = useCallback(
    (patch: Partial<Record<K, string>>, mode: 'push' | 'replace' = 'push') => {
      // window.location, not `params`: two debounced fields may commit before a render.
      const sp = new URLSearchParams(window.location.search);
      for (const [k, v] of Object.entries(patch) as [K, string | undefined][]) {
        if (v === undefined || v === '') sp.delete(k);
        else sp.set(k, v);
      }
      const q = sp.toString();
      if (q === window.location.search.replace(/^\?/, '')) return;
      const url = q === '' ? pathname : `${pathname}?${q}`;
      if (mode === 'replace') router.replace(url, { scroll: false });
      else router.push(url, { scroll: false });
    },
    [pathname, router],
  );

  const clear = useCallback(() => {
    set(Object.fromEntries(keys.map((k) => [k, ''])) as Record<K, string>);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [set]);

  return { values, search, set, clear };
}
