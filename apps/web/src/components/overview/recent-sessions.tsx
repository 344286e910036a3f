'use client';
/**
 * The newest sessions, live: the latest from GET /api/sessions on load, then session:opened rows
 * on top and session:closed filling in user and outcome. Events are applied in batches every
 * FLUSH_MS, so an import of thousands of sessions costs a few renders, not thousands.
 */
import Link from 'next/link';
import { memo, useEffect, useRef, useState } from 'react';
import type { UiSessionClosed, UiSessionOpened } from '@mailscope/shared/agent-protocol';
import { api, errorMessage, qs } from '@/lib/api';
import type { SessionRow } from '@/lib/api-types';
import { endpoint, formatClock, formatTime } from '@/lib/format';
import { useUiEvent } from '@/lib/socket';
import { outcomeBadgeClass } from '../sessions-list/session-filters';
import styles from './overview.module.css';

const ROWS = 20;
const FLUSH_MS = 250;

/** The columns of a GET /api/sessions row this list shows. */
export interface RecentSession extends Pick<SessionRow, 'id' | 'protocol' | 'client' | 'server' | 'startTs' | 'endTs' | 'outcome' | 'authUser' | 'mails'> {
  /** Arrived live on this page (highlighted once). */
  readonly fresh?: boolean;
}

/** Today: time of day; another day: the date too (imported captures are often years old). */
function when(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  return d.toDateString() === new Date().toDateString() ? formatClock(us).slice(0, 8) : formatTime(us, false);
}

type Pending = { kind: 'opened'; s: UiSessionOpened } | { kind: 'closed'; s: UiSessionClosed };

function apply(rows: readonly RecentSession[], events: readonly Pending[]): RecentSession[] {
  // `fresh` stays: the highlight is a CSS animation that runs once, when the row first renders.
  let out = rows.slice();
  for (const e of events) {
    if (e.kind === 'opened') {
      if (out.some((r) => r.id === e.s.id)) continue;
      out.unshift({ id: e.s.id, protocol: e.s.protocol, client: e.s.client, server: e.s.server, startTs: e.s.startTs, endTs: null, outcome: null, authUser: null, mails: 0, fresh: true });
    } else {
      const s = e.s;
      out = out.map((r) => (r.id === s.id ? { ...r, endTs: s.endTs, outcome: s.outcome, authUser: s.authUser, mails: s.mails } : r));
    }
  }
  return out.slice(0, ROWS);
}

/** Memoised: it follows its own events, not the page's capture status. */
export const RecentSessions = memo(function RecentSessions() {
  const [rows, setRows] = useState<readonly RecentSession[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const queue = useRef<Pending[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    let cancelled = false;
    api<{ sessions: RecentSession[] }>(`/sessions${qs({ limit: ROWS })}`).then(
      (r) => {
        if (cancelled) return;
        // Sessions that arrived live while loading stay on top.
        setRows((live) => {
          const l = live ?? [];
          const ids = new Set(l.map((x) => x.id));
          return [...l, ...r.sessions.filter((x) => !ids.has(x.id))].slice(0, ROWS);
        });
      },
      (e: unknown) => {
        if (!cancelled) setError(errorMessage(e));
      },
    );
    return () => {
      cancelled = true;
      if (timer.current !== null) clearTimeout(timer.current);
    };
  }, []);

  const push = (p: Pending) => {
    queue.current.push(p);
    if (timer.current !== null) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      const events = queue.current;
      queue.current = [];
      setRows((prev) => apply(prev ?? [], events));
    }, FLUSH_MS);
  };
  useUiEvent('session:opened', (s) => push({ kind: 'opened', s }));
  useUiEvent('session:closed', (s) => push({ kind: 'closed', s }));

  return (
    <section className={`card ${styles.recent}`} aria-label="newest sessions">
      <header className={styles.recentHead}>
        <h2>Newest sessions</h2>
        <Link href="/sessions" className="small">
          all sessions →
        </Link>
      </header>
      {error !== null ? <div className="alert error">Cannot load the sessions: {error}</div> : null}
      {rows === null && error === null ? <p className="muted">Loading…</p> : null}
      {rows !== null && rows.length === 0 ? (
        <div className="empty">
          <strong>No sessions yet</strong>
          They appear here as they are captured or imported.
        </div>
      ) : null}
      {rows !== null && rows.length > 0 ? (
        <div className={styles.recentList} role="list">
          {rows.map((r) => (
            <Link
              key={r.id}
              href={`/sessions/${r.id}`}
              role="listitem"
              className={`${styles.recentRow} ${r.fresh === true ? styles.fresh : ''}`}
              data-testid="recent-session"
              data-session-id={r.id}
              title={`${r.protocol.toUpperCase()} ${endpoint(r.client.addr, r.client.port)} → ${endpoint(r.server.addr, r.server.port)}`}
            >
              <span className={styles.recentLine}>
                <span className={`badge ${r.protocol}`}>{r.protocol.toUpperCase()}</span>
                <span className={`mono ${styles.endpoints}`}>
                  {r.client.addr} → {endpoint(r.server.addr, r.server.port)}
                </span>
                <span className={outcomeBadgeClass(r.outcome)}>{r.outcome ?? (r.endTs === null ? 'open' : '—')}</span>
              </span>
              <span className={`${styles.recentLine} small muted`}>
                <span>{when(r.startTs)}</span>
                {r.authUser === null ? null : <span className={styles.user}>user {r.authUser}</span>}
                {r.mails > 0 ? <span>{r.mails === 1 ? '1 mail' : `${r.mails} mails`}</span> : null}
              </span>
            </Link>
          ))}
        </div>
      ) : null}
    </section>
  );
});
