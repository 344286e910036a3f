'use client';
/** The Mails tab: every mail the session carried, with a link to its page and its .eml. */
import Link from 'next/link';
import { useEffect, useRef } from 'react';
import { formatBytes, formatTime } from '@/lib/format';
import { NotSavedHelp } from './session-header';
import styles from './session.module.css';
import type { SessionDetail, SessionMail } from './types';

function Eml({ mail, isAdmin }: { mail: SessionMail; isAdmin: boolean }) {
  if (!mail.hasRaw) return <span className="muted" title="Save Mail was off when this mail was captured">not saved</span>;
  if (!isAdmin) return <span className="muted" title="Downloading mails is for admins">admins only</span>;
  return <a href={`/api/mails/${mail.id}/raw`} download={`${mail.id}.eml`} data-testid="mail-row-eml">Download .eml</a>;
}

export function SessionMails({ detail, isAdmin, focus }: { detail: SessionDetail; isAdmin: boolean; focus: number | null }) {
  const { mails, session } = detail;
  const ref = useRef<HTMLTableElement>(null);
  useEffect(() => {
    if (focus === null) return;
    ref.current?.querySelector(`tr[data-index="${focus}"]`)?.scrollIntoView({ block: 'center' });
  }, [focus]);

  if (mails.length === 0) {
    return (
      <div className="empty">
        <strong>No mails</strong>
        {session.protocol === 'smtp' ? 'No DATA or BDAT content was transferred in this session.' : 'No message was retrieved (RETR / TOP) in this session.'}
      </div>
    );
  }
  return (
    <div className="stack">
      {mails.some((m) => !m.hasRaw) && <NotSavedHelp isAdmin={isAdmin} />}
      <div style={{ overflowX: 'auto' }}>
        <table className={`grid ${styles.mailsTable}`} ref={ref} data-testid="session-mails">
          <thead>
            <tr>
              <th>#</th><th>Direction</th><th>From</th><th>To</th><th>Subject</th><th>Date</th><th>Size</th><th>Attachments</th><th>Status</th><th>.eml</th>
            </tr>
          </thead>
          <tbody>
            {mails.map((m) => {
              const from = m.from ?? m.mailFrom ?? null;
              const to = m.to !== undefined && m.to.length > 0 ? m.to : m.rcptTo ?? [];
              return (
                <tr key={m.id} data-index={m.index} data-testid="session-mail-row" className={focus === m.index ? styles.highlight : undefined}>
                  <td>{m.index}</td>
                  <td>
                    <span className={`badge ${m.direction === 'sent' ? 'smtp' : 'pop3'}`}>{m.direction}</span>
                    {m.command !== undefined && <span className="muted small"> {m.command}{m.messageNumber != null ? ` ${m.messageNumber}` : ''}</span>}
                  </td>
                  <td className={styles.addr} title={from ?? undefined}>{from ?? <span className="muted">—</span>}</td>
                  <td className={styles.addr} title={to.join(', ')}>{to.length === 0 ? <span className="muted">—</span> : to.length > 2 ? `${to.slice(0, 2).join(', ')} +${to.length - 2}` : to.join(', ')}</td>
                  <td className={styles.subject}>
                    <Link href={`/mails/${m.id}`} title={m.subject ?? undefined}>{m.subject ?? '(no subject)'}</Link>
                  </td>
                  <td className={styles.date} title={m.date ?? undefined}>{m.date ?? (m.startTs !== undefined ? <span className="muted">{formatTime(m.startTs, false)}</span> : '')}</td>
                  <td>{formatBytes(m.size)}</td>
                  <td>{m.attachments ?? ''}</td>
                  <td>
                    {m.complete === false ? <span className="badge warn" title="a gap, a limit or the end of the connection cut it short">truncated</span> : m.complete === true ? <span className="badge ok">complete</span> : null}
                    {m.finalReply != null && <span className="muted small"> {m.finalReply}</span>}
                  </td>
                  <td><Eml mail={m} isAdmin={isAdmin} /></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
