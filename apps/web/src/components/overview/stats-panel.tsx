'use client';
/**
 * The overview's charts from GET /api/stats over a range chosen in the URL (?range=). Without a
 * choice the last hour is shown, or all the data when the last hour has none: imported files keep
 * the timestamps of when they were captured, often years ago. Refreshed on the API's `stats`
 * ticks (at most every REFRESH_MS) and as the window slides.
 */
import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { CategoryBarChart, type CategoryDatum } from '@/components/charts/category-bar-chart';
import { ChartCard } from '@/components/charts/chart-card';
import { formatBucket, niceBucketUs, pivotSeries, type SeriesPoint } from '@/components/charts/chart-data';
import { TimeBarChart, type SeriesDef } from '@/components/charts/time-bar-chart';
import { api, errorMessage, qs } from '@/lib/api';
import { endpoint, formatBytes, formatTime } from '@/lib/format';
import { useUiEvent } from '@/lib/socket';
import { useUrlFilters } from '../list-common/use-url-filters';
import styles from './overview.module.css';

const RANGES = [
  { key: '15m', label: '15 min', spanUs: 15 * 60e6, bucketS: 15 },
  { key: '1h', label: '1 h', spanUs: 3600e6, bucketS: 60 },
  { key: '24h', label: '24 h', spanUs: 86400e6, bucketS: 900 },
  { key: '7d', label: '7 days', spanUs: 7 * 86400e6, bucketS: 7200 },
  { key: 'all', label: 'All', spanUs: 0, bucketS: 0 },
] as const;
export type RangeKey = (typeof RANGES)[number]['key'];
const isRangeKey = (v: string | null): v is RangeKey => RANGES.some((r) => r.key === v);

/** Refreshes at most this often while ticks arrive (a chart redrawn every second only flickers). */
const REFRESH_MS = 3000;
/** A relative range slides with the clock even when nothing arrives. */
const SLIDE_MS = 30_000;
/** Buckets of the "all" range: enough for a shape, few enough to see single sessions. */
const ALL_BUCKETS = 120;
/** Reply codes drawn (the most frequent; the API sends them by count): more would not be legible. */
const MAX_REPLY_CODES = 24;

interface Extent {
  readonly first: number;
  readonly last: number;
}

export interface Stats {
  readonly from: number;
  readonly to: number;
  readonly bucketUs: number;
  readonly sessions: SeriesPoint[];
  readonly replyCodes: { code: string; count: number }[];
  readonly authFailures: SeriesPoint[];
  readonly topServers: { addr: string; port: number; sessions: number }[];
  readonly topClients: { addr: string; sessions: number }[];
  readonly bytes: SeriesPoint[];
  /** Absent from an API before it had it. */
  readonly extent?: Extent | null;
}

type Query = Record<string, number | undefined>;

/** from / to / bucket of a range: aligned to the bucket so that bars stay put between refreshes. */
function queryFor(range: RangeKey, extent: Extent | null | undefined): Query {
  const r = RANGES.find((x) => x.key === range) ?? RANGES[1];
  if (r.key !== 'all') {
    const bucket = r.bucketS * 1e6;
    const to = Math.ceil((Date.now() * 1000) / bucket) * bucket;
    return { from: to - r.spanUs, to, bucketSeconds: r.bucketS };
  }
  // Not known yet: the API's default range (the last day of data) tells us the extent.
  if (extent === undefined || extent === null) return { buckets: ALL_BUCKETS };
  const span = Math.max(extent.last + 1 - extent.first, 3600e6);
  const bucket = niceBucketUs(span, ALL_BUCKETS);
  const from = Math.floor(extent.first / bucket) * bucket;
  const to = Math.max(Math.ceil((extent.last + 1) / bucket) * bucket, from + bucket);
  // bucketSeconds where it fits (an API without `buckets` still understands it).
  return bucket <= 86400e6 ? { from, to, bucketSeconds: bucket / 1e6 } : { from, to, buckets: Math.round((to - from) / bucket) };
}

const PROTOCOLS: readonly SeriesDef[] = [
  { key: 'smtp', label: 'SMTP', color: '#2f6fd6' },
  { key: 'pop3', label: 'POP3', color: '#9b51e0' },
];
const DIRECTIONS: readonly SeriesDef[] = [
  { key: 'client', label: 'client → server', color: '#0b5cad' },
  { key: 'server', label: 'server → client', color: '#d0793d' },
];

function replyColor(code: string): string {
  if (code.startsWith('2') || code === '+OK') return '#1a7f37';
  if (code.startsWith('3') || code === '+') return '#2f6fd6';
  if (code.startsWith('4')) return '#c98a00';
  if (code.startsWith('5') || code === '-ERR') return '#c62828';
  return '#7b8794';
}
/** SMTP codes in numeric order, then POP3's +OK, + and -ERR: bars keep their place between refreshes. */
function replyOrder(code: string): number {
  if (/^[0-9]{3}$/.test(code)) return Number(code);
  return { '+OK': 1000, '+': 1001, '-ERR': 1002 }[code] ?? 2000;
}

/** Height of the middle row (auth failures, reply codes) at least; more when many reply codes. */
const MID_HEIGHT = 200;

const REPLY_CLASSES = [
  { label: '2xx +OK', code: '250' },
  { label: '3xx', code: '354' },
  { label: '4xx', code: '450' },
  { label: '5xx -ERR', code: '550' },
] as const;

function ReplyLegend() {
  return (
    <span className={styles.replyLegend}>
      {REPLY_CLASSES.map((c) => (
        <span key={c.label}>
          <i style={{ background: replyColor(c.code) }} />
          {c.label}
        </span>
      ))}
    </span>
  );
}

const URL_KEYS = ['range'] as const;

const sum = (points: readonly SeriesPoint[]): number => points.reduce((n, p) => n + p.count, 0);

/** Memoised: the page re-renders on every capture status (once a second), the charts need not. */
export const StatsPanel = memo(function StatsPanel() {
  const { values, set } = useUrlFilters(URL_KEYS);
  const urlRange = values.range;
  const chosen: RangeKey | null = isRangeKey(urlRange) ? urlRange : null;

  const [data, setData] = useState<{ stats: Stats; range: RangeKey } | null>(null);
  const [auto, setAuto] = useState<RangeKey | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const extentRef = useRef<Extent | null | undefined>(undefined);
  const chosenRef = useRef<RangeKey | null>(chosen);
  const seq = useRef(0);
  const lastLoad = useRef(0);

  const load = useCallback(async () => {
    const mine = ++seq.current;
    lastLoad.current = Date.now();
    const key = chosenRef.current;
    // Auto: the last hour if it has sessions (a capture is feeding it), else all the data.
    const known = extentRef.current;
    let range: RangeKey = key ?? (known === undefined || known === null ? '1h' : known.last >= Date.now() * 1000 - 3600e6 ? '1h' : 'all');
    setLoading(true);
    try {
      let result: Stats | null = null;
      for (let attempt = 0; attempt < 3; attempt++) {
        const r = await api<Stats>(`/stats${qs(queryFor(range, extentRef.current))}`);
        if (mine !== seq.current) return;
        result = r;
        if (r.extent !== undefined) extentRef.current = r.extent;
        const ext = r.extent;
        // Auto: an empty last hour switches to all the data (an API without `extent`: when it is empty).
        const lastHourEmpty = ext === undefined ? r.sessions.length === 0 : ext !== null && ext.last < r.from;
        if (key === null && range !== 'all' && lastHourEmpty) {
          range = 'all';
          continue;
        }
        if (range === 'all' && ext !== undefined && ext !== null && (ext.first < r.from || ext.last >= r.to)) continue;
        break;
      }
      if (result === null) return;
      if (key === null) setAuto(range);
      setData({ stats: result, range });
      setError(null);
    } catch (e) {
      if (mine === seq.current) setError(errorMessage(e));
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    chosenRef.current = chosen;
    void load();
  }, [chosen, load]);

  // Ticks: a trailing refresh at most every REFRESH_MS.
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useUiEvent('stats', () => {
    if (pending.current !== null) return;
    const wait = Math.max(0, REFRESH_MS - (Date.now() - lastLoad.current));
    pending.current = setTimeout(() => {
      pending.current = null;
      void load();
    }, wait);
  });
  useEffect(
    () => () => {
      if (pending.current !== null) clearTimeout(pending.current);
    },
    [],
  );

  const shown = chosen ?? auto;
  useEffect(() => {
    if (shown === null || shown === 'all') return;
    const timer = setInterval(() => void load(), SLIDE_MS);
    return () => clearInterval(timer);
  }, [shown, load]);

  const pick = (key: RangeKey) => {
    set({ range: key }, 'replace');
  };

  const s = data?.stats ?? null;
  const totalSessions = s === null ? 0 : sum(s.sessions);
  const extent = s?.extent ?? null;
  const emptyText =
    s === null
      ? error === null
        ? 'Loading…'
        : 'No data: the API did not answer'
      : s.extent === null && totalSessions === 0
        ? 'No sessions stored yet: start a capture above, or import a pcap file.'
        : totalSessions === 0
          ? `No sessions in this range.${extent === null ? '' : ` The data spans ${formatTime(extent.first, false)} – ${formatTime(extent.last, false)}: choose All.`}`
          : null;
  const rows = (points: readonly SeriesPoint[], keys: readonly SeriesDef[]) =>
    s === null ? [] : pivotSeries(points, keys.map((k) => k.key), s.from, s.to, s.bucketUs);
  const per = s === null ? 'minute' : formatBucket(s.bucketUs);

  const replies: CategoryDatum[] = (s?.replyCodes ?? [])
    .slice(0, MAX_REPLY_CODES)
    .sort((a, b) => replyOrder(a.code) - replyOrder(b.code))
    .map((r) => ({ label: r.code, value: r.count, color: replyColor(r.code) }));
  const servers: CategoryDatum[] = (s?.topServers ?? []).map((x) => ({ label: endpoint(x.addr, x.port), value: x.sessions, color: '#8a3b12' }));
  const clients: CategoryDatum[] = (s?.topClients ?? []).map((x) => ({ label: x.addr, value: x.sessions, color: '#0b5cad' }));
  const authTotal = s === null ? 0 : sum(s.authFailures);
  const midHeight = Math.max(MID_HEIGHT, replies.length * 15 + 30);
  const topHeight = Math.max(120, Math.max(servers.length, clients.length) * 20 + 30);
  const bytesTotal = s === null ? 0 : sum(s.bytes);

  return (
    <section className={styles.stats} aria-label="charts">
      <div className={styles.rangeBar}>
        <h2>Traffic</h2>
        <div className={styles.rangeButtons} role="group" aria-label="time range" data-testid="stats-range">
          {RANGES.map((r) => (
            <button key={r.key} type="button" aria-pressed={shown === r.key} className={shown === r.key ? styles.rangeOn : undefined} onClick={() => pick(r.key)}>
              {r.label}
            </button>
          ))}
        </div>
        <span className="muted small">
          {s === null
            ? null
            : `${formatTime(s.from, false)} – ${formatTime(s.to, false)} · ${totalSessions.toLocaleString('en-US')} sessions · bars per ${per}`}
          {chosen === null && auto === 'all' ? ' · nothing in the last hour: showing all data' : null}
        </span>
        {loading ? <span className="muted small">updating…</span> : null}
      </div>
      {error === null ? null : <div className="alert error">Cannot load the charts: {error}</div>}
      <div className={styles.chartGrid}>
        <ChartCard testId="chart-sessions" title={`Sessions per ${per}`} note="by protocol" empty={emptyText} loading={loading}>
          {s === null ? null : <TimeBarChart rows={rows(s.sessions, PROTOCOLS)} series={PROTOCOLS} bucketUs={s.bucketUs} />}
        </ChartCard>
        <ChartCard testId="chart-bytes" title={`Bytes per ${per}`} note={s === null ? undefined : `${formatBytes(bytesTotal)} in sessions started in range`} empty={emptyText} loading={loading}>
          {s === null ? null : <TimeBarChart rows={rows(s.bytes, DIRECTIONS)} series={DIRECTIONS} bucketUs={s.bucketUs} format={(n) => formatBytes(n)} axisWidth={64} />}
        </ChartCard>
        <ChartCard
          testId="chart-auth"
          title={`Authentication failures per ${per}`}
          note={s === null ? undefined : `${authTotal.toLocaleString('en-US')} in range`}
          empty={emptyText ?? (authTotal === 0 ? 'No failed logins in this range.' : null)}
          loading={loading}
          height={midHeight}
        >
          {s === null ? null : <TimeBarChart rows={rows(s.authFailures, PROTOCOLS)} series={PROTOCOLS} bucketUs={s.bucketUs} />}
        </ChartCard>
        <ChartCard
          testId="chart-replies"
          title="Reply codes"
          note={<ReplyLegend />}
          empty={emptyText ?? (replies.length === 0 ? 'No server replies in this range.' : null)}
          loading={loading}
          height={midHeight}
        >
          <CategoryBarChart data={replies} horizontal valueLabel="replies" labelWidth={44} />
        </ChartCard>
        <ChartCard testId="chart-top-servers" title="Top servers" note="by sessions" empty={emptyText} loading={loading} height={topHeight}>
          <CategoryBarChart data={servers} horizontal valueLabel="sessions" labelWidth={170} />
        </ChartCard>
        <ChartCard testId="chart-top-clients" title="Top clients" note="by sessions" empty={emptyText} loading={loading} height={topHeight}>
          <CategoryBarChart data={clients} horizontal valueLabel="sessions" labelWidth={170} />
        </ChartCard>
      </div>
    </section>
  );
});
