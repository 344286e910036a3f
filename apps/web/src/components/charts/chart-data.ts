/**
 * Turning GET /api/stats series into chart rows. The API returns only the non-empty buckets; a
 * chart needs every bucket of the range (zero where nothing happened) or its bars drift apart.
 */

/** One non-empty bucket of a series as the API sends it: bucket start (µs), series key, value. */
export interface SeriesPoint {
  readonly t: number;
  readonly key: string;
  readonly count: number;
}

/** A chart row: bucket start (µs) and one number per series key. */
export type BucketRow = { t: number } & Record<string, number>;

/** More rows than this and the range is cut short: a chart is a few hundred pixels wide. */
const MAX_ROWS = 1500;

/** Every bucket of [from, to) with each key's value, zero when the API sent none. */
export function pivotSeries(points: readonly SeriesPoint[], keys: readonly string[], from: number, to: number, bucketUs: number): BucketRow[] {
  if (!(bucketUs > 0) || !(to > from)) return [];
  const n = Math.min(MAX_ROWS, Math.ceil((to - from) / bucketUs));
  const rows: BucketRow[] = [];
  for (let i = 0; i < n; i++) {
    const row = { t: from + i * bucketUs } as BucketRow;
    for (const k of keys) row[k] = 0;
    rows.push(row);
  }
  for (const p of points) {
    const row = rows[Math.round((p.t - from) / bucketUs)];
    if (row !== undefined) row[p.key] = (row[p.key] ?? 0) + p.count;
  }
  return rows;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** An axis tick for a bucket start, as precise as the range needs (µs in, local time out). */
export function formatTick(us: number, spanUs: number, bucketUs: number): string {
  const d = new Date(Math.floor(us / 1000));
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const md = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (spanUs <= 36 * 3600e6) return bucketUs < 60e6 ? `${hm}:${pad(d.getSeconds())}` : hm;
  if (spanUs <= 10 * 86400e6) return `${md} ${hm}`;
  if (spanUs <= 2 * 365 * 86400e6) return `${d.getFullYear()}-${md}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
}

/** A bucket's start and end for a tooltip: `2026-11-26 14:03 – 14:04`. */
export function formatBucketRange(us: number, bucketUs: number): string {
  const a = new Date(Math.floor(us / 1000));
  const b = new Date(Math.floor((us + bucketUs) / 1000));
  const day = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = (d: Date) => (bucketUs < 60e6 ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : `${pad(d.getHours())}:${pad(d.getMinutes())}`);
  if (bucketUs >= 86400e6) return `${day(a)} – ${day(b)}`;
  return day(a) === day(b) ? `${day(a)} ${time(a)} – ${time(b)}` : `${day(a)} ${time(a)} – ${day(b)} ${time(b)}`;
}

/** A bucket width in words: `15 s`, `minute`, `15 min`, `2 h`, `day`, `30 days`. */
export function formatBucket(bucketUs: number): string {
  const s = Math.round(bucketUs / 1e6);
  if (s < 1) return `${Math.round(bucketUs / 1000)} ms`;
  if (s === 60) return 'minute';
  if (s === 3600) return 'hour';
  if (s === 86400) return 'day';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

/** Bucket widths a person reads at a glance, in seconds. */
const NICE_BUCKETS_S = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 7 * 86400, 30 * 86400, 91 * 86400, 365 * 86400];

/** The smallest nice bucket (µs) that cuts `spanUs` into at most `maxBuckets`. */
export function niceBucketUs(spanUs: number, maxBuckets: number): number {
  const want = spanUs / maxBuckets;
  for (const s of NICE_BUCKETS_S) if (s * 1e6 >= want) return s * 1e6;
  return Math.ceil(want / (365 * 86400e6)) * 365 * 86400e6;
}

/** Axis numbers: 1.2k, 3.4M. */
export function compactNumber(n: number): string {
  if (Math.abs(n) < 1000) return String(n);
  return new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}
