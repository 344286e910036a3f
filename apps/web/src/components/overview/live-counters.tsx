'use client';
/**
 * Packets, sessions, mails, drops. While a live capture runs: its counters, as the API's Capture row
 * has them (capture:status arrives every second while it runs). Otherwise: the totals of every
 * capture (imports included), advanced by the `stats` ticks.
 */
import { useEffect, useState } from 'react';
import { api, errorMessage, qs } from '@/lib/api';
import { formatBytes, formatCount } from '@/lib/format';
import { useUiEvent } from '@/lib/socket';
import type { CaptureRow } from './capture-types';
import { isActive } from './capture-types';
import styles from './overview.module.css';

interface Totals {
  packets: number;
  sessions: number;
  mails: number;
  drops: number;
  bytes: number;
}

/** Captures summed for the totals: the list's largest page (more is rare and only undercounts). */
const TOTALS_PAGE = 500;

function useAllTotals(enabled: boolean): { totals: Totals | null; error: string | null; captures: number } {
  const [totals, setTotals] = useState<Totals | null>(null);
  const [count, setCount] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!enabled) return;
    let cancelled = false;
    api<{ captures: CaptureRow[] }>(`/captures${qs({ limit: TOTALS_PAGE })}`).then(
      (r) => {
        if (cancelled) return;
        const t: Totals = { packets: 0, sessions: 0, mails: 0, drops: 0, bytes: 0 };
        for (const c of r.captures) {
          t.packets += c.packets;
          t.sessions += c.sessions;
          t.mails += c.mails;
          t.drops += c.drops;
          t.bytes += c.bytes;
        }
        setTotals(t);
        setCount(r.captures.length);
      },
      (e: unknown) => {
        if (!cancelled) setError(errorMessage(e));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [enabled]);
  useUiEvent('stats', (tick) => {
    if (!enabled) return;
    setTotals((t) => (t === null ? t : { ...t, packets: t.packets + tick.packets, sessions: t.sessions + tick.sessions, mails: t.mails + tick.mails, bytes: t.bytes + tick.bytes }));
  });
  return { totals, error, captures: count };
}

/** The value's text is the bare number (tests and scripts read it); the title has it grouped. */
function Counter({ id, label, value, warn }: { id: string; label: string; value: number | null; warn?: boolean }) {
  return (
    <div className={`card stat ${styles.counter}`} title={value === null ? undefined : `${formatCount(value)} ${label}`}>
      <span className={`value ${warn === true ? styles.warnValue : ''}`} data-testid={id}>
        {value === null ? '–' : String(value)}
      </span>
      <span className="label">{label}</span>
    </div>
  );
}

export function LiveCounters({ captures, loaded }: { captures: readonly CaptureRow[] | null; loaded: boolean }) {
  const capture = captures?.find(isActive) ?? null;
  const useTotals = loaded && capture === null;
  const all = useAllTotals(useTotals);
  const t: Totals | null = capture ?? all.totals;
  const scope =
    capture !== null
      ? `Running capture: ${capture.agentName ?? 'agent'} / ${capture.interface ?? '?'}`
      : `All ${all.captures} stored captures (imports included)`;
  return (
    <section className={styles.counters} aria-label="counters">
      <div className={styles.counterScope}>
        <span className="muted small">{loaded ? scope : 'Loading…'}</span>
        {t === null ? null : <span className="muted small">{formatBytes(t.bytes)} of mail traffic</span>}
        {all.error === null ? null : <span className="error small">totals unavailable: {all.error}</span>}
      </div>
      <div className={styles.counterRow}>
        <Counter id="counter-packets" label="packets" value={t?.packets ?? null} />
        <Counter id="counter-sessions" label="sessions" value={t?.sessions ?? null} />
        <Counter id="counter-mails" label="mails" value={t?.mails ?? null} />
        <Counter id="counter-drops" label="dropped" value={t?.drops ?? null} warn={(t?.drops ?? 0) > 0} />
      </div>
    </section>
  );
}
