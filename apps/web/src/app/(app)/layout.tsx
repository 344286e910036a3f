'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { api } from '@/lib/api';
import { MeProvider } from '@/lib/auth';
import { useLiveConnected } from '@/lib/socket';

const NAV: ReadonlyArray<{ href: string; label: string; admin?: boolean }> = [
  { href: '/', label: 'Overview' },
  { href: '/sessions', label: 'Sessions' },
  { href: '/packets', label: 'Packets' },
  { href: '/mails', label: 'Mails' },
  { href: '/import', label: 'Import' },
  { href: '/settings', label: 'Settings', admin: true },
];

function LiveDot() {
  const live = useLiveConnected();
  return (
    <span className={`live-dot ${live ? 'on' : 'off'}`} data-testid="live-status" title={live ? 'live updates connected' : 'live updates disconnected: reconnecting'}>
      {live ? 'live' : 'offline'}
    </span>
  );
}

export default function AppLayout({ children }: { children: ReactNode }) {
  const path = usePathname();
  return (
    <MeProvider>
      {(me, failed) => {
        if (me === null) {
          return <div className="page-loading">{failed === null ? 'Loading…' : `Cannot load your account: ${failed}`}</div>;
        }
        return (
          <div className="shell">
            <header className="topbar">
              <Link href="/" className="brand">Mailscope</Link>
              <nav>
                {NAV.filter((n) => n.admin !== true || me.role === 'admin').map((n) => {
                  const active = n.href === '/' ? path === '/' : path.startsWith(n.href);
                  return (
                    <Link key={n.href} href={n.href} className={active ? 'active' : undefined}>
                      {n.label}
                    </Link>
                  );
                })}
              </nav>
              <div className="topbar-right">
                <LiveDot />
                <span className="user" data-testid="current-user">{me.username} <span className="role">{me.role}</span></span>
                <button
                  type="button"
                  className="link"
                  onClick={() => {
                    void api('/auth/logout', { method: 'POST' }).finally(() => window.location.assign('/login'));
                  }}
                >
                  Sign out
                </button>
              </div>
            </header>
            <main className="content">{children}</main>
          </div>
        );
      }}
    </MeProvider>
  );
}
