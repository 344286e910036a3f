'use client';
/**
 * The Packets tab: the session's packets in frame order, virtualised (a long session has tens of
 * thousands), loaded page by page from GET /sessions/:id/packets. The selection is shared with the
 * dialogue: a selected entry highlights the packets that carried it, a selected packet names the
 * entries it carried.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, errorMessage, qs } from '@/lib/api';
import { endpoint, formatClock, formatCount, formatDuration } from '@/lib/format';
import { tcpFlagsText } from './dialogue-model';
import styles from './session.module.css';
import type { PacketPage, PacketRow, Selection, SessionInfo, TimelineEntry } from './types';

/** Rows per request: the API's largest page. */
const PAGE = 500;
/** Rows loaded before asking (a page stays responsive; the .pcap has them all). */
const AUTO_LIMIT = 50_000;
const ROW_HEIGHT = 24;
const COLUMNS = '64px 118px 84px minmax(120px, 1fr) minmax(120px, 1fr) 64px 64px 118px minmax(200px, 3fr)';

export interface PacketsState {
  readonly rows: readonly PacketRow[];
  readonly loading: boolean;
  readonly done: boolean;
  readonly error: string | null;
  /** Past AUTO_LIMIT: load the next AUTO_LIMIT rows. */
  readonly more: () => void;
}

/** All the session's packets (up to AUTO_LIMIT, then on demand) once `enabled`; reloaded when `version` changes. */
export function usePackets(sessionId: string, enabled: boolean, version: number): PacketsState {
  const [rows, setRows] = useState<readonly PacketRow[]>([]);
  const [loading, setLoading] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [budget, setBudget] = useState(AUTO_LIMIT);
  const cursor = useRef<string | null>(null);
  const loadedVersion = useRef(-1);

  useEffect(() => {
    if (!enabled) return;
    let cancelled = false;
    const fresh = loadedVersion.current !== version;
    const run = async () => {
      setLoading(true);
      setError(null);
      let acc: PacketRow[] = [];
      let next: string | null = null;
      if (fresh) {
        loadedVersion.current = version;
        cursor.current = null;
      } else {
        acc = [...rows];
        next = cursor.current;
        if (next === null && acc.length > 0) {
          setLoading(false);
          return;
        }
      }
      try {
        do {
          const page: PacketPage = await api<PacketPage>(`/sessions/${sessionId}/packets${qs({ limit: PAGE, cursor: next })}`);
          if (cancelled) return;
          acc = acc.concat(page.packets);
          next = page.next;
          cursor.current = next;
          setRows(acc);
        } while (next !== null && acc.length < budget);
        setDone(next === null);
      } catch (e) {
        if (!cancelled) setError(errorMessage(e));
      } finally {
        if (!cancelled) setLoading(false);
      }
    };
    void run();
    return () => {
      cancelled = true;
    };
    // `rows` is read only to continue after the budget grows, not to rerun on each page.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sessionId, enabled, version, budget]);

  const more = useCallback(() => setBudget((b) => b + AUTO_LIMIT), []);
  return { rows, loading, done, error, more };
}

function entryLabel(e: TimelineEntry): string {
  if (e.kind === 'command') return `${e.verb}${e.arg === '' || e.arg === '****' ? '' : ` ${e.arg}`}`;
  if (e.kind === 'reply') return `${e.verb} ${e.arg.split('\n')[0] ?? ''}`;
  if (e.kind === 'data') return `${e.verb} content (${e.arg})`;
  if (e.kind === 'auth') return `${e.verb} credential`;
  return `${e.verb}${e.arg === '' ? '' : `: ${e.arg}`}`;
}

export function SessionPackets({ session, packets, timeline, selection, selectedFrames, onSelect, onShowDialogue }: {
  session: SessionInfo;
  packets: PacketsState;
  timeline: readonly TimelineEntry[];
  selection: Selection;
  selectedFrames: ReadonlySet<number>;
  onSelect: (s: Selection) => void;
  onShowDialogue: () => void;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const { rows } = packets;
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => parent.current, estimateSize: () => ROW_HEIGHT, overscan: 20 });

  // Which timeline entries carried a frame (a frame may carry several pipelined commands).
  const entriesOfFrame = useMemo(() => {
    const m = new Map<number, TimelineEntry[]>();
    for (const e of timeline) for (const f of e.frames) m.set(f, [...(m.get(f) ?? []), e]);
    return m;
  }, [timeline]);

  // Bring the selection into view once its row has loaded (on opening the tab).
  const scrolled = useRef(false);
  useEffect(() => {
    if (scrolled.current || selectedFrames.size === 0) return;
    const i = rows.findIndex((r) => selectedFrames.has(r.frameNo));
    if (i >= 0) {
      scrolled.current = true;
      virtualizer.scrollToIndex(i, { align: 'center' });
    }
  }, [rows, selectedFrames, virtualizer]);

  const selectedEntry = selection?.kind === 'entry' ? timeline.find((e) => e.seq === selection.seq) : undefined;
  const packetEntries = selection?.kind === 'packet' ? (entriesOfFrame.get(selection.frame) ?? []).filter((e) => e.kind !== 'tcp') : [];
  const total = session.packets.client + session.packets.server;

  return (
    <div>
      <div className={styles.selectionBar}>
        <span className="muted">
          {formatCount(rows.length)} of {formatCount(total)} packets{packets.loading ? ' (loading…)' : ''}
        </span>
        {selectedEntry !== undefined && (
          <span data-testid="packets-selection">
            Selected: <strong className="mono">{entryLabel(selectedEntry)}</strong>, {selectedFrames.size} packet{selectedFrames.size === 1 ? '' : 's'} highlighted
            {' · '}<button type="button" className="link" onClick={onShowDialogue}>back to the dialogue</button>
            {' · '}<button type="button" className="link" onClick={() => onSelect(null)}>clear</button>
          </span>
        )}
        {selection?.kind === 'packet' && (
          <span data-testid="packets-selection">
            Frame {selection.frame}
            {packetEntries.length === 0 ? ' carried no dialogue entry' : <> carried <strong className="mono">{packetEntries.map(entryLabel).join(' · ')}</strong></>}
            {packetEntries.length > 0 && <>{' · '}<button type="button" className="link" onClick={onShowDialogue}>show in the dialogue</button></>}
            {' · '}<button type="button" className="link" onClick={() => onSelect(null)}>clear</button>
          </span>
        )}
        {selection === null && <span className="muted">Click a packet to find its dialogue entry; select an entry in the Dialogue tab to see its packets here.</span>}
      </div>
      {packets.error !== null && <div className="alert error" role="alert">Cannot load the packets: {packets.error}</div>}
      {rows.length === 0 && !packets.loading && packets.error === null ? (
        <div className="empty"><strong>No packets stored</strong>This session has no packet rows (they may have been removed by retention).</div>
      ) : (
        <div
          ref={parent}
          className={`vlist ${styles.packetList}`}
          data-testid="session-packets"
          tabIndex={0}
          aria-label="packets; arrow keys move the selection"
          onKeyDown={(ev) => {
            if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
            ev.preventDefault();
            const at = selection?.kind === 'packet' ? rows.findIndex((r) => r.frameNo === selection.frame) : -1;
            const to = at < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, at + (ev.key === 'ArrowDown' ? 1 : -1)));
            const row = rows[to];
            if (row === undefined) return;
            onSelect({ kind: 'packet', frame: row.frameNo });
            virtualizer.scrollToIndex(to);
          }}
        >
          <div className="vrow head" style={{ gridTemplateColumns: COLUMNS, height: ROW_HEIGHT }}>
            <span>No.</span><span>Time</span><span>Since start</span><span>Source</span><span>Destination</span><span>Protocol</span><span>Length</span><span>TCP flags</span><span>Info</span>
          </div>
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((v) => {
              const p = rows[v.index]!;
              const selected = selectedFrames.has(p.frameNo);
              const retrans = p.tcpAnalysis.length > 0;
              return (
                <div
                  key={p.frameNo}
                  className={`vrow clickable ${styles.packetRow} ${selected ? 'selected' : ''} ${retrans ? styles.retrans : ''} ${p.dir === 'client' ? styles.client : p.dir === 'server' ? styles.server : ''}`}
                  style={{ gridTemplateColumns: COLUMNS, position: 'absolute', top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${v.start}px)` }}
                  data-testid="session-packet-row"
                  data-frame={p.frameNo}
                  data-selected={selected}
                  onClick={() => onSelect(selection?.kind === 'packet' && selection.frame === p.frameNo ? null : { kind: 'packet', frame: p.frameNo })}
                >
                  <span>{p.frameNo}</span>
                  <span className="mono">{formatClock(p.ts)}</span>
                  <span className="muted">{formatDuration(Math.max(0, p.ts - session.startTs))}</span>
                  <span className="mono" title={p.src}>{p.srcPort === null ? p.src : endpoint(p.src, p.srcPort)}</span>
                  <span className="mono" title={p.dst}>{p.dstPort === null ? p.dst : endpoint(p.dst, p.dstPort)}</span>
                  <span>{p.protocol}</span>
                  <span>{p.length}</span>
                  <span className={styles.flags}>{tcpFlagsText(p.tcpFlags)}</span>
                  <span className={styles.info} title={p.info}>
                    {retrans && <span className="badge warn">{p.tcpAnalysis.join(', ')}</span>} {p.info}
                  </span>
                </div>
              );
            })}
          </div>
        </div>
      )}
      {!packets.done && !packets.loading && rows.length > 0 && packets.error === null && (
        <div className="row" style={{ marginTop: 8 }}>
          <span className="muted">Showing the first {formatCount(rows.length)} packets.</span>
          <button type="button" onClick={packets.more}>Load more</button>
        </div>
      )}
    </div>
  );
}
