/** Display helpers shared by every page. Times from the API are µs since the epoch (numbers or strings). */

export function toMicros(ts: number | string | null | undefined): number | null {
  if (ts === null || ts === undefined || ts === '') return null;
  const n = typeof ts === 'number' ? ts : Number(ts);
  return Number.isFinite(n) ? n : null;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `2026-11-26 14:03:07.123` in the browser's time zone. */
export function formatTime(ts: number | string | null | undefined, withMillis = true): string {
  const us = toMicros(ts);
  if (us === null) return '';
  const d = new Date(Math.floor(us / 1000));
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMillis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** Time of day with µs, for dialogues and packet lists. */
export function formatClock(ts: number | string | null | undefined): string {
  const us = toMicros(ts);
  if (us === null) return '';
  const d = new Date(Math.floor(us / 1000));
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(Math.floor(us % 1_000_000), 6)}`;
}

/** A duration in µs as `412 µs`, `12.3 ms`, `4.21 s`, `3 min 12 s`. */
export function formatDuration(us: number | string | null | undefined): string {
  const v = toMicros(us);
  if (v === null) return '';
  if (v < 1000) return `${Math.round(v)} µs`;
  if (v < 1_000_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} ms`;
  if (v < 60_000_000) return `${(v / 1_000_000).toFixed(2)} s`;
  const s = Math.round(v / 1_000_000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function formatBytes(n: number | string | null | undefined): string {
  const v = typeof n === 'string' ? Number(n) : n;
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  if (v < 1024) return `${v} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let x = v / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(x < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : n.toLocaleString('en-US');
}

/** `10.0.0.1:25`, `[2001:db8::1]:25`. */
export function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** datetime-local input value <-> µs. */
export function toLocalInput(us: number | null): string {
  if (us === null) return '';
  const d = new Date(Math.floor(us / 1000));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export function fromLocalInput(v: string): number | null {
  if (v === '') return null;
  const ms = new Date(v).getTime();
  return Number.isFinite(ms) ? ms * 1000 : null;
}
