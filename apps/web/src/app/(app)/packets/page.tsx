'use client';
import { Suspense } from 'react';
import { PacketsView } from '@/components/packets-list/PacketsView';

/** Packets: every stored frame, oldest first, filtered through the URL. */
export default function PacketsPage() {
  return (
    <Suspense fallback={<div className="page-loading">Loading…</div>}>
      <PacketsView />
    </Suspense>
  );
}
