'use client';
import { Suspense } from 'react';
import { SessionsView } from '@/components/sessions-list/SessionsView';

/** Sessions: every captured SMTP / POP3 session, newest first, filtered through the URL. */
export default function SessionsPage() {
  return (
    <Suspense fallback={<div className="page-loading">Loading…</div>}>
      <SessionsView />
    </Suspense>
  );
}
