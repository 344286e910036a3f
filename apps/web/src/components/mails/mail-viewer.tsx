'use client';
/**
 * One mail: its header block, downloads (admin, and only when Save Mail kept the bytes), the
 * attachments, and the Text / HTML / Headers / Raw tabs (the tab lives in the URL: ?tab=html).
 */
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useState, type ReactNode } from 'react';
import { ApiError, api, errorMessage } from '@/lib/api';
import { useIsAdmin } from '@/lib/auth';
import { formatBytes, formatTime } from '@/lib/format';
import { HtmlFrame } from './html-frame';
import styles from './mails.module.css';
import { Paperclip } from './paperclip';
import { RawView } from './raw-view';
import type { MailDetail } from './types';

const TABS = ['text', 'html', 'headers', 'raw'] as const;
type Tab = (typeof TABS)[number];
const TAB_LABEL: Record<Tab, string> = { text: 'Text', html: 'HTML', headers: 'Headers', raw: 'Raw' };

/** The Date header in local time when it parses, as written otherwise. */
function formatDateHeader(date: string | null): string {
  if (date === null) return '';
  const ms = Date.parse(date);
  return Number.isFinite(ms) ? formatTime(ms * 1000, false) : date;
}

function List({ items }: { items: readonly string[] }) {
  if (items.length === 0) return <span className="muted">none</span>;
  return <>{items.join(', ')}</>;
}

/** Said once in the header block instead of dead buttons: no bytes, so no body and no downloads. */
function NotSaved({ admin }: { admin: boolean }) {
  return (
    <div className="alert warn" data-testid="mail-not-saved">
      <strong>Mail bytes not saved.</strong> Save Mail was off when this mail was captured, so only its summary was kept (envelope, addresses,
      subject, size, SHA-256, attachment names): no body, headers or downloads.{' '}
      {admin ? (
        <>
          To keep the next mails, turn on <Link href="/settings?tab=mail">Save Mail in Settings</Link>.
        </>
      ) : (
        <>An admin can turn on Save Mail in Settings to keep the next mails.</>
      )}
    </div>
  );
}

/** What a tab says when the bytes it would show were not kept. */
function NotSavedTab({ what }: { what: string }) {
  return (
    <div className="empty" data-testid="mail-tab-not-saved">
      <strong>Not saved</strong>
      {what} was not kept: Save Mail was off when this mail was captured.
    </div>
  );
}

function Field({ label, children, wide }: { label: string; children: ReactNode; wide?: boolean }) {
  return (
    <>
      <dt>{label}</dt>
      <dd className={wide === true ? styles.wide : undefined}>{children}</dd>
    </>
  );
}

export function MailViewer({ id }: { id: string }) {
  const admin = useIsAdmin();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const [data, setData] = useState<MailDetail | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);

  useEffect(() => {
    let live = true;
    setData(null);
    setError(null);
    if (!/^[0-9]{1,18}$/.test(id)) {
      setError({ status: 404, message: `'${id}' is not a mail id` });
      return;
    }
    api<MailDetail>(`/mails/${id}`).then(
      (d) => {
        if (live) setData(d);
      },
      (e: unknown) => {
        if (live) setError({ status: e instanceof ApiError ? e.status : 0, message: errorMessage(e) });
      },
    );
    return () => {
      live = false;
    };
  }, [id]);

  const tabParam = params.get('tab');
  const defaultTab: Tab = data?.body !== null && data?.body !== undefined && data.body.text === null && data.body.html !== null ? 'html' : 'text';
  const tab: Tab = (TABS as readonly string[]).includes(tabParam ?? '') ? (tabParam as Tab) : defaultTab;
  const selectTab = (t: Tab) => {
    const sp = new URLSearchParams(params.toString());
    sp.set('tab', t);
    router.replace(`${pathname}?${sp.toString()}`, { scroll: false });
  };

  if (error !== null) {
    return (
      <div className={styles.viewer}>
        <div className={styles.crumbs}>
          <Link href="/mails">Mails</Link> / #{id}
        </div>
        {error.status === 404 ? (
          <div className="empty" data-testid="mail-not-found">
            <strong>No mail #{id}</strong>
            It may have been removed with its capture. <Link href="/mails">Back to the mail list</Link>
          </div>
        ) : (
          <div className="alert error" role="alert">
            Cannot load mail #{id}: {error.message}
          </div>
        )}
      </div>
    );
  }
  if (data === null) return <div className="muted">Loading mail #{id}…</div>;

  const { mail, attachments, body } = data;
  const saved = mail.hasRaw;
  const canDownload = admin && saved;

  return (
    <div className={styles.viewer}>
      <div className={styles.crumbs}>
        <Link href="/mails">Mails</Link> / #{mail.id} · <Link href={`/sessions/${mail.sessionId}`}>session #{mail.sessionId}</Link>, mail {mail.index}
      </div>

      <section className="card" aria-label="mail header">
        <h1 className={styles.subject} data-testid="mail-subject">
          {mail.subject !== null && mail.subject !== '' ? mail.subject : <span className="muted">(no subject)</span>}
        </h1>
        <dl className={styles.meta}>
          <Field label="From">{mail.from ?? <span className="muted">no From header</span>}</Field>
          <Field label="Date">
            <span title={mail.date ?? undefined}>{mail.date !== null ? formatDateHeader(mail.date) : <span className="muted">no Date header</span>}</span>
          </Field>
          <Field label="To">
            <List items={mail.to} />
          </Field>
          <Field label="Captured">{formatTime(mail.startTs)}</Field>
          <Field label="Cc">
            <List items={mail.cc} />
          </Field>
          <Field label="Size">
            {formatBytes(mail.size)} <span className="muted">({mail.size.toLocaleString('en-US')} bytes)</span>
          </Field>
          <Field label="Mail from">{mail.mailFrom ?? <span className="muted">{mail.direction === 'retrieved' ? 'n/a (POP3)' : 'not seen'}</span>}</Field>
          <Field label="Direction">
            <span className={`badge ${mail.direction === 'sent' ? 'smtp' : 'pop3'}`}>{mail.direction}</span>{' '}
            <span className="muted">
              by {mail.command}
              {mail.finalReply !== null && <>, server replied {mail.finalReply}</>}
            </span>
          </Field>
          <Field label="Rcpt to">
            <List items={mail.rcptTo} />
          </Field>
          <Field label="Session">
            <Link href={`/sessions/${mail.sessionId}`} data-testid="mail-session-link">
              #{mail.sessionId}
            </Link>
            {mail.frames.length > 0 && (
              <span className="muted">
                {' '}
                frames {mail.frames.length > 6 ? `${mail.frames.slice(0, 6).join(', ')}…` : mail.frames.join(', ')}
              </span>
            )}
          </Field>
          <Field label="Message-ID">
            <span className="mono">{mail.messageId ?? <span className="muted">none</span>}</span>
          </Field>
          <Field label="Complete">
            {mail.complete ? (
              <span className="badge ok" data-testid="mail-complete">complete</span>
            ) : (
              <span className="badge warn" data-testid="mail-complete" title="the capture missed part of the mail (a gap, or the session ended first)">
                truncated
              </span>
            )}{' '}
            {saved ? <span className="badge ok">saved</span> : <span className="badge">not saved</span>}
          </Field>
          <Field label="SHA-256" wide>
            <span className="mono">{mail.sha256}</span>
          </Field>
          {mail.parseError !== null && (
            <Field label="Parse error" wide>
              <span className="error">{mail.parseError}</span>
            </Field>
          )}
        </dl>

        <div className={styles.actions}>
          {canDownload && (
            <a className="button" href={`/api/mails/${mail.id}/raw`} download data-testid="download-eml">
              Download .eml
            </a>
          )}
          {!admin && saved && (
            <>
              <button type="button" disabled title="needs the admin role">
                Download .eml
              </button>
              <span className="muted small" data-testid="download-forbidden">
                Only an admin can download mail and attachments (the API refuses viewers).
              </span>
            </>
          )}
        </div>
        {!saved && (
          <div style={{ marginTop: 10 }}>
            <NotSaved admin={admin} />
          </div>
        )}
      </section>

      {attachments.length > 0 && (
        <section className="card" aria-label="attachments">
          <h2>
            <Paperclip /> {attachments.length} attachment{attachments.length === 1 ? '' : 's'}
          </h2>
          <table className={`grid ${styles.attachments}`}>
            <thead>
              <tr>
                <th>Name</th>
                <th>Type</th>
                <th style={{ textAlign: 'right' }}>Size</th>
                <th>SHA-256</th>
                <th>Download</th>
              </tr>
            </thead>
            <tbody>
              {attachments.map((a) => (
                <tr key={a.id} data-testid="attachment-row">
                  <td title={a.filename ?? undefined}>{a.filename ?? <span className="muted">(no name)</span>}{a.disposition === 'inline' && <span className="muted"> inline</span>}</td>
                  <td>{a.contentType}</td>
                  <td style={{ textAlign: 'right' }}>{formatBytes(a.size)}</td>
                  <td className={`mono ${styles.hash}`} title={a.sha256}>
                    {a.sha256}
                  </td>
                  <td>
                    {canDownload ? (
                      <a href={`/api/mails/${mail.id}/attachments/${a.id}`} download data-testid="download-attachment">
                        download
                      </a>
                    ) : (
                      <span className="muted small">{saved ? 'admins only' : 'not saved'}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {canDownload && <p className="muted small" style={{ margin: '6px 0 0' }}>Files are named from ids (mail-attachment.bin), never from the mail: check the type before opening one.</p>}
        </section>
      )}

      <section aria-label="mail content">
        <div className="tabs" role="tablist">
          {TABS.map((t) => (
            <button key={t} type="button" role="tab" aria-selected={tab === t} data-testid={`mail-tab-${t}`} onClick={() => selectTab(t)}>
              {TAB_LABEL[t]}
              {t === 'html' && body !== null && body.html === null && <span className="muted small"> (none)</span>}
              {t === 'text' && body !== null && body.text === null && <span className="muted small"> (none)</span>}
            </button>
          ))}
        </div>
        <div role="tabpanel" data-testid={`mail-panel-${tab}`}>
          <TabPanel tab={tab} data={data} admin={admin} onTab={selectTab} />
        </div>
      </section>
    </div>
  );
}

function TabPanel({ tab, data, admin, onTab }: { tab: Tab; data: MailDetail; admin: boolean; onTab: (t: Tab) => void }) {
  const { mail, body } = data;
  if (tab === 'raw') {
    if (!mail.hasRaw) return <NotSavedTab what="The raw mail" />;
    if (!admin) {
      return (
        <div className="alert info" data-testid="raw-forbidden">
          Only an admin can see the raw mail: it is the same as downloading it, which the API refuses viewers. The Text, HTML and Headers tabs show
          what it contains.
        </div>
      );
    }
    return <RawView id={mail.id} size={mail.size} />;
  }
  if (body === null) return <NotSavedTab what={tab === 'headers' ? 'The header list' : `The ${tab === 'html' ? 'HTML' : 'text'} body`} />;
  const truncatedNote = body.truncated && (
    <div className="alert warn" style={{ marginBottom: 8 }}>
      The body is longer than 512 KiB and is cut here{admin ? '; download the .eml for all of it' : ''}.
    </div>
  );
  if (tab === 'text') {
    if (body.text === null) {
      return (
        <div className="empty">
          <strong>This mail has no text part</strong>
          {body.html !== null ? (
            <>
              It has an HTML body:{' '}
              <button type="button" className="link" onClick={() => onTab('html')}>
                show the HTML tab
              </button>
              .
            </>
          ) : (
            'Nor an HTML one: see the Headers and Raw tabs.'
          )}
        </div>
      );
    }
    return (
      <>
        {truncatedNote}
        <pre className={styles.pre} data-testid="mail-text">
          {body.text}
        </pre>
      </>
    );
  }
  if (tab === 'html') {
    if (body.html === null) {
      return (
        <div className="empty">
          <strong>This mail has no HTML part</strong>
          {body.text !== null ? (
            <>
              Its body is plain text:{' '}
              <button type="button" className="link" onClick={() => onTab('text')}>
                show the Text tab
              </button>
              .
            </>
          ) : (
            'Nor a text one: see the Headers and Raw tabs.'
          )}
        </div>
      );
    }
    return (
      <>
        {truncatedNote}
        <HtmlFrame html={body.html} title={`HTML body of mail ${mail.id}`} />
      </>
    );
  }
  // headers
  if (body.headers === undefined) {
    return <div className="alert warn">This API does not list header fields yet (it is older than this page): restart it on the current version.</div>;
  }
  if (body.headers.length === 0) return <div className="empty"><strong>No header fields</strong>The saved bytes could not be parsed as a mail.</div>;
  return (
    <>
      {body.headersTruncated === true && <div className="alert warn" style={{ marginBottom: 8 }}>Very many or very long header fields: the list is cut{admin ? '; the Raw tab has them all' : ''}.</div>}
      <table className={`grid ${styles.headers}`} data-testid="mail-headers">
        <tbody>
          {body.headers.map((h, i) => (
            <tr key={i}>
              <td className="mono">{h.name}</td>
              <td className="mono">{h.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
