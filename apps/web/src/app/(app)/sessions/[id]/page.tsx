'use client';
/** One mail session: header, dialogue, packets, data flow and mails (components/session). */
import { useParams } from 'next/navigation';
import { Suspense } from 'react';
import { SessionView } from '@/components/session/session-view';

export default function SessionPage() {
  const params = useParams<{ id: string }>();
  const id = typeof params.id === 'string' ? params.id : '';
  return (
    <Suspense fallback={<div className="page-loading">Loading session…</div>}>
      <SessionView key={id} id={id} />
    </Suspense>
  );
}
