'use client';
/**
 * Live updates of the sessions list. Events are gathered and handled at most every FLUSH_MS:
 * - session:closed patches a loaded row at once (outcome, user, mails, end), then the row is
 *   read again for what the close stored (packet counts, flags);
 * - session:updated (packets or dialogue stored for an open session) has a loaded row read again:
 *   the API counts an open session's packets and bytes from what is stored so far;
 * - new sessions (session:opened, or session:closed of one never seen: a short session opens and
 *   closes within one agent batch, and only its close is announced) that may match the filters
 *   are fetched by their ids (`ids=`, 100 per query) with the page's own filters, so the API
 *   decides what matches (the text search cannot be checked here) and the rows come complete
 *   (packets, flags);
 * - a burst (an import sends thousands a second) is only counted: the "N new sessions" button
 *   then reloads the list instead of inserting them one flush at a time.
 * New rows go to the top when the list is scrolled to the top; otherwise they wait behind the
 * button so the rows under the user's eyes do not move.
 */
import type { UiSessionClosed, UiSessionOpened } from '@mailscope/shared/agent-protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, qs } from '@/lib/api';
import { useUiEvent } from '@/lib/socket';
import { useFreshIds } from '../list-common/use-fresh-ids';
import type { KeysetStore } from '../list-common/use-keyset-list';
import { closedMayMatch, openedMayMatch, type ParsedSessionFilters, type SessionRow } from './session-filters';

/** How often gathered events are applied: at most two list queries a second. */
const FLUSH_MS = 500;
/** More new sessions than this in one flush is an import or a flood: counted, not fetched. */
const BURST = 100;
/** Loaded rows refreshed (packet counts, flags) per flush; the rest keep what their close said. */
const REFRESH_MAX = 100;
/** The API's limit on `ids` per list query. */
const IDS_PER_QUERY = 100;
/** Recently opened sessions remembered for their close, which names no endpoint (bounded). */
const OPENED_MEMORY = 20_000;

export interface LiveSessions {
  /** New sessions not shown yet (waiting while scrolled down, or counted in a burst). */
  readonly newCount: number;
  /** True when showing them reloads the list (a burst): they take their place in time order. */
  readonly reloads: boolean;
  /** Shows them: inserts the waiting rows at the top, or reloads the list after a burst. */
  readonly showNew: () => void;
  readonly freshIds: ReadonlySet<string>;
}

interface Candidate {
  readonly id: string;
  /** The session's start when known, else its end (an upper bound of its start). */
  readonly bound: number;
  readonly startKnown: boolean;
}

export function useLiveSessions(args: {
  readonly store: KeysetStore<SessionRow>;
  readonly ready: boolean;
  readonly filters: ParsedSessionFilters;
  /** Changes whenever the list is reloaded: waiting rows and counts belong to the old list. */
  readonly listKey: string | null;
  readonly isAtTop: () => boolean;
  readonly reload: () => void;
  readonly scrollToTop: () => void;
}): LiveSessions {
  const { store } = args;
  const argsRef = useRef(args);
  useEffect(() => {
    argsRef.current = args;
  });

  const opened = useRef(new Map<string, UiSessionOpened>());
  const closed = useRef(new Map<string, UiSessionClosed>());
  /** Loaded open sessions that something was stored for since the last flush. */
  const updated = useRef(new Set<string>());
  const seenOpened = useRef(new Map<string, UiSessionOpened>());
  const pending = useRef<SessionRow[]>([]);
  /** Ids of new sessions counted but not fetched (a burst); a set, as one may be announced twice (opened, closed). */
  const overflow = useRef(new Set<string>());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const busy = useRef(false);
  const generation = useRef(0);
  const [newCount, setNewCount] = useState(0);
  const { freshIds, markFresh } = useFreshIds();

  const publishCount = useCallback(() => setNewCount(pending.current.length + overflow.current.size), []);

  // A new list (filters changed, reloaded): what was gathered for the old one is dropped.
  useEffect(() => {
    generation.current++;
    opened.current.clear();
    closed.current.clear();
    updated.current.clear();
    pending.current = [];
    overflow.current = new Set();
    setNewCount(0);
  }, [args.listKey]);

  const flush = useCallback(async () => {
    timer.current = null;
    if (!argsRef.current.ready || busy.current) {
      schedule();
      return;
    }
    const gen = generation.current;
    const q = argsRef.current.filters.query;
    const openedNow = opened.current;
    const closedNow = closed.current;
    const updatedNow = updated.current;
    opened.current = new Map();
    closed.current = new Map();
    updated.current = new Set();

    const patchClosed = (r: SessionRow): SessionRow | undefined => {
      const e = closedNow.get(r.id);
      if (e === undefined) return undefined;
      return { ...r, state: 'closed', endTs: e.endTs, outcome: e.outcome, mails: e.mails, authUser: e.authUser ?? r.authUser };
    };
    store.update(patchClosed);
    pending.current = pending.current.map((r) => patchClosed(r) ?? r);

    const pendingIds = new Set(pending.current.map((r) => r.id));
    const known = (id: string) => store.has(id) || pendingIds.has(id);
    const fresh: Candidate[] = [];
    const refresh = new Set<string>();
    for (const id of updatedNow) if (known(id)) refresh.add(id);
    for (const e of openedNow.values()) {
      if (known(e.id)) continue;
      const c = closedNow.get(e.id);
      if (openedMayMatch(e, q) || (c !== undefined && closedMayMatch(c, q, e))) fresh.push({ id: e.id, bound: e.startTs, startKnown: true });
    }
    for (const e of closedNow.values()) {
      const o = seenOpened.current.get(e.id);
      seenOpened.current.delete(e.id);
      if (known(e.id)) {
        refresh.add(e.id);
        continue;
      }
      if (openedNow.has(e.id)) continue;
      if (closedMayMatch(e, q, o)) fresh.push({ id: e.id, bound: o?.startTs ?? e.endTs, startKnown: o !== undefined });
    }

    // Once a burst is being counted, the list is reloaded anyway: count the rest too.
    if (fresh.length > BURST || overflow.current.size > 0) {
      for (const c of fresh) overflow.current.add(c.id);
      fresh.length = 0;
      publishCount();
    }
    const refreshRows: SessionRow[] = [];
    if (refresh.size > 0) {
      for (const r of [...pending.current, ...store.getSnapshot().rows]) {
        if (refreshRows.length >= REFRESH_MAX) break;
        if (refresh.has(r.id)) refreshRows.push(r);
      }
    }
    if (fresh.length === 0 && refreshRows.length === 0) return;

    // Exactly the announced sessions, with the page's filters: the API says which match.
    const want = [...new Set([...fresh.map((c) => c.id), ...refreshRows.map((r) => r.id)])];
    busy.current = true;
    const rows: SessionRow[] = [];
    try {
      for (let i = 0; i < want.length; i += IDS_PER_QUERY) {
        const ids = want.slice(i, i + IDS_PER_QUERY).join(',');
        const res = await api<{ sessions: SessionRow[] }>(`/sessions${qs({ ...q, ids, limit: IDS_PER_QUERY })}`);
        rows.push(...res.sessions);
      }
    } catch {
      // A failed refresh leaves the list as the events left it; the next events try again.
      return;
    } finally {
      busy.current = false;
    }
    if (gen !== generation.current) return;
    const byId = new Map(rows.map((r) => [r.id, r]));
    store.update((r) => (refresh.has(r.id) ? byId.get(r.id) : undefined));
    pending.current = pending.current.map((r) => (refresh.has(r.id) ? byId.get(r.id) ?? r : r));

    const found = fresh.flatMap((c) => byId.get(c.id) ?? []).sort((a, b) => b.startTs - a.startTs || Number(b.id) - Number(a.id));
    if (found.length === 0) return;
    if (pending.current.length === 0 && argsRef.current.isAtTop()) {
      markFresh(store.prepend(found).map((r) => r.id));
    } else {
      const seen = new Set(pending.current.map((r) => r.id));
      pending.current = [...found.filter((r) => !seen.has(r.id) && !store.has(r.id)), ...pending.current];
      publishCount();
    }
    // schedule is declared below and stable; flush and schedule call each other.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store, markFresh, publishCount]);

  const schedule = useCallback(() => {
    if (timer.current === null) timer.current = setTimeout(() => void flush(), FLUSH_MS);
  }, [flush]);

  useEffect(() => () => {
    if (timer.current !== null) clearTimeout(timer.current);
  }, []);

  useUiEvent('session:opened', (e) => {
    seenOpened.current.set(e.id, e);
    if (seenOpened.current.size > OPENED_MEMORY) {
      const oldest = seenOpened.current.keys().next().value;
      if (oldest !== undefined) seenOpened.current.delete(oldest);
    }
    opened.current.set(e.id, e);
    schedule();
  });
  useUiEvent('session:closed', (e) => {
    closed.current.set(e.id, e);
    schedule();
  });
  useUiEvent('session:updated', (e) => {
    if (!store.has(e.id) && !pending.current.some((r) => r.id === e.id)) return;
    updated.current.add(e.id);
    schedule();
  });

  const showNew = useCallback(() => {
    const a = argsRef.current;
    if (overflow.current.size > 0) {
      a.reload();
      a.scrollToTop();
      return;
    }
    const rows = pending.current;
    pending.current = [];
    setNewCount(0);
    a.scrollToTop();
    markFresh(store.prepend(rows).map((r) => r.id));
  }, [store, markFresh]);

  return { newCount, showNew, freshIds, reloads: newCount > 0 && overflow.current.size > 0 };
}
