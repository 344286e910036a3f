'use client';
/**
 * Overview: capture control (admins) or its state (viewers), the capture's counters, charts over a
 * time range, and the newest sessions as they arrive.
 */
import { Suspense } from 'react';
import { AdminCaptureControl, ViewerCaptureState } from '@/components/overview/capture-control';
import { LiveCounters } from '@/components/overview/live-counters';
import { RecentSessions } from '@/components/overview/recent-sessions';
import { StatsPanel } from '@/components/overview/stats-panel';
import { useLiveCaptures } from '@/components/overview/use-captures';
import styles from '@/components/overview/overview.module.css';
import { useIsAdmin } from '@/lib/auth';

export default function OverviewPage() {
  const admin = useIsAdmin();
  const live = useLiveCaptures();
  return (
    <div className={styles.page}>
      {admin ? <AdminCaptureControl live={live} /> : <ViewerCaptureState live={live} />}
      <LiveCounters captures={live.captures} loaded={live.captures !== null || live.error !== null} />
      <div className={styles.main}>
        <Suspense fallback={<p className="muted">Loading charts…</p>}>
          <StatsPanel />
        </Suspense>
        <RecentSessions />
      </div>
    </div>
  );
}
