'use client';
/**
 * PacketTable: a Wireshark-like packet list, virtualised (fixed-height rows, only those in view in
 * the DOM), used by the Packets page and by a session's Packets tab.
 *
 * Contract (keep it stable, other pages import it):
 * - `rows`: the packets in display order, as the API returns them (`PacketRow`). The table never
 *   fetches; the caller pages and passes `loadMore`.
 * - `selection`: the selected packet(s) as `packetKey(row)` (`captureId:frameNo`); a single key, a
 *   set of keys (e.g. the frames of a timeline entry), or null. When it changes to a key of a row
 *   that is loaded, that row is scrolled into view.
 * - `onSelect(row)`: a click on a row, or ArrowUp / ArrowDown while the table has focus (which moves
 *   from the first selected row). Without it rows are not selectable.
 * - `onOpen(row)`: Enter or a double click on a row (optional).
 * - `loadMore()`: called when the view comes near the end of `rows` while `hasMore` is true and
 *   `loading` is false; the caller fetches the next page (repeat calls while loading are harmless).
 * - `hasMore`, `loading`, `error`, `onRetry`: the footer row ("Loading…", the error with Retry).
 * - `showSession` (default true): the Session column, a link to /sessions/<id>.
 * - `timeBase` (µs): when set, the Time column shows seconds since it (e.g. the session's start),
 *   else the time of day with µs (with the date when the loaded rows span more than one day).
 * - `style` / `className`: size the table (it scrolls inside; give it a height or a flex parent).
 * Rows carry data-testid="packet-row", data-packet-id="<captureId>:<frameNo>", data-frame,
 * aria-selected.
 */
import Link from 'next/link';
import { memo, useEffect, useRef, type CSSProperties, type KeyboardEvent } from 'react';
import { endpoint, formatClock, formatCount, formatTime } from '@/lib/format';
import { VirtualTable, type VirtualTableControl } from '../list-common/VirtualTable';
import common from '../list-common/list.module.css';
import styles from './packets.module.css';
import { flagLetters, flagNames, packetKey, type PacketRow } from './packet-types';

export { packetKey, type PacketRow } from './packet-types';

export interface PacketTableProps {
  readonly rows: readonly PacketRow[];
  readonly selection?: string | ReadonlySet<string> | null;
  readonly onSelect?: (row: PacketRow) => void;
  readonly onOpen?: (row: PacketRow) => void;
  readonly loadMore?: () => void;
  readonly hasMore?: boolean;
  readonly loading?: boolean;
  readonly error?: string | null;
  readonly onRetry?: () => void;
  readonly showSession?: boolean;
  readonly timeBase?: number | null;
  readonly ariaLabel?: string;
  readonly className?: string;
  readonly style?: CSSProperties;
}

/** Columns after No. and Time. */
const REST = 'minmax(150px, 1fr) minmax(150px, 1fr) 62px 58px 52px minmax(300px, 4fr)';
const SESSION_COLUMN = ' 70px';

const dayOf = (ts: number): number => new Date(Math.floor(ts / 1000)).setHours(0, 0, 0, 0);

function isSelected(selection: PacketTableProps['selection'], key: string): boolean {
  if (selection === undefined || selection === null) return false;
  return typeof selection === 'string' ? selection === key : selection.has(key);
}

function Info({ p }: { readonly p: PacketRow }) {
  let text = p.info;
  // The engine prefixes TCP analysis labels ("[retransmission] C: ..."); they become badges.
  if (p.tcpAnalysis.length > 0 && text.startsWith('[')) {
    const end = text.indexOf('] ');
    if (end > 0) text = text.slice(end + 2);
  }
  const side = text.startsWith('C: ') ? styles.infoClient : text.startsWith('S: ') ? styles.infoServer : undefined;
  return (
    <span className={styles.info} title={p.info}>
      {p.tcpAnalysis.map((a) => (
        <span key={a} className={`badge ${a === 'retransmission' || a === 'out-of-order' || a === 'overlap' ? 'warn' : ''} ${styles.analysis}`}>
          {a}
        </span>
      ))}
      <span className={side}>{text}</span>
    </span>
  );
}

/** One row; memoised so scrolling renders only the rows that come into view. */
const PacketRowView = memo(function PacketRowView({ p, index, className, style, selected, onSelect, onOpen, showSession, time, timeBase }: {
  readonly p: PacketRow;
  readonly index: number;
  readonly className: string;
  readonly style: CSSProperties;
  readonly selected: boolean;
  readonly onSelect: ((row: PacketRow) => void) | undefined;
  readonly onOpen: ((row: PacketRow) => void) | undefined;
  readonly showSession: boolean;
  readonly time: 'clock' | 'date' | 'relative';
  readonly timeBase: number;
}) {
  const srcSide = p.dir === 'client' ? common.client : p.dir === 'server' ? common.server : '';
  const dstSide = p.dir === 'client' ? common.server : p.dir === 'server' ? common.client : '';
  return (
    <div
      data-index={index}
      className={`${className}${onSelect !== undefined ? ' clickable' : ''}${selected ? ' selected' : ''}`}
      style={style}
      data-testid="packet-row"
      data-packet-id={packetKey(p)}
      data-frame={p.frameNo}
      aria-selected={selected}
      onClick={onSelect === undefined ? undefined : () => onSelect(p)}
      onDoubleClick={onOpen === undefined ? undefined : () => onOpen(p)}
    >
      <span className={common.num} title={`frame ${p.frameNo} of capture ${p.captureId}`}>{p.frameNo}</span>
      <span className="mono" title={formatTime(p.ts)}>
        {time === 'relative' ? relativeTime(p.ts, timeBase) : time === 'date' ? `${formatTime(p.ts, false).slice(0, 10)} ${formatClock(p.ts)}` : formatClock(p.ts)}
      </span>
      <span className={`mono ${srcSide}`}>{p.srcPort === null ? p.src : endpoint(p.src, p.srcPort)}</span>
      <span className={`mono ${dstSide}`}>{p.dstPort === null ? p.dst : endpoint(p.dst, p.dstPort)}</span>
      <span>{p.protocol === 'SMTP' || p.protocol === 'POP3' ? <span className={`badge ${p.protocol.toLowerCase()}`}>{p.protocol}</span> : p.protocol}</span>
      <span className={common.num} title={p.capturedLength < p.length ? `${formatCount(p.capturedLength)} of ${formatCount(p.length)} bytes captured` : `${formatCount(p.length)} bytes`}>
        {formatCount(p.length)}
      </span>
      <span className={`mono ${styles.flags}`} title={p.tcpFlags === null ? 'not TCP' : flagNames(p.tcpFlags).join(', ') || 'no flags'}>
        {p.tcpFlags === null ? '' : flagLetters(p.tcpFlags)}
      </span>
      <Info p={p} />
      {showSession && (
        <span>
          {p.sessionId === null ? (
            <span className="muted">—</span>
          ) : (
            <Link href={`/sessions/${p.sessionId}`} prefetch={false} onClick={(e) => e.stopPropagation()} title={`open session ${p.sessionId}`}>
              #{p.sessionId}
            </Link>
          )}
        </span>
      )}
    </div>
  );
});

function relativeTime(ts: number, base: number): string {
  const d = (ts - base) / 1e6;
  return d.toFixed(6);
}

export function PacketTable(props: PacketTableProps) {
  const { rows, selection, onSelect, onOpen } = props;
  const showSession = props.showSession ?? true;
  const relative = props.timeBase !== undefined && props.timeBase !== null;
  const first = rows[0];
  const last = rows[rows.length - 1];
  const withDate = !relative && first !== undefined && last !== undefined && dayOf(first.ts) !== dayOf(last.ts);
  const columns = `62px ${withDate ? '196px' : relative ? '96px' : '118px'} ${REST}${showSession ? SESSION_COLUMN : ''}`;
  const control = useRef<VirtualTableControl | null>(null);

  // Bring a newly selected packet into view (e.g. chosen from a session's timeline).
  const single = typeof selection === 'string' ? selection : selection instanceof Set ? (selection.values().next().value ?? null) : null;
  const lastScrolled = useRef<string | null>(null);
  useEffect(() => {
    if (single === null || single === lastScrolled.current) return;
    const i = rows.findIndex((r) => packetKey(r) === single);
    if (i < 0) return;
    lastScrolled.current = single;
    control.current?.scrollToIndex(i);
  }, [single, rows]);

  const selectedIndex = (): number => {
    if (selection === undefined || selection === null) return -1;
    return rows.findIndex((r) => isSelected(selection, packetKey(r)));
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (rows.length === 0) return;
    if (e.key === 'Enter' && onOpen !== undefined) {
      const i = selectedIndex();
      if (i >= 0) onOpen(rows[i]!);
      return;
    }
    if (onSelect === undefined) return;
    let to: number;
    const from = selectedIndex();
    if (e.key === 'ArrowDown') to = from < 0 ? 0 : Math.min(rows.length - 1, from + 1);
    else if (e.key === 'ArrowUp') to = from < 0 ? 0 : Math.max(0, from - 1);
    else if (e.key === 'Home') to = 0;
    else if (e.key === 'End') to = rows.length - 1;
    else return;
    e.preventDefault();
    lastScrolled.current = packetKey(rows[to]!);
    control.current?.scrollToIndex(to);
    onSelect(rows[to]!);
  };

  return (
    <VirtualTable
      rows={rows}
      columns={columns}
      minWidth={(showSession ? 1060 : 990) + (withDate ? 78 : 0)}
      ariaLabel={props.ariaLabel ?? 'Packets'}
      rowKey={packetKey}
      hasMore={props.hasMore ?? false}
      loading={props.loading ?? false}
      error={props.error ?? null}
      onEndReached={props.loadMore}
      onRetry={props.onRetry ?? props.loadMore}
      onKeyDown={onKeyDown}
      controlRef={control}
      tabIndex={0}
      className={props.className}
      style={props.style}
      header={
        <>
          <span className={common.num}>No.</span>
          <span title={relative ? 'seconds since the start' : undefined}>{relative ? 'Time (s)' : 'Time'}</span>
          <span>Source</span>
          <span>Destination</span>
          <span>Proto</span>
          <span className={common.num} title="bytes on the wire">Len</span>
          <span title="TCP flags: S SYN, A ACK, P PSH, F FIN, R RST, U URG, E ECE, C CWR">Flags</span>
          <span>Info</span>
          {showSession && <span>Session</span>}
        </>
      }
      renderRow={(p, r) => {
        const key = packetKey(p);
        return (
          <PacketRowView
            key={key}
            p={p}
            index={r.index}
            className={r.className}
            style={r.style}
            selected={isSelected(selection, key)}
            onSelect={onSelect}
            onOpen={onOpen}
            showSession={showSession}
            time={relative ? 'relative' : withDate ? 'date' : 'clock'}
            timeBase={props.timeBase ?? 0}
          />
        );
      }}
    />
  );
}
