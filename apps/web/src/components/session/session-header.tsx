'use client';
/** The session's summary: who talked to whom, how it ended, what it carried, and the downloads. */
import Link from 'next/link';
import type { ReactNode } from 'react';
import { endpoint, formatBytes, formatCount, formatDuration, formatTime } from '@/lib/format';
import { closeReasonText } from './dialogue-model';
import styles from './session.module.css';
import type { CaptureInfo, SessionDetail, SessionMail } from './types';

const OUTCOMES: Readonly<Record<string, { tone: string; text: string }>> = {
  delivered: { tone: 'ok', text: 'The server accepted the mail' },
  retrieved: { tone: 'ok', text: 'The client retrieved mail' },
  'auth-failed': { tone: 'fail', text: 'The server refused the credentials' },
  rejected: { tone: 'fail', text: 'The server refused the mail (sender, a recipient or the content)' },
  encrypted: { tone: '', text: 'The session switched to TLS: what followed cannot be read' },
  aborted: { tone: 'fail', text: 'The connection ended in the middle of a transaction' },
  incomplete: { tone: 'warn', text: 'The capture does not hold the whole session' },
  'no-mail': { tone: '', text: 'The session carried no mail' },
};

export function OutcomeBadge({ outcome }: { outcome: string | null }) {
  if (outcome === null) return <span className="badge warn" title="The session is still open">open</span>;
  const o = OUTCOMES[outcome];
  return <span className={`badge ${o?.tone ?? ''}`} title={o?.text} data-testid="session-outcome">{outcome}</span>;
}

function Fact({ label, children, wrap = false, wide = false }: { label: string; children: ReactNode; wrap?: boolean; wide?: boolean }) {
  return (
    <div className={wide ? styles.wide : undefined}>
      <dt>{label}</dt>
      <dd className={wrap ? styles.wrap : undefined}>{children}</dd>
    </div>
  );
}

function Count({ n, what, plural, tone }: { n: number; what: string; plural?: string; tone: 'warn' | 'fail' }) {
  return <span className={`badge ${n > 0 ? tone : ''}`}>{formatCount(n)} {n === 1 ? what : plural ?? `${what}s`}</span>;
}

function captureLabel(c: CaptureInfo | null, id: string): string {
  if (c === null) return id.slice(0, 8);
  if (c.source === 'upload') return c.fileName ?? 'uploaded capture';
  return `live on ${c.agentName ?? 'an agent'}${c.interface === null ? '' : ` (${c.interface})`}`;
}

/** One .eml download per mail, or why there is none. */
export function EmlDownload({ mail, isAdmin, label }: { mail: SessionMail; isAdmin: boolean; label: string }) {
  if (!mail.hasRaw) {
    return (
      <span className={styles.notSaved} data-testid="download-eml" data-saved="false" title="Save Mail was off when this mail was captured: only its summary was kept">
        {label}: not saved
      </span>
    );
  }
  if (!isAdmin) {
    return (
      <span className={styles.notSaved} data-testid="download-eml" data-saved="true" title="Downloading mails is for admins">
        {label}: .eml for admins only
      </span>
    );
  }
  return (
    <a className="button" data-testid="download-eml" data-saved="true" href={`/api/mails/${mail.id}/raw`} download={`${mail.id}.eml`}>
      Download .eml{label === 'mail' ? '' : ` (${label})`}
    </a>
  );
}

export function NotSavedHelp({ isAdmin }: { isAdmin: boolean }) {
  return (
    <span className="muted small">
      Save Mail was off when this was captured, so the mail bytes were not kept (only their summary).{' '}
      {isAdmin ? (
        <>Turn <em>Save Mail</em> on in <Link href="/settings">Settings</Link> to keep the next ones.</>
      ) : (
        <>An admin can turn <em>Save Mail</em> on in Settings.</>
      )}
    </span>
  );
}

export function SessionHeader({ detail, capture, isAdmin, onOpenMails }: {
  detail: SessionDetail;
  capture: CaptureInfo | null;
  isAdmin: boolean;
  onOpenMails: (index: number) => void;
}) {
  const s = detail.session;
  const { mails } = detail;
  const tls = detail.timeline.find((e) => e.kind === 'tls');
  const proto = s.protocol === 'smtp' ? 'SMTP' : 'POP3';
  const anyUnsaved = mails.some((m) => !m.hasRaw);
  const emls = mails.map((m) => <EmlDownload key={m.id} mail={m} isAdmin={isAdmin} label={mails.length === 1 ? 'mail' : `#${m.index}`} />);

  return (
    <section className={`card ${styles.header}`} data-testid="session-header">
      <div className={styles.titleRow}>
        <span className={`badge ${s.protocol}`}>{proto}</span>
        <h1>Session {s.id}</h1>
        <OutcomeBadge outcome={s.outcome} />
        <span className="muted">{closeReasonText(s.state === 'closed' ? s.closeReason : null)}</span>
        {s.encrypted && <span className="badge" title={tls?.arg ?? 'encrypted'}>{s.protocol === 'smtp' ? 'STARTTLS' : 'STLS'}: encrypted</span>}
        <span className="spacer" />
        {isAdmin ? (
          <a className="button" data-testid="download-pcap" href={`/api/sessions/${s.id}/pcap`} download={`session-${s.id}.pcap`}>
            Download .pcap
          </a>
        ) : (
          <span className={styles.notSaved} data-testid="download-pcap" title="The frames carry the mails and the passwords in clear: downloading them is for admins">
            .pcap for admins only
          </span>
        )}
      </div>
      <div className={styles.endpoints}>
        <span className={styles.clientEnd} title="client">{endpoint(s.client.addr, s.client.port)}</span>
        {' → '}
        <span className={styles.serverEnd} title="server">{endpoint(s.server.addr, s.server.port)}</span>
        {s.helo !== null && <span className="muted"> · HELO <span data-testid="session-helo">{s.helo}</span></span>}
        {s.greeting !== null && <span className="muted small"> · greeting “{s.greeting.trim()}”</span>}
      </div>
      <dl className={styles.facts}>
        <Fact label="Started">{formatTime(s.startTs)}</Fact>
        <Fact label="Duration">{s.endTs === null ? 'still open' : formatDuration(s.endTs - s.startTs)}</Fact>
        <Fact label="Client → server">{formatCount(s.packets.client)} packets · {formatBytes(s.bytes.client)}</Fact>
        <Fact label="Server → client">{formatCount(s.packets.server)} packets · {formatBytes(s.bytes.server)}</Fact>
        <Fact label="Authentication" wrap wide>
          {s.authMechanism === null && s.authUser === null ? (
            <span className="muted">none</span>
          ) : (
            <>
              <span className="mono">{s.authUser ?? '(no user)'}</span>
              {s.authMechanism !== null && <span className="muted"> via {s.authMechanism}</span>}{' '}
              {s.authSuccess === true && <span className="badge ok">auth ok</span>}
              {s.authSuccess === false && <span className="badge fail">auth failed</span>}
            </>
          )}
        </Fact>
        <Fact label="Encryption">
          {s.encrypted ? (
            <span title={tls?.arg}>{s.protocol === 'smtp' ? 'STARTTLS' : 'STLS'}: encrypted from there on</span>
          ) : (
            <span className="muted">none (plain text)</span>
          )}
        </Fact>
        <Fact label="Transport" wrap wide>
          <span className={styles.counters}>
            <Count n={s.retransmissions} what="retransmission" tone="warn" />
            <Count n={s.gaps} what="gap" tone="warn" />
            {s.gapBytes > 0 && <span className="muted small">{formatCount(s.gapBytes)} bytes missing</span>}
            <Count n={s.anomalies} what="anomaly" plural="anomalies" tone="warn" />
          </span>
        </Fact>
        <Fact label="Capture">
          <Link href={`/sessions?captureId=${s.captureId}`} title={`capture ${s.captureId}: its sessions`}>{captureLabel(capture, s.captureId)}</Link>
        </Fact>
        <Fact label="Seen">
          {s.sawSyn ? 'from the handshake' : 'picked up mid-stream'}
          {s.detectedBy === 'content' && <span className="muted"> · {proto} found by content on port {s.server.port}</span>}
        </Fact>
        {s.deleted.length > 0 && (
          <Fact label="Deleted at QUIT" wrap>
            messages {s.deleted.join(', ')}
          </Fact>
        )}
      </dl>
      <div className={styles.actions}>
        <strong>Mails</strong>
        {mails.length === 0 ? (
          <span className="muted">none in this session</span>
        ) : mails.length > 6 ? (
          <details>
            <summary>
              {mails.length} mails: .eml downloads{' '}
              <button type="button" className="link" onClick={() => onOpenMails(1)}>(see the Mails tab)</button>
            </summary>
            <div className={styles.emlList}>{emls}</div>
          </details>
        ) : (
          <span className={styles.emlList}>{emls}</span>
        )}
        {anyUnsaved && <NotSavedHelp isAdmin={isAdmin} />}
      </div>
    </section>
  );
}
