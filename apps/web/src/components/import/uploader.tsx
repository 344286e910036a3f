'use client';
/**
 * Upload a pcap / pcapng (POST /api/uploads, multipart field `file`) and follow it: the transfer
 * (XMLHttpRequest upload progress: fetch has none), then the API's analysis (`upload:progress` and
 * `capture:status` events, with GET /api/uploads/:id polled in case an event was missed).
 */
import Link from 'next/link';
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { api } from '@/lib/api';
import { formatBytes, formatCount } from '@/lib/format';
import { useUiEvent } from '@/lib/socket';
import styles from './import.module.css';

/** GET /api/uploads/:id (apps/api/src/uploads/upload-routes.ts). */
export interface UploadStatus {
  readonly id: string;
  readonly fileName: string | null;
  readonly status: string;
  readonly error: string | null;
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly frames: number;
  readonly packets: number;
  readonly sessions: number;
  readonly mails: number;
}

type Phase = 'idle' | 'uploading' | 'queued' | 'analysing' | 'done' | 'failed';

const POLL_MS = 1500;
const CAPTURE_EXTENSIONS = /\.(pcap|pcapng|cap|dmp|pcap\.gz)$/i;

function hintFor(message: string): string | null {
  if (/magic|not a (pcap|capture)|NOT_A_CAPTURE/i.test(message)) {
    return 'Upload a pcap or pcapng file: in Wireshark, File › Save As and pick pcapng; tcpdump writes pcap with -w.';
  }
  if (/larger than the upload limit|too large|413/i.test(message)) {
    return 'Import a larger file with the agent instead: npx mailscope-agent import FILE --api … --token … (no size limit).';
  }
  if (/on its way to the API|connection was closed/.test(message)) {
    return 'Try again. If a large file keeps failing, import it with the agent instead: npx mailscope-agent import FILE --api … --token … (no size limit).';
  }
  if (/truncated|ended early|corrupt/i.test(message)) return 'The sessions read before the damage were kept; the rest of the file could not be read.';
  return null;
}

/** The API's message from an XHR error response; without one (a proxy's error page), what happened. */
function xhrMessage(xhr: XMLHttpRequest): string {
  try {
    const body = JSON.parse(xhr.responseText) as { message?: unknown };
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON: the answer did not come from the API
  }
  return `The upload failed on its way to the API (HTTP ${`${xhr.status} ${xhr.statusText}`.trim()}); nothing was stored.`;
}

export function Uploader({ onUploaded }: { onUploaded: (captureId: string) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [phase, setPhase] = useState<Phase>('idle');
  const [sent, setSent] = useState({ loaded: 0, total: 0 });
  const [status, setStatus] = useState<UploadStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const xhrRef = useRef<XMLHttpRequest | null>(null);
  const inputRef = useRef<HTMLInputElement | null>(null);
  const captureId = status?.id ?? null;

  const busy = phase === 'uploading' || phase === 'queued' || phase === 'analysing';

  const choose = (files: FileList | null) => {
    const f = files?.[0] ?? null;
    setFile(f);
    setError(null);
    if (!busy) {
      setPhase('idle');
      setStatus(null);
      setSent({ loaded: 0, total: 0 });
    }
  };

  const upload = () => {
    if (file === null || busy) return;
    if (file.size === 0) {
      setError(`${file.name} is empty.`);
      setPhase('failed');
      return;
    }
    setError(null);
    setStatus(null);
    setPhase('uploading');
    setSent({ loaded: 0, total: file.size });
    const xhr = new XMLHttpRequest();
    xhrRef.current = xhr;
    xhr.open('POST', '/api/uploads');
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => setSent({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    xhr.onload = () => {
      xhrRef.current = null;
      if (xhr.status === 202) {
        const body = JSON.parse(xhr.responseText) as UploadStatus;
        setStatus(body);
        setPhase(body.status === 'analysing' ? 'analysing' : 'queued');
        onUploaded(body.id);
        return;
      }
      if (xhr.status === 401) {
        window.location.assign(`/login?next=${encodeURIComponent('/import')}`);
        return;
      }
      setError(xhrMessage(xhr));
      setPhase('failed');
    };
    xhr.onerror = () => {
      xhrRef.current = null;
      setError('The upload did not reach the API: the connection was closed. Check that the dashboard and the API are running.');
      setPhase('failed');
    };
    xhr.onabort = () => {
      xhrRef.current = null;
      setError('Upload cancelled.');
      setPhase('failed');
    };
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  };

  useEffect(() => () => xhrRef.current?.abort(), []);

  const applyStatus = (s: UploadStatus) => {
    setStatus(s);
    if (s.status === 'done' || s.status === 'failed' || s.status === 'queued' || s.status === 'analysing') setPhase(s.status);
    if (s.status === 'failed') setError(s.error ?? 'the analysis failed');
  };

  // Polling while the API works on it: an event missed (reconnect) must not leave it spinning.
  useEffect(() => {
    if (captureId === null || (phase !== 'queued' && phase !== 'analysing')) return;
    let stopped = false;
    const poll = () => {
      api<UploadStatus>(`/uploads/${captureId}`).then(
        (s) => {
          if (!stopped) applyStatus(s);
        },
        () => undefined,
      );
    };
    const timer = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [captureId, phase]);

  // Once done, the counters as stored (the progress events carry frames, not sessions).
  useEffect(() => {
    if (captureId === null || phase !== 'done') return;
    api<UploadStatus>(`/uploads/${captureId}`).then(
      (s) => setStatus(s),
      () => undefined,
    );
  }, [captureId, phase]);

  useUiEvent('upload:progress', (p) => {
    if (p.captureId !== captureId) return;
    setStatus((s) => (s === null ? s : { ...s, status: p.state, bytesRead: p.bytesRead, totalBytes: p.totalBytes, frames: p.frames, error: p.error }));
    setPhase(p.state);
    if (p.state === 'failed') setError(p.error ?? 'the analysis failed');
  });
  useUiEvent('capture:status', (c) => {
    if (c.captureId !== captureId) return;
    setStatus((s) => (s === null ? s : { ...s, packets: c.packets, sessions: c.sessions, mails: c.mails }));
  });

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    if (busy) return;
    choose(e.dataTransfer.files);
    if (inputRef.current !== null) inputRef.current.files = e.dataTransfer.files;
  };

  const uploadPct = sent.total > 0 ? Math.min(100, Math.round((sent.loaded / sent.total) * 100)) : 0;
  const analysed = status === null || status.totalBytes === 0 ? 0 : Math.min(100, Math.round((status.bytesRead / status.totalBytes) * 100));
  const stateText =
    phase === 'uploading' ? `uploading ${uploadPct}%` : phase === 'analysing' ? `analysing ${analysed}%` : phase === 'idle' ? '' : phase;
  const hint = error === null ? null : hintFor(error);
  const oddName = file !== null && !CAPTURE_EXTENSIONS.test(file.name);

  return (
    <section className={`card ${styles.uploader}`}>
      <h2>Upload a capture</h2>
      <div
        className={`${styles.drop} ${dragging ? styles.dragging : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          if (!busy) setDragging(true);
        }}
        onDragLeave={(e) => {
          // Leaving for a child (the input, the button) is not leaving the zone.
          if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
        }}
        onDrop={onDrop}
      >
        <p>
          <strong>Drop a pcap or pcapng file here</strong> or choose one:
        </p>
        <div className="row">
          <input
            ref={inputRef}
            type="file"
            data-testid="upload-file"
            accept=".pcap,.pcapng,.cap,.dmp,application/vnd.tcpdump.pcap,application/x-pcapng"
            disabled={busy}
            onChange={(e) => choose(e.target.files)}
          />
          <button type="button" className="primary" data-testid="upload-submit" disabled={file === null || busy} onClick={upload}>
            Upload and analyse
          </button>
          {phase === 'uploading' ? (
            <button type="button" onClick={() => xhrRef.current?.abort()}>
              Cancel
            </button>
          ) : null}
        </div>
        {file === null ? (
          <p className="field-help">The API reads it with the mail-module settings (SMTP / POP3 ports) of Settings. Large files: use the agent&apos;s import command.</p>
        ) : (
          <p className="field-help">
            {file.name} · {formatBytes(file.size)}
            {oddName ? ' · this name does not look like a capture file; the API checks its content' : ''}
          </p>
        )}
      </div>

      {phase === 'idle' ? null : (
        <div className={styles.progress} data-testid="upload-progress">
          <div className={styles.progressLine}>
            <span className={styles.state} data-testid="upload-state" data-state={phase}>
              {stateText}
            </span>
            {status?.fileName == null ? null : <span className="mono small">{status.fileName}</span>}
          </div>
          <label className={styles.bar}>
            <span className="small muted">
              Upload {formatBytes(sent.loaded)} of {formatBytes(sent.total)}
            </span>
            <progress max={100} value={phase === 'uploading' ? uploadPct : status === null && phase === 'failed' ? uploadPct : 100} />
          </label>
          {status === null ? null : (
            <label className={styles.bar}>
              <span className="small muted">
                Analysis {phase === 'queued' ? '(waiting for the previous uploads)' : `${formatBytes(status.bytesRead)} of ${formatBytes(status.totalBytes)} · ${formatCount(status.frames)} frames`}
              </span>
              <progress max={100} value={phase === 'done' ? 100 : analysed} />
            </label>
          )}
        </div>
      )}

      {error === null ? null : (
        <div className="alert error" data-testid="upload-error" role="alert">
          {error}
          {hint === null ? null : <div className={styles.hint}>{hint}</div>}
        </div>
      )}

      {phase === 'done' && status !== null ? (
        <div className={styles.result}>
          {status.error === null ? null : <div className="alert warn">{status.error}</div>}
          <div className={styles.resultCounters}>
            <span className="stat">
              <span className="value">{formatCount(status.frames)}</span>
              <span className="label">frames</span>
            </span>
            <span className="stat">
              <span className="value">{formatCount(status.sessions)}</span>
              <span className="label">sessions</span>
            </span>
            <span className="stat">
              <span className="value">{formatCount(status.mails)}</span>
              <span className="label">mails</span>
            </span>
            <Link href={`/sessions?captureId=${status.id}`} className="button" data-testid="upload-result">
              Open the {status.sessions === 1 ? 'session' : `${formatCount(status.sessions)} sessions`} of this capture →
            </Link>
          </div>
          {status.sessions === 0 ? (
            <p className="field-help">
              No SMTP or POP3 session was found. If the mail traffic uses other ports, add them in Settings (or turn on any-port detection) and upload again.
            </p>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
