import { formatTime } from '@/lib/format';

/** An ISO date from the API in local time, `2026-11-26 14:03:07`. */
export function formatIso(iso: string | null): string {
  if (iso === null) return '';
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? formatTime(ms * 1000, false) : iso;
}

/** `just now`, `5 min ago`, `3 h ago`, else the date. */
export function formatAgo(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  const s = Math.round((now - ms) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return formatIso(iso);
}
