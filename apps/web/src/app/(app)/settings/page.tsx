'use client';
import { Suspense } from 'react';
import { SettingsView } from '@/components/settings/settings-view';

export default function SettingsPage() {
  return (
    <>
      <h1>Settings</h1>
      <Suspense fallback={<div className="muted">Loading settings…</div>}>
        <SettingsView />
      </Suspense>
    </>
  );
}
