'use client';
/**
 * The Data flow tab, like Wireshark's "Follow TCP stream": both directions' reassembled bytes in
 * order (GET /sessions/:id/flow), the client's and the server's told apart by colour and label,
 * holes as "[N bytes missing]", control bytes escaped. A big mail must not freeze the page: each
 * chunk shows its first CHUNK_CHARS characters, and chunks are drawn up to PAGE_CHARS at a time.
 */
import { useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { api, errorMessage } from '@/lib/api';
import { formatBytes, formatClock, formatCount } from '@/lib/format';
import styles from './session.module.css';
import type { DataFlow, FlowChunk, SessionInfo, Side } from './types';

/** Characters of one chunk shown before "show all" (a mail body is one chunk). */
const CHUNK_CHARS = 16 * 1024;
/** Characters drawn before "show more" (about 3,000 lines). */
const PAGE_CHARS = 200 * 1024;

type Filter = 'both' | Side;

/** Bytes a reader cannot see: C0 controls except TAB / LF / CR-before-LF, DEL, and U+FFFD (not UTF-8). */
// eslint-disable-next-line no-control-regex
const HIDDEN = /\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]/g;

function escapeName(c: string): string {
  if (c === '\ufffd') return '\\ufffd';
  if (c === '\r') return '\\r';
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** `text` with CRLF as line breaks and every hidden byte as a visible escape. */
export function escapedText(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let key = 0;
  for (const m of text.matchAll(HIDDEN)) {
    const at = m.index;
    if (at > last) out.push(text.slice(last, at).replace(/\r\n/g, '\n'));
    out.push(
      <span key={key++} className={styles.esc} title={m[0] === '\ufffd' ? 'bytes that are not valid UTF-8' : 'a control byte'}>
        {escapeName(m[0])}
      </span>,
    );
    last = at + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last).replace(/\r\n/g, '\n'));
  return out;
}

function Chunk({ chunk, session }: { chunk: FlowChunk; session: SessionInfo }) {
  const [all, setAll] = useState(false);
  const who = chunk.dir === 'client' ? 'client' : 'server';
  const label = (
    <div className={styles.flowLabel} title={`${formatBytes(chunk.bytes)}${chunk.frames.length > 0 ? `, frames ${chunk.frames.join(', ')}` : ''}`}>
      <span className={styles.side}>{chunk.dir === 'client' ? 'C→S' : 'S→C'}</span> {formatClock(chunk.ts)}
    </div>
  );
  if (chunk.gap !== undefined) {
    return (
      <div className={styles.flowChunk} data-testid="flow-chunk" data-dir={chunk.dir} data-gap={chunk.gap}>
        {label}
        <span className={styles.flowGap}>[{formatCount(chunk.gap)} bytes missing] the capture lost part of the {who}&apos;s stream here</span>
      </div>
    );
  }
  const cut = !all && chunk.text.length > CHUNK_CHARS;
  // The line break that ends a chunk would draw an empty last line.
  const text = cut ? chunk.text.slice(0, CHUNK_CHARS) : chunk.text.replace(/\r?\n$/, '');
  return (
    <div className={styles.flowChunk} data-testid="flow-chunk" data-dir={chunk.dir} title={`${who}: ${endpointOf(session, chunk.dir)}`}>
      {label}
      <pre className={styles.flowText}>
        {escapedText(text)}
        {cut && (
          <span className={styles.flowCut}>
            … {formatCount(chunk.text.length - CHUNK_CHARS)} more characters{' '}
            <button type="button" className="link" onClick={() => setAll(true)}>show all</button>
          </span>
        )}
      </pre>
    </div>
  );
}

function endpointOf(s: SessionInfo, dir: Side): string {
  const e = dir === 'client' ? s.client : s.server;
  return `${e.addr}:${e.port}`;
}

export function DataFlowView({ sessionId, session, version }: { sessionId: string; session: SessionInfo; version: number }) {
  const [flow, setFlow] = useState<DataFlow | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState<Filter>('both');
  const [pages, setPages] = useState(1);

  useEffect(() => {
    let live = true;
    api<DataFlow>(`/sessions/${sessionId}/flow`).then(
      (f) => {
        if (!live) return;
        setFlow(f);
        setError(null);
      },
      (e: unknown) => live && setError(errorMessage(e)),
    );
    return () => {
      live = false;
    };
  }, [sessionId, version]);

  const chunks = useMemo(() => (flow === null ? [] : flow.chunks.filter((c) => filter === 'both' || c.dir === filter)), [flow, filter]);
  const shown = useMemo(() => {
    const budget = pages * PAGE_CHARS;
    let used = 0;
    let n = 0;
    for (const c of chunks) {
      if (n > 0 && used >= budget) break;
      used += Math.min(c.text.length, CHUNK_CHARS) + 40;
      n++;
    }
    return n;
  }, [chunks, pages]);

  if (error !== null) return <div className="alert error" role="alert">Cannot load the data flow: {error}</div>;
  if (flow === null) return <div className="page-loading">Reassembling the data flow…</div>;

  return (
    <div>
      <div className="toolbar" style={{ alignItems: 'center' }}>
        <span className={styles.segmented} role="group" aria-label="direction">
          {(['both', 'client', 'server'] as const).map((f) => (
            <button key={f} type="button" aria-pressed={filter === f} data-dir={f} data-testid={`flow-filter-${f}`} onClick={() => { setFilter(f); setPages(1); }}>
              {f === 'both' ? 'Both directions' : f === 'client' ? 'Client only' : 'Server only'}
            </button>
          ))}
        </span>
        <span className="muted">
          client sent {formatBytes(flow.bytes.client)}, server sent {formatBytes(flow.bytes.server)} · {formatCount(flow.chunks.length)} chunks
        </span>
      </div>
      {flow.truncated && (
        <div className="alert warn" style={{ marginBottom: 8 }} data-testid="flow-truncated">
          Truncated: the data flow shows at most 1 MiB of each direction. Download the .pcap for the whole stream.
        </div>
      )}
      {session.encrypted && (
        <div className="alert info" style={{ marginBottom: 8 }}>
          The session switched to TLS: the bytes after the switch are encrypted and show as escapes.
        </div>
      )}
      {chunks.length === 0 ? (
        <div className="empty"><strong>No data</strong>No payload bytes {filter === 'both' ? 'in this session' : `from the ${filter}`} (only TCP control packets were captured).</div>
      ) : (
        <div className={styles.flow} data-testid="data-flow">
          {chunks.slice(0, shown).map((c, i) => <Chunk key={`${i}-${c.ts}`} chunk={c} session={session} />)}
        </div>
      )}
      {shown < chunks.length && (
        <div className="row" style={{ marginTop: 8 }}>
          <span className="muted">{formatCount(chunks.length - shown)} more chunks.</span>
          <button type="button" onClick={() => setPages((p) => p + 1)}>Show more</button>
          <button type="button" onClick={() => setPages(Number.MAX_SAFE_INTEGER / PAGE_CHARS)}>Show all</button>
        </div>
      )}
    </div>
  );
}
