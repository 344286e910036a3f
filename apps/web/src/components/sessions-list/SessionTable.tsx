'use client';
/**
 * The sessions table: one fixed-height row per session, each a real link to /sessions/<id>
 * (click, Enter, middle-click and "open in new tab" all work); arrow keys move between rows.
 */
import Link from 'next/link';
import { memo, useRef, type CSSProperties, type KeyboardEvent, type RefObject } from 'react';
import { endpoint, formatCount, formatDuration, formatTime } from '@/lib/format';
import { VirtualTable, type VirtualTableControl } from '../list-common/VirtualTable';
import styles from '../list-common/list.module.css';
import { outcomeBadgeClass, outcomeInfo, type SessionRow } from './session-filters';

const COLUMNS = '176px 58px minmax(260px, 2fr) minmax(150px, 1.2fr) 100px 54px 96px 86px minmax(130px, 1fr)';
const MIN_WIDTH = 1110;

export function OutcomeBadge({ outcome, state }: { readonly outcome: string | null; readonly state?: string }) {
  const info = outcomeInfo(outcome);
  if (info === null) {
    return state === 'open' ? <span className="badge" title="still open: the outcome is known when it closes">open</span> : <span className="muted">—</span>;
  }
  return (
    <span className={outcomeBadgeClass(outcome)} title={info.title}>
      {info.label}
    </span>
  );
}

export function ProtocolBadge({ protocol }: { readonly protocol: string }) {
  const p = protocol.toLowerCase();
  return <span className={`badge ${p === 'smtp' || p === 'pop3' ? p : ''}`}>{protocol.toUpperCase()}</span>;
}

function UserCell({ s }: { readonly s: SessionRow }) {
  if (s.authUser === null && s.authMechanism === null) return <span className="muted">—</span>;
  const failed = s.authSuccess === false;
  const title = [
    s.authUser === null ? 'no user name seen' : `user ${s.authUser}`,
    s.authMechanism === null ? null : `mechanism ${s.authMechanism}`,
    failed ? 'authentication FAILED' : s.authSuccess === true ? 'authenticated' : 'outcome of the login not seen',
  ].filter((x) => x !== null).join(', ');
  return (
    <span title={title}>
      {failed && <span className={styles.failText} aria-label="authentication failed">✗ </span>}
      <span className={failed ? styles.failText : undefined}>{s.authUser ?? <span className="muted">(no user)</span>}</span>
      {s.authMechanism !== null && <span className={styles.sub}>{s.authMechanism}</span>}
    </span>
  );
}

function FlagsCell({ s }: { readonly s: SessionRow }) {
  return (
    <span className={styles.flags}>
      {s.encrypted && <span className="badge" title="encrypted (STARTTLS / STLS or TLS): the dialogue after the handshake cannot be read">TLS</span>}
      {s.retransmissions > 0 && <span className="badge warn" title={`${s.retransmissions} TCP retransmissions`}>retx {s.retransmissions}</span>}
      {s.gaps > 0 && <span className="badge fail" title={`${s.gaps} gaps: bytes the capture never saw`}>gap {s.gaps}</span>}
      {s.anomalies > 0 && <span className="badge warn" title={`${s.anomalies} protocol anomalies (see the session's timeline)`}>anom {s.anomalies}</span>}
    </span>
  );
}

/** One row; memoised so scrolling renders only the rows that come into view. */
const SessionRowLink = memo(function SessionRowLink({ s, index, className, style, fresh }: {
  readonly s: SessionRow;
  readonly index: number;
  readonly className: string;
  readonly style: CSSProperties;
  readonly fresh: boolean;
}) {
  const client = endpoint(s.client.addr, s.client.port);
  const server = endpoint(s.server.addr, s.server.port);
  const start = formatTime(s.startTs);
  return (
    <Link
      href={`/sessions/${s.id}`}
      prefetch={false}
      data-index={index}
      className={`${className} clickable${fresh ? ' fresh' : ''}`}
      style={style}
      data-testid="session-row"
      data-session-id={s.id}
      data-protocol={s.protocol}
      data-outcome={s.outcome ?? ''}
    >
      <span className="mono">{start}</span>
      <span><ProtocolBadge protocol={s.protocol} /></span>
      <span className="mono" title={`${client} → ${server}${s.helo === null ? '' : ` (HELO ${s.helo})`}`}>
        <span className={styles.client}>{client}</span>
        <span className={styles.arrow}>→</span>
        <span className={styles.server}>{server}</span>
      </span>
      <UserCell s={s} />
      <span><OutcomeBadge outcome={s.outcome} state={s.state} /></span>
      <span className={styles.num}>{s.mails > 0 ? formatCount(s.mails) : <span className="muted">0</span>}</span>
      <span className={styles.num}>{s.endTs === null ? <span className="muted">open</span> : formatDuration(s.endTs - s.startTs)}</span>
      <span className={styles.num} data-testid="session-packets" title={`${formatCount(s.packets.client)} packets from the client, ${formatCount(s.packets.server)} from the server`}>
        {formatCount(s.packets.client)} / {formatCount(s.packets.server)}
      </span>
      <FlagsCell s={s} />
    </Link>
  );
});

export interface SessionTableProps {
  readonly rows: readonly SessionRow[];
  readonly freshIds: ReadonlySet<string>;
  readonly hasMore: boolean;
  readonly loading: boolean;
  readonly error: string | null;
  readonly onEndReached: () => void;
  readonly onRetry: () => void;
  readonly onAtTopChange?: (atTop: boolean) => void;
  readonly controlRef: RefObject<VirtualTableControl | null>;
}

export function SessionTable(props: SessionTableProps) {
  const { controlRef } = props;
  // The row focus is moving to (it may not be rendered yet): key repeats count from it.
  const target = useRef<number | null>(null);
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const active = Number((document.activeElement as HTMLElement | null)?.dataset.index ?? -1);
    const from = target.current ?? active;
    const to = Math.max(0, Math.min(props.rows.length - 1, from + (e.key === 'ArrowDown' ? 1 : -1)));
    if (to === from || props.rows.length === 0) return;
    e.preventDefault();
    const control = controlRef.current;
    control?.scrollToIndex(to);
    const el = control?.rowElement(to);
    if (el !== null && el !== undefined) {
      el.focus({ preventScroll: true });
      target.current = null;
      return;
    }
    target.current = to;
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        controlRef.current?.rowElement(to)?.focus({ preventScroll: true });
        if (target.current === to) target.current = null;
      }),
    );
  };

  return (
    <VirtualTable
      rows={props.rows}
      columns={COLUMNS}
      minWidth={MIN_WIDTH}
      ariaLabel="Sessions"
      rowKey={(s) => s.id}
      hasMore={props.hasMore}
      loading={props.loading}
      error={props.error}
      onEndReached={props.onEndReached}
      onRetry={props.onRetry}
      onAtTopChange={props.onAtTopChange}
      onKeyDown={onKeyDown}
      controlRef={controlRef}
      header={
        <>
          <span>Start</span>
          <span>Proto</span>
          <span>Client → server</span>
          <span>User</span>
          <span>Outcome</span>
          <span className={styles.num} title="mails sent or retrieved">Mails</span>
          <span className={styles.num}>Duration</span>
          <span className={styles.num} title="packets from the client / from the server">Pkts c/s</span>
          <span>Flags</span>
        </>
      }
      renderRow={(s, p) => <SessionRowLink key={s.id} s={s} index={p.index} className={p.className} style={p.style} fresh={props.freshIds.has(s.id)} />}
    />
  );
}
