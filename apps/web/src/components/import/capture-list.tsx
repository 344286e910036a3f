'use client';
/**
 * Every capture, newest first (GET /api/captures): uploads and live captures with their state and
 * counters, kept current by capture:status and upload:progress.
 */
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { UiUploadProgress } from '@mailscope/shared/agent-protocol';
import type { CaptureRow } from '@/components/overview/capture-types';
import { stateBadge } from '@/components/overview/capture-types';
import { applyStatus } from '@/components/overview/use-captures';
import { api, errorMessage, qs } from '@/lib/api';
import { formatBytes, formatCount } from '@/lib/format';
import { useUiEvent } from '@/lib/socket';
import styles from './import.module.css';

const LIMIT = 100;
/** A capture:status of a capture not listed reloads the list, at most this often. */
const RELOAD_MS = 2000;

const when = (iso: string): string => {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};

export function CaptureList({ highlight, reloadKey }: { highlight: string | null; reloadKey: number }) {
  const [rows, setRows] = useState<readonly CaptureRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<ReadonlyMap<string, UiUploadProgress>>(new Map());
  const known = useRef(new Set<string>());
  const lastReload = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const reload = useCallback(() => {
    lastReload.current = Date.now();
    api<{ captures: CaptureRow[] }>(`/captures${qs({ limit: LIMIT })}`).then(
      (r) => {
        known.current = new Set(r.captures.map((c) => c.id));
        setRows(r.captures);
        setError(null);
      },
      (e: unknown) => setError(errorMessage(e)),
    );
  }, []);
  useEffect(() => {
    reload();
  }, [reload, reloadKey]);
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );

  const reloadSoon = () => {
    if (timer.current !== null) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      reload();
    }, Math.max(0, RELOAD_MS - (Date.now() - lastReload.current)));
  };

  useUiEvent('capture:status', (s) => {
    if (!known.current.has(s.captureId)) {
      reloadSoon();
      return;
    }
    setRows((prev) => prev?.map((c) => (c.id === s.captureId ? applyStatus(c, s) : c)) ?? prev);
  });
  useUiEvent('upload:progress', (p) => {
    setProgress((m) => new Map(m).set(p.captureId, p));
    if (!known.current.has(p.captureId)) {
      reloadSoon();
      return;
    }
    setRows((prev) => prev?.map((c) => (c.id === p.captureId && c.status !== p.state ? { ...c, status: p.state, error: p.error } : c)) ?? prev);
  });

  return (
    <section className={`card ${styles.list}`}>
      <header className={styles.listHead}>
        <h2>Captures</h2>
        <span className="muted small">newest first{rows !== null && rows.length === LIMIT ? `, the latest ${LIMIT}` : ''}</span>
      </header>
      {error === null ? null : <div className="alert error">Cannot load the captures: {error}</div>}
      {rows === null && error === null ? <p className="muted">Loading…</p> : null}
      {rows !== null && rows.length === 0 ? (
        <div className="empty">
          <strong>No captures yet</strong>
          Upload a file above, or start a live capture on the Overview.
        </div>
      ) : null}
      {rows !== null && rows.length > 0 ? (
        <div className={styles.tableWrap}>
          <table className="grid">
            <thead>
              <tr>
                <th>Started</th>
                <th>Source</th>
                <th>File / interface</th>
                <th>State</th>
                <th className={styles.num}>Packets</th>
                <th className={styles.num}>Sessions</th>
                <th className={styles.num}>Mails</th>
                <th className={styles.num}>Drops</th>
                <th className={styles.num}>Bytes</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => {
                const p = progress.get(c.id);
                const pct = c.status === 'analysing' && p !== undefined && p.totalBytes > 0 ? ` ${Math.round((p.bytesRead / p.totalBytes) * 100)}%` : '';
                return (
                  <tr key={c.id} className={c.id === highlight ? 'selected' : undefined} data-testid="capture-row" data-capture-id={c.id}>
                    <td>{when(c.startedAt)}</td>
                    <td>
                      <span className="badge">{c.source === 'upload' ? (c.agentName === null ? 'upload' : 'agent import') : 'live'}</span>
                    </td>
                    <td className={styles.name} title={c.fileName ?? undefined}>
                      {c.source === 'upload' ? (
                        <span className="mono">{c.fileName ?? '—'}</span>
                      ) : (
                        <>
                          {c.agentName ?? 'agent removed'} / <span className="mono">{c.interface ?? '?'}</span>
                          {c.filter === '' ? null : <span className="muted mono"> {c.filter}</span>}
                        </>
                      )}
                    </td>
                    <td className={styles.stateCell}>
                      <span className={stateBadge(c.status)}>
                        {c.status}
                        {pct}
                      </span>
                      {c.error === null ? null : (
                        <span className={`small ${c.status === 'failed' ? 'error' : 'muted'} ${styles.rowError}`} title={c.error}>
                          {c.error}
                        </span>
                      )}
                    </td>
                    <td className={styles.num}>{formatCount(c.packets)}</td>
                    <td className={styles.num}>{formatCount(c.sessions)}</td>
                    <td className={styles.num}>{formatCount(c.mails)}</td>
                    <td className={styles.num}>{c.drops > 0 ? <span className="error">{formatCount(c.drops)}</span> : '0'}</td>
                    <td className={styles.num}>{formatBytes(c.bytes)}</td>
                    <td>
                      {c.sessions > 0 ? <Link href={`/sessions?captureId=${c.id}`}>sessions →</Link> : <span className="muted small">no sessions</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
