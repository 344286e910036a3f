'use client';
import { Suspense } from 'react';
import { MailList } from '@/components/mails/mail-list';

export default function MailsPage() {
  return (
    <>
      <h1>Mails</h1>
      <Suspense fallback={<div className="muted">Loading mails…</div>}>
        <MailList />
      </Suspense>
    </>
  );
}
