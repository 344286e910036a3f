'use client';
/** Settings (admins): Mail module / Agents / Users, the tab in the URL (?tab=agents). */
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback, useState } from 'react';
import { useIsAdmin } from '@/lib/auth';
import { AgentsPanel } from './agents-panel';
import { MailSettingsForm } from './mail-settings-form';
import styles from './settings.module.css';
import { UsersPanel } from './users-panel';

const TABS = ['mail', 'agents', 'users'] as const;
type Tab = (typeof TABS)[number];
const LABEL: Record<Tab, string> = { mail: 'Mail module', agents: 'Agents', users: 'Users' };

export function SettingsView() {
  const admin = useIsAdmin();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const param = params.get('tab');
  const tab: Tab = (TABS as readonly string[]).includes(param ?? '') ? (param as Tab) : 'mail';
  // A panel stays mounted once opened, so switching tabs keeps unsaved changes and shown tokens.
  const [opened, setOpened] = useState<ReadonlySet<Tab>>(() => new Set([tab]));
  if (!opened.has(tab)) setOpened(new Set([...opened, tab]));
  const [mailDirty, setMailDirty] = useState(false);
  const onDirty = useCallback((d: boolean) => setMailDirty(d), []);

  if (!admin) {
    return (
      <div className="empty" data-testid="settings-forbidden">
        <strong>Settings are for admins</strong>
        You are signed in as a viewer: only an admin can change settings. Ask an admin to change the mail module, agents or users for you.
      </div>
    );
  }

  const select = (t: Tab) => {
    const sp = new URLSearchParams(params.toString());
    sp.set('tab', t);
    router.replace(`${pathname}?${sp.toString()}`, { scroll: false });
  };

  return (
    <div className={styles.page}>
      <div className="tabs" role="tablist">
        {TABS.map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} data-testid={`settings-tab-${t}`} onClick={() => select(t)}>
            {LABEL[t]}
            {t === 'mail' && mailDirty && tab !== 'mail' && <span className="badge warn" style={{ marginLeft: 6 }}>unsaved</span>}
          </button>
        ))}
      </div>
      {TABS.filter((t) => opened.has(t)).map((t) => (
        <div key={t} role="tabpanel" hidden={t !== tab} data-testid={`settings-panel-${t}`}>
          {t === 'mail' ? <MailSettingsForm onDirtyChange={onDirty} /> : t === 'agents' ? <AgentsPanel /> : <UsersPanel />}
        </div>
      ))}
    </div>
  );
}
