'use client';
/**
 * A list read page by page through an API's keyset paging (`next` of one page is the `cursor` of
 * the next). Only what the user scrolled to is loaded; rows are kept once each (by id), so rows a
 * live update already inserted are not added again when their page arrives.
 */
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { errorMessage } from '@/lib/api';
import { formatCount } from '@/lib/format';

export interface Page<T> {
  readonly rows: readonly T[];
  readonly next: string | null;
}

export type FetchPage<T> = (cursor: string | null, signal: AbortSignal) => Promise<Page<T>>;

export interface KeysetState<T> {
  readonly rows: readonly T[];
  /** Cursor of the next page; null once the last page is loaded. */
  readonly next: string | null;
  /** True once the first page arrived (or failed). */
  readonly ready: boolean;
  readonly loading: boolean;
  /** Why the last page failed; loadMore() retries it. */
  readonly error: string | null;
}

const EMPTY: KeysetState<never> = { rows: [], next: null, ready: false, loading: false, error: null };

export class KeysetStore<T> {
  private state: KeysetState<T> = EMPTY;
  private readonly ids = new Set<string>();
  private readonly listeners = new Set<() => void>();
  /** Bumped by every reset: a page of an older query is dropped when it arrives. */
  private generation = 0;
  private controller: AbortController | null = null;
  private fetchPage: FetchPage<T> | null = null;

  constructor(private readonly idOf: (row: T) => string) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): KeysetState<T> => this.state;

  private set(patch: Partial<KeysetState<T>>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  /** Drops every row and loads the first page of `fetchPage` (null: stays empty). */
  reset(fetchPage: FetchPage<T> | null): void {
    this.generation++;
    this.controller?.abort();
    this.controller = null;
    this.ids.clear();
    this.fetchPage = fetchPage;
    this.set({ rows: [], next: null, ready: fetchPage === null, loading: false, error: null });
    if (fetchPage !== null) void this.load(null);
  }

  /** Takes `rows` and `next` as they were (a list the user comes back to), without loading. */
  restore(fetchPage: FetchPage<T>, rows: readonly T[], next: string | null): void {
    this.generation++;
    this.controller?.abort();
    this.controller = null;
    this.ids.clear();
    for (const r of rows) this.ids.add(this.idOf(r));
    this.fetchPage = fetchPage;
    this.set({ rows, next, ready: true, loading: false, error: null });
  }

  /** Loads the next page unless one is loading or none is left; after an error, retries. */
  loadMore(): void {
    const s = this.state;
    if (s.loading || this.fetchPage === null) return;
    if (s.error !== null) {
      void this.load(s.ready && s.rows.length > 0 ? s.next : null);
      return;
    }
    if (s.next !== null) void this.load(s.next);
  }

  abort(): void {
    this.generation++;
    this.controller?.abort();
    this.controller = null;
    if (this.state.loading) this.set({ loading: false });
  }

  private async load(cursor: string | null): Promise<void> {
    const fetchPage = this.fetchPage;
    if (fetchPage === null) return;
    const generation = this.generation;
    const controller = new AbortController();
    this.controller = controller;
    this.set({ loading: true, error: null });
    try {
      const page = await fetchPage(cursor, controller.signal);
      if (generation !== this.generation) return;
      const fresh = page.rows.filter((r) => {
        const id = this.idOf(r);
        if (this.ids.has(id)) return false;
        this.ids.add(id);
        return true;
      });
      this.set({ rows: fresh.length === 0 ? this.state.rows : [...this.state.rows, ...fresh], next: page.next, ready: true, loading: false });
    } catch (e) {
      if (generation !== this.generation || controller.signal.aborted) return;
      this.set({ loading: false, ready: true, error: errorMessage(e) });
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Puts rows not yet in the list at its top (in the order given). */
  prepend(rows: readonly T[]): readonly T[] {
    const fresh = rows.filter((r) => {
      const id = this.idOf(r);
      if (this.ids.has(id)) return false;
      this.ids.add(id);
      return true;
    });
    if (fresh.length > 0) this.set({ rows: [...fresh, ...this.state.rows] });
    return fresh;
  }

  /** Puts rows not yet in the list into it, keeping the list in `compare` order; returns those added. */
  insert(rows: readonly T[], compare: (a: T, b: T) => number): readonly T[] {
    const fresh = rows.filter((r) => {
      const id = this.idOf(r);
      if (this.ids.has(id)) return false;
      this.ids.add(id);
      return true;
    });
    if (fresh.length > 0) this.set({ rows: [...this.state.rows, ...fresh].sort(compare) });
    return fresh;
  }

  /** Replaces the rows `update` returns a new value for (identity kept otherwise). */
  update(update: (row: T) => T | undefined): void {
    let changed = false;
    const rows = this.state.rows.map((r) => {
      const u = update(r);
      if (u === undefined || u === r) return r;
      changed = true;
      return u;
    });
    if (changed) this.set({ rows });
  }
}

/** The list header's status: `Loading…`, `1,200 loaded, more below`, `37 sessions` (nothing when empty). */
export function loadedStatus(s: KeysetState<unknown>, noun: string): string {
  if (!s.ready) return 'Loading…';
  if (s.rows.length === 0) return '';
  if (s.next !== null) return `${formatCount(s.rows.length)} loaded, more below`;
  return `${formatCount(s.rows.length)} ${noun}${s.rows.length === 1 ? '' : 's'}`;
}

/** Lists left recently, by memory key: coming back (Back from a session) shows them as they were. */
const remembered = new Map<string, { rows: readonly unknown[]; next: string | null; at: number }>();
const REMEMBER_MS = 10 * 60_000;
const REMEMBER_LISTS = 8;

/**
 * The rows of `key`'s query: the first page is loaded whenever `key` changes (null: no query,
 * e.g. while a filter is invalid), further pages by `store.loadMore()`. With `memoryKey`, the
 * rows loaded when the list goes away are kept for a while, and the same key within REMEMBER_MS
 * starts from them instead of the first page: `restored` says so, for the page to put the scroll
 * position back and look for what arrived meanwhile.
 */
export function useKeysetList<T>(key: string | null, fetchPage: FetchPage<T>, idOf: (row: T) => string, memoryKey?: string): KeysetState<T> & { store: KeysetStore<T>; restored: boolean } {
  const [store] = useState(() => new KeysetStore<T>(idOf));
  const [restored, setRestored] = useState(false);
  const fetchRef = useRef(fetchPage);
  useEffect(() => {
    fetchRef.current = fetchPage;
  });
  useEffect(() => {
    const fetch: FetchPage<T> = (cursor, signal) => fetchRef.current(cursor, signal);
    const memo = memoryKey === undefined || key === null ? undefined : `${memoryKey}|${key}`;
    const kept = memo === undefined ? undefined : remembered.get(memo);
    if (key !== null && memo !== undefined && kept !== undefined && Date.now() - kept.at < REMEMBER_MS) {
      remembered.delete(memo);
      store.restore(fetch, kept.rows as readonly T[], kept.next);
      setRestored(true);
    } else {
      store.reset(key === null ? null : fetch);
      setRestored(false);
    }
    return () => {
      store.abort();
      const s = store.getSnapshot();
      if (memo === undefined || !s.ready || s.error !== null || s.rows.length === 0) return;
      remembered.delete(memo);
      remembered.set(memo, { rows: s.rows, next: s.next, at: Date.now() });
      while (remembered.size > REMEMBER_LISTS) remembered.delete(remembered.keys().next().value as string);
    };
  }, [key, store, memoryKey]);
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  return { ...state, store, restored };
}
