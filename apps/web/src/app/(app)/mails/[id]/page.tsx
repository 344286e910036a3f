'use client';
import { useParams } from 'next/navigation';
import { Suspense } from 'react';
import { MailViewer } from '@/components/mails/mail-viewer';

export default function MailPage() {
  const { id } = useParams<{ id: string }>();
  return (
    <Suspense fallback={<div className="muted">Loading mail…</div>}>
      <MailViewer id={id} />
    </Suspense>
  );
}
