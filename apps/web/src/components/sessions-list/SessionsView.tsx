'use client';
/** The Sessions page: filters (in the URL), the virtualised table paged from the API, live inserts. */
import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, qs } from '@/lib/api';
import { formatCount } from '@/lib/format';
import { CaptureChip } from '../list-common/CaptureChip';
import { ClearFilters, DebouncedField, LoadError, SelectField, TimeRangeFields } from '../list-common/FilterFields';
import { loadedStatus, useKeysetList, type Page } from '../list-common/use-keyset-list';
import { useUrlFilters } from '../list-common/use-url-filters';
import { ROW_HEIGHT, type VirtualTableControl } from '../list-common/VirtualTable';
import { parseAddress, parsePort } from '../list-common/validate';
import styles from '../list-common/list.module.css';
import { OUTCOMES, SESSION_FILTER_KEYS, parseSessionFilters, parseText, parseUser, type Outcome, type SessionRow } from './session-filters';
import { SessionTable } from './SessionTable';
import { useLiveSessions } from './use-live-sessions';

/** Rows per request: a screenful many times over, a few hundred KB at most. */
const PAGE_SIZE = 200;

/** Where each list was scrolled when the user left it (by list key), for Back from a session. */
const scrollMemory = new Map<string, number>();

export function SessionsView() {
  const { values, set, clear } = useUrlFilters(SESSION_FILTER_KEYS);
  const filters = useMemo(() => parseSessionFilters(values), [values]);
  const [reloads, setReloads] = useState(0);
  const queryString = qs(filters.query);
  const listKey = `${queryString}#${reloads}`;

  const fetchPage = useCallback(
    async (cursor: string | null, signal: AbortSignal): Promise<Page<SessionRow>> => {
      const res = await api<{ sessions: SessionRow[]; next: string | null }>(`/sessions${qs({ ...filters.query, limit: PAGE_SIZE, cursor })}`, { signal });
      return { rows: res.sessions, next: res.next };
    },
    [filters.query],
  );
  const list = useKeysetList<SessionRow>(listKey, fetchPage, (s) => s.id, 'sessions');
  const { store } = list;

  const control = useRef<VirtualTableControl | null>(null);
  // The table's control as last seen: its scroll offset is still readable once the table is gone.
  const lastControl = useRef<VirtualTableControl | null>(null);
  useEffect(() => {
    if (control.current !== null) lastControl.current = control.current;
  });
  useEffect(
    () => () => {
      const c = lastControl.current;
      if (c !== null) scrollMemory.set(listKey, c.scrollOffset());
    },
    [listKey],
  );
  // Back to a remembered list: what arrived meanwhile goes on top, and the rows the user was
  // looking at stay where they were (rows have a fixed height).
  const restored = list.restored;
  const query = filters.query;
  useEffect(() => {
    if (!restored) return;
    const top = scrollMemory.get(listKey) ?? 0;
    const newest = store.getSnapshot().rows[0];
    let cancelled = false;
    void (async () => {
      let added = 0;
      if (newest !== undefined) {
        try {
          const from = Math.max(Number(query.from ?? 0), newest.startTs);
          const res = await api<{ sessions: SessionRow[]; next: string | null }>(`/sessions${qs({ ...query, from, limit: PAGE_SIZE })}`);
          if (cancelled) return;
          if (res.next !== null) {
            // More arrived than one page: start again from the newest.
            setReloads((n) => n + 1);
            return;
          }
          added = store.prepend(res.sessions).length;
        } catch {
          // The list stays as it was; live updates go on.
        }
      }
      if (cancelled) return;
      requestAnimationFrame(() => control.current?.scrollToOffset(top === 0 ? 0 : top + added * ROW_HEIGHT));
    })();
    return () => {
      cancelled = true;
    };
  }, [restored, listKey, store, query]);
  const live = useLiveSessions({
    store,
    ready: list.ready && list.error === null,
    filters,
    listKey,
    isAtTop: () => control.current?.isAtTop() ?? true,
    reload: () => setReloads((n) => n + 1),
    scrollToTop: () => control.current?.scrollToTop(),
  });

  const loadMore = useCallback(() => store.loadMore(), [store]);
  const outcome = OUTCOMES.some((o) => o.value === values.outcome) ? (values.outcome as Outcome) : '';

  const status = loadedStatus(list, 'session');

  const noneAtAll = list.ready && list.error === null && list.rows.length === 0 && !filters.active;
  const noneMatching = list.ready && list.error === null && list.rows.length === 0 && filters.active;

  return (
    <div className={styles.page}>
      <div className={styles.header}>
        <h1>Sessions</h1>
        <span className={styles.status} data-testid="sessions-loaded" aria-live="polite">{status}</span>
      </div>

      <div className={styles.filters} role="search" aria-label="Filter sessions">
        <SelectField
          label="Protocol"
          testId="filter-protocol"
          value={values.protocol === 'smtp' || values.protocol === 'pop3' ? values.protocol : ''}
          options={[{ value: 'smtp', label: 'SMTP' }, { value: 'pop3', label: 'POP3' }]}
          onChange={(v) => set({ protocol: v })}
          error={filters.errors.protocol}
        />
        <SelectField
          label="Outcome"
          testId="filter-outcome"
          value={outcome}
          options={OUTCOMES}
          onChange={(v) => set({ outcome: v })}
          error={filters.errors.outcome}
        />
        <DebouncedField
          label="Address"
          testId="filter-address"
          value={values.address}
          parse={parseAddress}
          onCommit={(v) => set({ address: v }, 'replace')}
          externalError={filters.errors.address}
          placeholder="client or server IP"
          title="The client's or the server's address, exactly"
          width={150}
        />
        <DebouncedField
          label="Port"
          testId="filter-port"
          value={values.port}
          parse={parsePort}
          onCommit={(v) => set({ port: v }, 'replace')}
          externalError={filters.errors.port}
          placeholder="25"
          inputMode="numeric"
          title="The client's or the server's port"
          width={70}
        />
        <DebouncedField
          label="User"
          testId="filter-user"
          value={values.user}
          parse={parseUser}
          onCommit={(v) => set({ user: v }, 'replace')}
          externalError={filters.errors.user}
          placeholder="exact user name"
          title="The authenticated user name, exactly"
          width={150}
        />
        <DebouncedField
          label="Search"
          testId="filter-text"
          type="search"
          value={values.text}
          parse={parseText}
          onCommit={(v) => set({ text: v }, 'replace')}
          externalError={filters.errors.text}
          placeholder="subject, address, HELO, user"
          title="Part of a mail's subject or an address in it, the HELO name or the user"
          width={200}
        />
        <TimeRangeFields from={values.from} to={values.to} errors={filters.errors} onCommit={(v) => set(v, 'replace')} subject="Sessions that started" />
        {filters.active && <ClearFilters onClear={clear} />}
      </div>

      {values.captureId !== '' && (
        <div className={styles.chips}>
          <CaptureChip captureId={values.captureId} invalid={filters.errors.captureId !== undefined} what="sessions" onRemove={() => set({ captureId: '' })} />
        </div>
      )}

      {list.error !== null && list.rows.length === 0 && <LoadError what="sessions" error={list.error} onRetry={loadMore} />}

      <div className={styles.listWrap}>
        {live.newCount > 0 && (
          <button
            type="button"
            className={styles.newButton}
            onClick={live.showNew}
            data-testid="sessions-new"
            title={live.reloads ? 'Reload the list: the new sessions take their place by start time' : 'Show them at the top'}
          >
            ↑ {formatCount(live.newCount)} new session{live.newCount === 1 ? '' : 's'}
            {live.reloads ? ': reload' : ''}
          </button>
        )}
        {noneAtAll ? (
          <div className="empty" data-testid="sessions-empty">
            <strong>No sessions yet</strong>
            Start a capture on the <Link href="/">Overview</Link> page, or <Link href="/import">import a capture file</Link> (pcap or pcapng).
          </div>
        ) : noneMatching ? (
          <div className="empty" data-testid="sessions-empty">
            <strong>No sessions match these filters</strong>
            <button type="button" className="link" onClick={clear}>
              Clear filters
            </button>{' '}
            to see every session.
          </div>
        ) : (
          <SessionTable
            rows={list.rows}
            freshIds={live.freshIds}
            hasMore={list.next !== null}
            loading={list.loading}
            error={list.rows.length > 0 ? list.error : null}
            onEndReached={loadMore}
            onRetry={loadMore}
            controlRef={control}
          />
        )}
      </div>
    </div>
  );
}
