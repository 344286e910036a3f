'use client';
/**
 * The mail list: filters in the URL (q, direction, sessionId), keyset pages of 100 loaded as the
 * user scrolls a virtualised list, and the mails of live `mail` events inserted in their place
 * (fetched again through the list route with the same filters, so a search still applies).
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import { api, qs } from '@/lib/api';
import { formatBytes, formatCount, formatTime } from '@/lib/format';
import { useUiEvent } from '@/lib/socket';
import { useFreshIds } from '../list-common/use-fresh-ids';
import { useKeysetList, type Page } from '../list-common/use-keyset-list';
import { useUrlFilters } from '../list-common/use-url-filters';
import { isId } from '../list-common/validate';
import styles from './mails.module.css';
import { Paperclip } from './paperclip';
import { compareMails, recipientsOf, senderOf, type MailDirection, type MailPage, type MailRow } from './types';

const PAGE = 100;
const ROW_HEIGHT = 30;
/** Load the next page when the last rendered row is this close to the end of what is loaded. */
const PREFETCH_ROWS = 40;
/** The list route takes at most 100 ids at a time. */
const MAX_LIVE_IDS = 100;
/** Live events are gathered this long and fetched in one request (a capture can bring dozens a second). */
const LIVE_BATCH_MS = 300;
const FILTER_KEYS = ['q', 'direction', 'sessionId'] as const;
const COLUMNS = '150px minmax(150px, 1.2fr) minmax(150px, 1.2fr) minmax(220px, 2.4fr) 72px 44px 84px 72px 78px';

interface Filters {
  readonly q: string;
  readonly direction: MailDirection | '';
  readonly sessionId: string;
}

function filterQuery(f: Filters) {
  return { q: f.q, direction: f.direction, sessionId: f.sessionId };
}

export function MailList() {
  const router = useRouter();
  const { values, set } = useUrlFilters(FILTER_KEYS);
  const q = values.q;
  const direction: Filters['direction'] = values.direction === 'sent' || values.direction === 'retrieved' ? values.direction : '';
  const sessionId = isId(values.sessionId) ? values.sessionId : '';
  const filters = useMemo<Filters>(() => ({ q, direction, sessionId }), [q, direction, sessionId]);

  const { freshIds: fresh, markFresh } = useFreshIds();
  const [newAbove, setNewAbove] = useState(0);

  // The search box is typed into freely and pushed to the URL after a pause; a URL changed from
  // elsewhere (back button, a link) replaces what is in the box.
  const [text, setText] = useState(q);
  const pushed = useRef(q);
  useEffect(() => {
    if (q !== pushed.current) {
      pushed.current = q;
      setText(q);
    }
  }, [q]);
  useEffect(() => {
    const t = text.trim();
    if (t === pushed.current) return;
    const timer = window.setTimeout(() => {
      pushed.current = t;
      set({ q: t }, 'replace');
    }, 300);
    return () => window.clearTimeout(timer);
  }, [text, set]);

  const scrollRef = useRef<HTMLDivElement>(null);

  // First page whenever the filters change (or after a failed first page, on Try again).
  const [reloads, setReloads] = useState(0);
  const listKey = `${qs(filterQuery(filters))}#${reloads}`;
  const fetchPage = useCallback(
    async (cursor: string | null, signal: AbortSignal): Promise<Page<MailRow>> => {
      const p = await api<MailPage>(`/mails${qs({ ...filterQuery(filters), limit: PAGE, cursor })}`, { signal });
      return { rows: p.mails, next: p.next };
    },
    [filters],
  );
  const state = useKeysetList<MailRow>(listKey, fetchPage, (m) => m.id);
  const { store } = state;
  const loadMore = useCallback(() => store.loadMore(), [store]);
  const retry = () => {
    if (state.rows.length === 0) setReloads((n) => n + 1);
    else loadMore();
  };
  const gen = useRef(0);
  useEffect(() => {
    gen.current++;
    setNewAbove(0);
    scrollRef.current?.scrollTo({ top: 0 });
  }, [listKey]);

  // Live mails: gather the ids, fetch them with the current filters, insert those that fall inside
  // what is loaded (older ones arrive with the pages further down).
  const pending = useRef(new Set<string>());
  const liveTimer = useRef<number | null>(null);
  const flushLive = useCallback(() => {
    liveTimer.current = null;
    const ids = [...pending.current].slice(0, MAX_LIVE_IDS);
    for (const id of ids) pending.current.delete(id);
    if (pending.current.size > 0) liveTimer.current = window.setTimeout(flushLive, LIVE_BATCH_MS);
    if (ids.length === 0) return;
    const g = gen.current;
    api<MailPage>(`/mails${qs({ ...filterQuery(filters), ids: ids.join(','), limit: MAX_LIVE_IDS })}`).then(
      (p) => {
        if (g !== gen.current || p.mails.length === 0) return;
        const cur = store.getSnapshot();
        if (!cur.ready) return;
        const last = cur.rows[cur.rows.length - 1];
        const add = store.insert(p.mails.filter((m) => cur.next === null || last === undefined || compareMails(m, last) < 0), compareMails);
        if (add.length === 0) return;
        markFresh(add.map((m) => m.id));
        if ((scrollRef.current?.scrollTop ?? 0) > ROW_HEIGHT) setNewAbove((n) => n + add.length);
      },
      () => {
        // A live insert that fails is not worth an error banner: the mail is in the list on reload.
      },
    );
  }, [filters, store, markFresh]);
  useUiEvent('mail', (m) => {
    pending.current.add(m.id);
    if (liveTimer.current === null) liveTimer.current = window.setTimeout(flushLive, LIVE_BATCH_MS);
  });
  useEffect(
    () => () => {
      if (liveTimer.current !== null) window.clearTimeout(liveTimer.current);
    },
    [],
  );

  const rows = state.rows;
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
    getItemKey: (i) => rows[i]?.id ?? i,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length > 0 ? items[items.length - 1]!.index : -1;
  useEffect(() => {
    if (lastIndex >= rows.length - PREFETCH_ROWS) loadMore();
  }, [lastIndex, rows.length, loadMore]);

  const open = (e: MouseEvent, id: string) => {
    if ((e.target as HTMLElement).closest('a, button') !== null) return;
    if (e.metaKey || e.ctrlKey) {
      window.open(`/mails/${id}`, '_blank', 'noopener');
      return;
    }
    router.push(`/mails/${id}`);
  };

  const filtered = q !== '' || direction !== '' || sessionId !== '';

  return (
    <div>
      <div className="toolbar">
        <label>
          Search
          <input
            type="search"
            name="q"
            className={styles.search}
            data-testid="mails-search"
            placeholder="subject, From, MAIL FROM or a recipient address"
            value={text}
            onChange={(e) => setText(e.target.value)}
            maxLength={200}
          />
        </label>
        <label>
          Direction
          <select name="direction" data-testid="mails-direction" value={direction} onChange={(e) => set({ direction: e.target.value }, 'replace')}>
            <option value="">sent and retrieved</option>
            <option value="sent">sent (SMTP)</option>
            <option value="retrieved">retrieved (POP3)</option>
          </select>
        </label>
        {sessionId !== '' && (
          <span className={styles.chip} data-testid="mails-session-filter">
            session <Link href={`/sessions/${sessionId}`}>#{sessionId}</Link>
            <button type="button" title="show the mails of every session" aria-label="clear the session filter" onClick={() => set({ sessionId: '' }, 'replace')}>
              ×
            </button>
          </span>
        )}
        <span className="spacer" />
        <span className="muted small" data-testid="mails-count">
          {state.ready ? `${formatCount(rows.length)} mail${rows.length === 1 ? '' : 's'}${state.next !== null ? ' loaded, more as you scroll' : ''}` : 'Loading…'}
        </span>
      </div>

      {state.error !== null && (
        <div className="alert error" role="alert" style={{ marginBottom: 8 }}>
          Cannot load mails: {state.error}.{' '}
          <button type="button" className="link" onClick={retry}>
            Try again
          </button>
        </div>
      )}

      {state.ready && rows.length === 0 && state.error === null ? (
        <div className="empty" data-testid="mails-empty">
          {filtered ? (
            <>
              <strong>No mail matches {q !== '' ? `“${q}”` : 'these filters'}</strong>
              Search looks in the subject, the From header and MAIL FROM (any part), and recipients (the whole address).{' '}
              <Link href="/mails">Show every mail</Link>
            </>
          ) : (
            <>
              <strong>No mails yet</strong>
              Mails appear here as soon as a capture sees SMTP or POP3 carry one: start a capture, or import a pcap on the{' '}
              <Link href="/import">Import</Link> page.
            </>
          )}
        </div>
      ) : (
        <div
          ref={scrollRef}
          className={`vlist ${styles.list}`}
          data-testid="mails-list"
          onScroll={newAbove > 0 ? (e) => (e.currentTarget.scrollTop <= ROW_HEIGHT ? setNewAbove(0) : undefined) : undefined}
        >
          <div style={{ minWidth: 1040 }}>
            <div className={`vrow head ${styles.head}`} style={{ gridTemplateColumns: COLUMNS }} role="row">
              <span>Time</span>
              <span>From</span>
              <span>To</span>
              <span>Subject</span>
              <span className={styles.num}>Size</span>
              <span title="attachments">
                <Paperclip title="attachments" />
              </span>
              <span>Direction</span>
              <span>Session</span>
              <span>Saved</span>
            </div>
            <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
              {items.map((v) => {
                const m = rows[v.index];
                if (m === undefined) return null;
                const to = recipientsOf(m);
                return (
                  <div
                    key={m.id}
                    data-testid="mail-row"
                    data-mail-id={m.id}
                    className={`vrow clickable ${styles.row}${fresh.has(m.id) ? ' fresh' : ''}`}
                    style={{ position: 'absolute', top: 0, left: 0, width: '100%', height: v.size, transform: `translateY(${v.start}px)`, gridTemplateColumns: COLUMNS }}
                    onClick={(e) => open(e, m.id)}
                    role="row"
                  >
                    <span title={m.date !== null ? `Date header: ${m.date}` : 'no Date header'}>{formatTime(m.startTs, false)}</span>
                    <span title={m.mailFrom !== null && m.mailFrom !== m.from ? `MAIL FROM: ${m.mailFrom}` : undefined}>{senderOf(m)}</span>
                    <span title={to.join(', ')}>
                      {to[0] ?? ''}
                      {to.length > 1 && <span className="muted"> +{to.length - 1}</span>}
                    </span>
                    <span>
                      <Link href={`/mails/${m.id}`} className={styles.subjectLink} prefetch={false}>
                        {m.subject !== null && m.subject !== '' ? m.subject : <span className={styles.noSubject}>(no subject)</span>}
                      </Link>
                      {!m.complete && (
                        <>
                          {' '}
                          <span className="badge warn" title="the capture did not see the whole mail">truncated</span>
                        </>
                      )}
                    </span>
                    <span className={styles.num}>{formatBytes(m.size)}</span>
                    <span title={m.attachments > 0 ? `${m.attachments} attachment${m.attachments === 1 ? '' : 's'}` : undefined}>
                      {m.attachments > 0 && (
                        <>
                          <Paperclip /> {m.attachments}
                        </>
                      )}
                    </span>
                    <span>
                      <span className={`badge ${m.direction === 'sent' ? 'smtp' : 'pop3'}`} title={m.direction === 'sent' ? 'sent over SMTP' : 'retrieved over POP3'}>
                        {m.direction}
                      </span>
                    </span>
                    <span>
                      <Link href={`/sessions/${m.sessionId}`} prefetch={false}>
                        #{m.sessionId}
                      </Link>
                    </span>
                    <span>
                      {m.hasRaw ? (
                        <span className="badge ok" title="the mail's bytes were kept: an admin can download it">saved</span>
                      ) : (
                        <span className="muted small" title="Save Mail was off: only the summary was kept">not saved</span>
                      )}
                    </span>
                  </div>
                );
              })}
            </div>
          </div>
        </div>
      )}
      <div className={styles.status}>
        {newAbove > 0 && (
          <button
            type="button"
            className="link"
            onClick={() => {
              scrollRef.current?.scrollTo({ top: 0, behavior: 'smooth' });
              setNewAbove(0);
            }}
          >
            {newAbove} new mail{newAbove === 1 ? '' : 's'} above: show
          </button>
        )}
        {state.ready && rows.length > 0 && state.next === null && <span>end of the list</span>}
      </div>
    </div>
  );
}
