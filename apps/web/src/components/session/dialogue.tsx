'use client';
/**
 * The Dialogue tab: the session as a conversation, client on the left, server on the right, the
 * time of each unit in the middle (replies with their latency), notices where things happened,
 * the TCP handshake above and the teardown below.
 */
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { endpoint, formatBytes, formatClock, formatCount, formatDuration } from '@/lib/format';
import { AuthBlock, DOTS } from './auth-block';
import { MASKED, commandTip, decodeChallenge, replyTip, statusPrefix } from './dialogue-model';
import type { Dialogue, DialogueItem, MailItem, MessageItem, NoticeItem, TcpMarker } from './dialogue-model';
import styles from './session.module.css';
import type { Selection, SessionDetail, TimelineEntry } from './types';

/** Items drawn at first; a longer dialogue offers the rest on demand (5000 entries stay usable). */
const FIRST_ITEMS = 400;
/** Reply lines shown before "N more lines" (a LIST or UIDL answer can run to thousands). */
const REPLY_LINES = 12;
/** A reply slower than this is shown in red. */
const SLOW_US = 1_000_000;

interface Props {
  detail: SessionDetail;
  dialogue: Dialogue;
  markers: { top: readonly TcpMarker[]; bottom: readonly TcpMarker[]; fromPackets: boolean };
  selection: Selection;
  selectedFrames: ReadonlySet<number>;
  isAdmin: boolean;
  onSelect: (s: Selection) => void;
  onShowPackets: () => void;
  onOpenMail: (index: number) => void;
}

function framesText(frames: readonly number[]): string {
  if (frames.length === 0) return '';
  if (frames.length === 1) return `frame ${frames[0]}`;
  const shown = frames.slice(0, 4).join(', ');
  return `frames ${shown}${frames.length > 4 ? ` +${frames.length - 4}` : ''}`;
}

function codeClass(code: string): string {
  const c = code.charAt(0);
  if (code === '+OK') return styles.code2!;
  if (code === '-ERR') return styles.code5!;
  if (code === '+') return styles.code3!;
  return c === '2' ? styles.code2! : c === '3' ? styles.code3! : c === '4' ? styles.code4! : c === '5' ? styles.code5! : '';
}

function ReplyText({ protocol, entry }: { protocol: 'smtp' | 'pop3'; entry: TimelineEntry }) {
  const [all, setAll] = useState(false);
  const lines = entry.arg.split('\n');
  const shown = all ? lines : lines.slice(0, REPLY_LINES);
  const decoded = entry.verb === '334' || entry.verb === '+' ? decodeChallenge(entry.arg) : null;
  const render = (line: string, i: number) => {
    const st = statusPrefix(protocol, line);
    const body = st === null ? line : (
      <>
        <span className={styles.status} title={st.tip}>{st.code}</span>
        {st.rest === '' ? '' : ` ${st.rest}`}
      </>
    );
    return <span key={i}>{i === 0 ? ' ' : '\n    '}{body}</span>;
  };
  return (
    <>
      <div className={styles.line}>
        <span className={`${styles.verb} ${codeClass(entry.verb)}`} title={replyTip(protocol, entry.verb)}>{entry.verb}</span>
        {shown.map(render)}
        {decoded !== null && <span className={styles.decoded}> “{decoded}”</span>}
      </div>
      {lines.length > REPLY_LINES && (
        <button type="button" className="link small" onClick={(e) => { e.stopPropagation(); setAll(!all); }}>
          {all ? 'show fewer lines' : `${formatCount(lines.length - REPLY_LINES)} more lines`}
        </button>
      )}
    </>
  );
}

function CommandText({ protocol, entry }: { protocol: 'smtp' | 'pop3'; entry: TimelineEntry }) {
  // The API masks a credential argument as '****' (PASS ****, AUTH PLAIN ****).
  const words = entry.arg.split(' ');
  return (
    <div className={styles.line}>
      <span className={styles.verb} title={commandTip(protocol, entry.verb) ?? 'not a standard command'}>{entry.verb}</span>
      {entry.arg !== '' && ' '}
      {words.includes(MASKED)
        ? words.map((w, i) => (
          <span key={i}>
            {i > 0 && ' '}
            {w === MASKED ? <span className={styles.masked} title="a credential: see the decoded block">{DOTS}</span> : w}
          </span>
        ))
        : entry.arg}
    </div>
  );
}

function Resent({ resent, data }: { resent: readonly TimelineEntry[]; data: boolean }) {
  if (resent.length === 0) return null;
  const frames = resent.flatMap((r) => r.frames).join(', ');
  const text = data
    ? `${resent.length} segment${resent.length === 1 ? '' : 's'} sent again`
    : resent.length === 1 ? 'sent twice on the wire' : `sent ${resent.length + 1} times on the wire`;
  return <span className={styles.resent} data-testid="retransmitted" title={`TCP retransmission: frame ${frames}; shown once here`}>{text}</span>;
}

function Meta({ children }: { children?: ReactNode }) {
  return <div className={styles.meta}>{children}</div>;
}

/** `#7`, or `#22…45 (11)` for a unit carried by several frames. */
function shortFrames(frames: readonly number[]): string {
  if (frames.length === 0) return '';
  const first = frames[0]!;
  const last = frames[frames.length - 1]!;
  return frames.length === 1 ? `#${first}` : `#${first}…${last} (${frames.length})`;
}

function MessageBody({ item, protocol, sessionId, isAdmin }: { item: MessageItem; protocol: 'smtp' | 'pop3'; sessionId: string; isAdmin: boolean }) {
  const e = item.entry;
  return (
    <>
      {e.kind === 'reply' ? <ReplyText protocol={protocol} entry={e} /> : <CommandText protocol={protocol} entry={e} />}
      {item.auth.map((a) => <AuthBlock key={a.seq} sessionId={sessionId} entry={a} isAdmin={isAdmin} />)}
      {(item.answers !== null || item.resent.length > 0) && (
        <Meta>
          {item.answers !== null && <span className={styles.answer} title="pipelining: this reply answers an earlier command">↩ answers {item.answers.verb}</span>}
          <Resent resent={item.resent} data={false} />
        </Meta>
      )}
    </>
  );
}

function MailBody({ item, onOpenMail }: { item: MailItem; onOpenMail: (index: number) => void }) {
  const [open, setOpen] = useState(false);
  const { mail, entry } = item;
  if (item.moreChunks) {
    return (
      <div className={styles.chunk}>
        <span className={styles.verb} title={commandTip('smtp', 'BDAT')}>BDAT</span> chunk: {entry.arg}
        {mail !== null && <> of mail #{mail.index} (continues)</>}
        {item.resent.length > 0 && <Meta><Resent resent={item.resent} data /></Meta>}
      </div>
    );
  }
  const from = mail?.from ?? mail?.mailFrom ?? null;
  const to = mail?.to !== undefined && mail.to.length > 0 ? mail.to : mail?.rcptTo ?? [];
  return (
    <div className={styles.mailBlock} data-testid="mail-block">
      <div className={styles.mailLine}>
        <span className={styles.mailIcon} aria-hidden>✉</span>
        {mail === null ? (
          <span>{entry.verb} content: {entry.arg} <span className="muted">(no mail was stored for it)</span></span>
        ) : (
          <>
            <button type="button" className="link" onClick={(ev) => { ev.stopPropagation(); onOpenMail(mail.index); }} title="show it in the Mails tab">
              mail #{mail.index}
            </button>
            <span>{formatBytes(mail.size)}</span>
            {mail.subject !== null && <span>Subject “{mail.subject}”</span>}
            {mail.complete === false && <span className="badge warn">truncated</span>}
            <button type="button" className="link small" aria-expanded={open} onClick={(ev) => { ev.stopPropagation(); setOpen(!open); }}>
              {open ? '▾ less' : '▸ more'}
            </button>
          </>
        )}
      </div>
      {open && mail !== null && (
        <dl>
          {from !== null && <><dt>From</dt><dd>{from}</dd></>}
          {to.length > 0 && <><dt>To</dt><dd>{to.join(', ')}</dd></>}
          {mail.date != null && <><dt>Date</dt><dd>{mail.date}</dd></>}
          {mail.attachments !== undefined && <><dt>Attachments</dt><dd>{mail.attachments}</dd></>}
          <dt>Carried by</dt><dd>{mail.command ?? entry.verb}{mail.messageNumber != null ? ` ${mail.messageNumber}` : ''}: {entry.arg}</dd>
          {mail.finalReply != null && <><dt>Final reply</dt><dd>{mail.finalReply}</dd></>}
          <dt>Open</dt><dd><Link href={`/mails/${mail.id}`}>the mail&apos;s page</Link></dd>
        </dl>
      )}
      <Meta>
        <span>on the wire: {entry.arg.startsWith(entry.verb) ? entry.arg : `${entry.verb} content, ${entry.arg}`}</span>
        <Resent resent={item.resent} data />
      </Meta>
    </div>
  );
}

function noticeTone(n: NoticeItem): string {
  if (n.kind === 'tls') return styles.noticeInfo!;
  if (n.kind === 'tcp' || n.kind === 'retransmission') return styles.noticeMuted!;
  return styles.noticeWarn!;
}

function describeTarget(seq: number | null | undefined, detail: SessionDetail): string | null {
  if (seq === null || seq === undefined) return null;
  const t = detail.timeline.find((e) => e.seq === seq);
  if (t === undefined) return null;
  if (t.kind === 'data') return t.mail != null ? `the body of mail #${t.mail}` : `the ${t.verb} content`;
  if (t.kind === 'reply') return `the ${t.verb} reply`;
  return `the ${t.verb} ${t.kind}`;
}

function NoticeBody({ item, detail }: { item: NoticeItem; detail: SessionDetail }) {
  const first = item.entries[0]!;
  const side = first.dir === 'client' ? 'client' : 'server';
  if (item.kind === 'retransmission') {
    const frames = item.entries.flatMap((e) => e.frames);
    const bytes = item.entries.reduce((n, e) => n + (Number(/^(\d+)/.exec(e.arg)?.[1]) || 0), 0);
    const targets = [...new Set(item.entries.map((e) => describeTarget(e.retransmission?.entrySeq, detail)).filter((t): t is string => t !== null))];
    return (
      <>
        <span className={styles.tag}>{item.entries.length === 1 ? 'RETRANSMISSION' : `${item.entries.length} RETRANSMISSIONS`}</span>
        <span>
          the {side} sent {bytes > 0 ? `${formatCount(bytes)} bytes` : 'data'} again ({framesText(frames)})
          {targets.length > 0 && <>: {targets.join(', ')}, shown once</>}
        </span>
      </>
    );
  }
  if (item.kind === 'gap') {
    const n = Number(/^(\d+)/.exec(first.arg)?.[1]);
    return (
      <>
        <span className={styles.tag}>GAP</span>
        <span>[{Number.isFinite(n) ? formatCount(n) : '?'} bytes missing] from the {side}&apos;s stream: the capture lost them</span>
      </>
    );
  }
  if (item.kind === 'tls') {
    return (
      <>
        <span className={styles.tag}>TLS</span>
        <span>{first.verb}: {first.arg || 'TLS starts here; the rest of the session is encrypted'}</span>
      </>
    );
  }
  return (
    <>
      <span className={styles.tag}>{first.verb}</span>
      <span>{first.arg}</span>
      <span className="muted small">({side})</span>
    </>
  );
}

function Markers({ markers, start, selection, onSelect, label }: { markers: readonly TcpMarker[]; start: number; selection: Selection; onSelect: (s: Selection) => void; label: string }) {
  if (markers.length === 0) return null;
  return (
    <div className={styles.markers} data-testid={`tcp-${label}`}>
      <span>{label === 'handshake' ? 'TCP handshake' : 'TCP teardown'}</span>
      {markers.map((m, i) => (
        <button
          key={`${m.verb}-${m.frame ?? i}-${i}`}
          type="button"
          className={`${styles.marker} ${m.verb === 'RST' ? styles.rst : ''} ${selection?.kind === 'packet' && selection.frame === m.frame ? styles.selected : ''}`}
          data-testid="tcp-marker"
          data-flag={m.verb}
          data-dir={m.dir}
          title={`${m.dir === 'client' ? 'client → server' : 'server → client'} at ${formatClock(m.ts)}${m.frame === null ? '' : `, frame ${m.frame}`}${m.arg === '' ? '' : `: ${m.arg}`}`}
          onClick={() => m.frame !== null && onSelect({ kind: 'packet', frame: m.frame })}
        >
          {m.dir === 'client' ? `${m.verb} →` : `← ${m.verb}`} <span className="muted">+{formatDuration(Math.max(0, m.ts - start))}</span>
        </button>
      ))}
    </div>
  );
}

function entryAttrs(item: DialogueItem): Record<string, string> {
  if (item.type === 'notice') return { 'data-side': 'note', 'data-kind': item.kind };
  const e = item.entry;
  const base: Record<string, string> = { 'data-side': e.dir, 'data-kind': e.kind };
  if (item.type === 'message' && e.kind === 'command') base['data-verb'] = e.verb.toUpperCase();
  if (item.type === 'message' && e.kind === 'reply') base['data-code'] = e.verb;
  if (item.type === 'data' && item.mail !== null) base['data-mail'] = String(item.mail.index);
  return base;
}

export function DialogueView({ detail, dialogue, markers, selection, selectedFrames, isAdmin, onSelect, onShowPackets, onOpenMail }: Props) {
  const [showAll, setShowAll] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const { session } = detail;
  const protocol = session.protocol;
  const items = showAll ? dialogue.items : dialogue.items.slice(0, FIRST_ITEMS);

  const isSelected = (item: DialogueItem): boolean => {
    if (selection === null) return false;
    if (selection.kind === 'entry') return item.seqs.includes(selection.seq);
    return item.frames.includes(selection.frame);
  };

  // Arriving from the packet list with a packet selected: bring its entry into view.
  useEffect(() => {
    const el = ref.current?.querySelector('[data-selected="true"]');
    if (el instanceof HTMLElement) el.scrollIntoView({ block: 'center' });
    // Only when the tab is opened: scrolling on every click would jump under the pointer.
  }, []);

  const select = (item: DialogueItem) => onSelect(isSelected(item) && selection?.kind === 'entry' ? null : { kind: 'entry', seq: item.seqs[0]! });
  const showFrames = (item: DialogueItem) => {
    onSelect({ kind: 'entry', seq: item.seqs[0]! });
    onShowPackets();
  };

  if (detail.timeline.length === 0) {
    return (
      <div className="empty">
        <strong>No dialogue</strong>
        Nothing was decoded in this session yet{session.state === 'closed' ? '' : ' (it is still open: entries appear as they arrive)'}. The Packets and Data flow tabs show what was on the wire.
      </div>
    );
  }

  return (
    <div className={styles.dialogue} ref={ref} data-testid="dialogue">
      <div className={styles.dlgHead}>
        <span className={styles.headClient}>Client {endpoint(session.client.addr, session.client.port)}</span>
        <span className={styles.headTime}>time · latency</span>
        <span className={styles.headServer}>Server {endpoint(session.server.addr, session.server.port)}</span>
      </div>
      {selectedFrames.size > 0 && selection?.kind === 'packet' && !dialogue.items.some(isSelected) && (
        <div className="muted small" style={{ padding: '4px 10px' }}>Frame {selection.frame} carried no dialogue entry (an ACK or a TCP-only packet).</div>
      )}
      <Markers markers={markers.top} start={session.startTs} selection={selection} onSelect={onSelect} label="handshake" />
      {markers.top.length === 0 && !session.sawSyn && (
        <div className={styles.markers}><span>no TCP handshake captured: the session was picked up mid-stream</span></div>
      )}
      {items.map((item) => {
        const selected = isSelected(item);
        const cls = `${styles.row} ${selected ? styles.selected : ''}`;
        const attrs = entryAttrs(item);
        if (item.type === 'notice') {
          const first = item.entries[0]!;
          return (
            <div key={item.key} className={cls} data-testid="timeline-entry" data-selected={selected} data-seq={first.seq} {...attrs}>
              <div className={`${styles.notice} ${noticeTone(item)}`} onClick={() => select(item)} title={first.arg}>
                <NoticeBody item={item} detail={detail} />
                <span className={styles.when}>{formatClock(first.ts)}</span>
              </div>
            </div>
          );
        }
        const e = item.entry;
        return (
          <div key={item.key} className={cls} data-testid="timeline-entry" data-selected={selected} data-seq={e.seq} {...attrs}>
            <div className={styles.time}>
              {formatClock(e.ts)}
              <span className={styles.timeSub}>
                {e.latencyUs !== null && (
                  <span className={`${styles.latency} ${e.latencyUs >= SLOW_US ? styles.slow : ''}`} title="latency: since the command it answers">
                    +{formatDuration(e.latencyUs)}
                  </span>
                )}
                {item.frames.length > 0 && (
                  <button type="button" className={`link ${styles.frameLink}`} title={`${framesText(item.frames)}: show in the packet list`} onClick={() => showFrames(item)}>
                    {shortFrames(item.frames)}
                  </button>
                )}
              </span>
            </div>
            <div className={styles.bubble} onClick={() => select(item)}>
              {item.type === 'message' && <MessageBody item={item} protocol={protocol} sessionId={session.id} isAdmin={isAdmin} />}
              {item.type === 'data' && <MailBody item={item} onOpenMail={onOpenMail} />}
              {item.type === 'auth' && (
                <>
                  <div className={styles.line}><span className={styles.verb} title={commandTip(protocol, 'AUTH')}>{e.verb}</span> <span className="muted">credential</span></div>
                  <AuthBlock sessionId={session.id} entry={e} isAdmin={isAdmin} />
                </>
              )}
            </div>
          </div>
        );
      })}
      {items.length < dialogue.items.length && (
        <div className={styles.markers}>
          <button type="button" onClick={() => setShowAll(true)}>
            Show all {formatCount(dialogue.items.length)} entries ({formatCount(dialogue.items.length - items.length)} more)
          </button>
        </div>
      )}
      {detail.timelineTruncated && (
        <div className="alert warn" style={{ margin: '6px 10px' }}>
          The timeline is longer than the {formatCount(detail.timeline.length)} entries shown; the Packets and Data flow tabs, and the .pcap, have the rest.
        </div>
      )}
      <Markers markers={markers.bottom} start={session.startTs} selection={selection} onSelect={onSelect} label="teardown" />
      {markers.fromPackets && <div className="muted small" style={{ textAlign: 'center' }}>TCP markers read from the packets&apos; flags.</div>}
    </div>
  );
}
