'use client';
/**
 * The raw mail (.eml) as text. A mail can be 50 MB: the first 256 KiB are read from the stream and
 * the rest is left unread until the user asks for all of it (or downloads the file).
 */
import { useEffect, useState } from 'react';
import { formatBytes } from '@/lib/format';
import styles from './mails.module.css';

const PREVIEW_BYTES = 256 * 1024;

interface RawText {
  readonly text: string;
  readonly bytes: number;
  /** Every byte was read. */
  readonly whole: boolean;
}

/** UTF-8 where the bytes are UTF-8, else Windows-1252 (8-bit mail without a declared charset). */
function decode(chunks: Uint8Array[], whole: boolean): string {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.byteLength;
  }
  try {
    // stream: a multi-byte character cut at the preview's end is held back instead of failing.
    return new TextDecoder('utf-8', { fatal: true }).decode(all, { stream: !whole });
  } catch {
    return new TextDecoder('windows-1252').decode(all);
  }
}

async function fetchRaw(id: string, limit: number | null, signal: AbortSignal): Promise<RawText> {
  const res = await fetch(`/api/mails/${id}/raw`, { credentials: 'same-origin', signal });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { message?: unknown };
      if (typeof body.message === 'string') message = body.message;
    } catch {
      // not JSON
    }
    throw new Error(message);
  }
  if (res.body === null) return { text: '', bytes: 0, whole: true };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let whole = true;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    bytes += value.byteLength;
    if (limit !== null && bytes >= limit) {
      whole = false;
      await reader.cancel();
      break;
    }
  }
  if (!whole && limit !== null) {
    // Keep exactly `limit` bytes so the cut is where the notice says.
    const last = chunks.pop()!;
    const keep = last.byteLength - (bytes - limit);
    chunks.push(last.subarray(0, keep));
    bytes = limit;
  }
  return { text: decode(chunks, whole), bytes, whole };
}

export function RawView({ id, size }: { id: string; size: number }) {
  const [all, setAll] = useState(size <= PREVIEW_BYTES);
  const [raw, setRaw] = useState<RawText | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const ac = new AbortController();
    setError(null);
    fetchRaw(id, all ? null : PREVIEW_BYTES, ac.signal).then(setRaw, (e: unknown) => {
      if (!ac.signal.aborted) setError(e instanceof Error ? e.message : String(e));
    });
    return () => ac.abort();
  }, [id, all]);

  if (error !== null) return <div className="alert error" role="alert">Cannot load the raw mail: {error}</div>;
  if (raw === null) return <div className="muted">Loading the raw mail…</div>;
  return (
    <div className="stack" style={{ gap: 8 }}>
      {!raw.whole && (
        <div className="alert warn" data-testid="raw-capped">
          Showing the first {formatBytes(raw.bytes)} of {formatBytes(size)}.{' '}
          <button type="button" className="link" data-testid="raw-show-all" onClick={() => setAll(true)}>
            Show all
          </button>{' '}
          or{' '}
          <a href={`/api/mails/${id}/raw`} download>
            download the .eml
          </a>
          .
        </div>
      )}
      <pre className={`${styles.pre} ${styles.raw}`} data-testid="mail-raw">
        {raw.text}
      </pre>
    </div>
  );
}
