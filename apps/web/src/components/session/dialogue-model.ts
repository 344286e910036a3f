/**
 * Turns a session's timeline (one entry per protocol unit, wire order) into what the Dialogue tab
 * draws: messages on the client or server side, mail blocks, notices in line, and the TCP
 * handshake / teardown as markers. Pure: no React, no fetching.
 *
 * What is folded, and why:
 * - an `auth` entry (the decoded credential, raised once the server answered) is drawn inside the
 *   last command that carried it (AUTH, PASS, a SASL line), where the credential was sent;
 * - a RETRANSMISSION entry stays a notice where it happened, and marks the entry whose bytes it
 *   repeated (the API's `retransmission.entrySeq`): the reassembler delivers bytes once, so a
 *   command sent twice is still one command;
 * - consecutive RETRANSMISSION entries make one notice.
 */
import { POP3_RESPONSES, describeCommand, describeEnhancedStatus, describeSmtpReply } from '@mailscope/shared/protocol-reference';
import type { ReferenceEntry } from '@mailscope/shared/protocol-reference';
import type { PacketRow, SessionMail, Side, TimelineEntry } from './types';

export interface TcpMarker {
  readonly verb: string;
  readonly dir: Side;
  readonly ts: number;
  readonly frame: number | null;
  readonly arg: string;
}

interface ItemBase {
  readonly key: string;
  /** Frames to highlight in the packet list when this item is selected. */
  readonly frames: readonly number[];
  /** Timeline seq numbers this item stands for (selection from a packet finds the item through its frames). */
  readonly seqs: readonly number[];
}

export interface MessageItem extends ItemBase {
  readonly type: 'message';
  readonly side: Side;
  readonly entry: TimelineEntry;
  /** Decoded credentials sent with this command. */
  readonly auth: readonly TimelineEntry[];
  /** RETRANSMISSION entries that repeated this entry's bytes. */
  readonly resent: readonly TimelineEntry[];
  /** Replies: the command answered, when it is not the one right before (pipelining). */
  readonly answers: TimelineEntry | null;
}

export interface MailItem extends ItemBase {
  readonly type: 'data';
  readonly side: Side;
  readonly entry: TimelineEntry;
  readonly mail: SessionMail | null;
  /** A BDAT chunk followed by more chunks of the same mail: drawn small. */
  readonly moreChunks: boolean;
  readonly resent: readonly TimelineEntry[];
}

export interface AuthItem extends ItemBase {
  readonly type: 'auth';
  readonly side: Side;
  readonly entry: TimelineEntry;
}

export type NoticeKind = 'retransmission' | 'gap' | 'anomaly' | 'tls' | 'tcp';

export interface NoticeItem extends ItemBase {
  readonly type: 'notice';
  readonly kind: NoticeKind;
  readonly entries: readonly TimelineEntry[];
}

export type DialogueItem = MessageItem | MailItem | AuthItem | NoticeItem;

export interface Dialogue {
  readonly top: readonly TcpMarker[];
  readonly items: readonly DialogueItem[];
  readonly bottom: readonly TcpMarker[];
}

const HANDSHAKE = new Set(['SYN', 'SYN-ACK', 'ACK']);
const TEARDOWN = new Set(['FIN', 'RST']);

function overlaps(a: readonly number[], b: readonly number[]): boolean {
  if (a.length === 0 || b.length === 0) return false;
  const set = new Set(a);
  return b.some((f) => set.has(f));
}

function union(...lists: ReadonlyArray<readonly number[]>): number[] {
  return [...new Set(lists.flat())].sort((x, y) => x - y);
}

/** The command each reply answers, from its latency (µs since that command); FIFO like the server. */
function answeredCommands(timeline: readonly TimelineEntry[]): Map<number, { command: TimelineEntry; pipelined: boolean }> {
  const out = new Map<number, { command: TimelineEntry; pipelined: boolean }>();
  let pending: TimelineEntry[] = [];
  let lastClientSeq = -1;
  for (const e of timeline) {
    if (e.kind === 'command' && e.dir === 'client') {
      pending.push(e);
      lastClientSeq = e.seq;
      continue;
    }
    if (e.kind === 'data' && e.dir === 'client') lastClientSeq = e.seq;
    if (e.kind !== 'reply' || e.latencyUs === null) continue;
    const sent = e.ts - e.latencyUs;
    const i = pending.findIndex((c) => Math.abs(c.ts - sent) <= 1);
    if (i < 0) continue;
    const command = pending[i]!;
    pending = pending.slice(i + 1);
    out.set(e.seq, { command, pipelined: command.seq !== lastClientSeq });
  }
  return out;
}

/**
 * Builds the dialogue. `mails` resolves data entries to their mail (by the API's `mail` index,
 * else by order for DATA / RETR / TOP when the API did not say).
 */
export function buildDialogue(timeline: readonly TimelineEntry[], mails: readonly SessionMail[]): Dialogue {
  const top: TcpMarker[] = [];
  const bottom: TcpMarker[] = [];
  const bySeq = new Map(timeline.map((e) => [e.seq, e]));

  // Auth entries folded into the last client command that shares a frame with them.
  const authOf = new Map<number, TimelineEntry[]>();
  const foldedAuth = new Set<number>();
  timeline.forEach((e, i) => {
    if (e.kind !== 'auth') return;
    for (let j = i - 1; j >= 0; j--) {
      const c = timeline[j]!;
      if (c.kind === 'command' && c.dir === 'client' && overlaps(c.frames, e.frames)) {
        authOf.set(c.seq, [...(authOf.get(c.seq) ?? []), e]);
        foldedAuth.add(e.seq);
        return;
      }
    }
  });

  const resentOf = new Map<number, TimelineEntry[]>();
  for (const e of timeline) {
    const target = e.retransmission?.entrySeq;
    if (target !== null && target !== undefined && bySeq.has(target)) resentOf.set(target, [...(resentOf.get(target) ?? []), e]);
  }

  const answers = answeredCommands(timeline);

  // Data entries -> mails.
  const mailByIndex = new Map(mails.map((m) => [m.index, m]));
  const dataEntries = timeline.filter((e) => e.kind === 'data');
  const dataPosition = new Map(dataEntries.map((e, i) => [e.seq, i]));
  let orderIndex = 0;
  const mailOf = new Map<number, SessionMail | null>();
  for (const e of dataEntries) {
    if (e.mail !== undefined) {
      mailOf.set(e.seq, e.mail === null ? null : mailByIndex.get(e.mail) ?? null);
    } else if (e.verb !== 'BDAT') {
      mailOf.set(e.seq, mails[orderIndex] ?? null);
      orderIndex++;
    } else {
      mailOf.set(e.seq, null);
    }
  }

  const items: DialogueItem[] = [];
  for (let i = 0; i < timeline.length; i++) {
    const e = timeline[i]!;
    if (e.kind === 'tcp' && HANDSHAKE.has(e.verb)) {
      top.push({ verb: e.verb, dir: e.dir, ts: e.ts, frame: e.frames[0] ?? null, arg: e.arg });
      continue;
    }
    if (e.kind === 'tcp' && TEARDOWN.has(e.verb)) {
      bottom.push({ verb: e.verb, dir: e.dir, ts: e.ts, frame: e.frames[0] ?? null, arg: e.arg });
      continue;
    }
    if (e.kind === 'tcp' && e.verb === 'RETRANSMISSION') {
      const last = items[items.length - 1];
      const prev = timeline[i - 1];
      if (last !== undefined && last.type === 'notice' && last.kind === 'retransmission' && prev !== undefined && prev.kind === 'tcp' && prev.verb === 'RETRANSMISSION') {
        items[items.length - 1] = { ...last, entries: [...last.entries, e], frames: union(last.frames, e.frames), seqs: [...last.seqs, e.seq] };
      } else {
        items.push({ type: 'notice', kind: 'retransmission', key: `re-${e.seq}`, entries: [e], frames: [...e.frames], seqs: [e.seq] });
      }
      continue;
    }
    if (e.kind === 'auth') {
      if (!foldedAuth.has(e.seq)) items.push({ type: 'auth', key: `a-${e.seq}`, side: e.dir, entry: e, frames: [...e.frames], seqs: [e.seq] });
      continue;
    }
    if (e.kind === 'anomaly' || e.kind === 'tls' || e.kind === 'tcp') {
      const kind: NoticeKind = e.kind === 'tls' ? 'tls' : e.kind === 'tcp' ? 'tcp' : e.verb === 'TCP_GAP' ? 'gap' : 'anomaly';
      items.push({ type: 'notice', kind, key: `n-${e.seq}`, entries: [e], frames: [...e.frames], seqs: [e.seq] });
      continue;
    }
    const resent = resentOf.get(e.seq) ?? [];
    const resentFrames = resent.flatMap((r) => r.frames);
    if (e.kind === 'data') {
      const mail = mailOf.get(e.seq) ?? null;
      const next = dataEntries[(dataPosition.get(e.seq) ?? -2) + 1];
      const moreChunks = e.verb === 'BDAT' && mail !== null && next !== undefined && next.verb === 'BDAT' && mailOf.get(next.seq) === mail;
      items.push({ type: 'data', key: `d-${e.seq}`, side: e.dir, entry: e, mail, moreChunks, resent, frames: union(e.frames, resentFrames), seqs: [e.seq] });
      continue;
    }
    const auth = authOf.get(e.seq) ?? [];
    const answer = answers.get(e.seq);
    items.push({
      type: 'message',
      key: `m-${e.seq}`,
      side: e.dir,
      entry: e,
      auth,
      resent,
      answers: answer !== undefined && answer.pipelined ? answer.command : null,
      frames: union(e.frames, resentFrames, ...auth.map((a) => a.frames)),
      seqs: [e.seq, ...auth.map((a) => a.seq)],
    });
  }
  return { top, items, bottom };
}

/** TCP flag bits (RFC 9293 §3.1, plus ECE / CWR from RFC 3168). */
const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x02, 'SYN'], [0x10, 'ACK'], [0x08, 'PSH'], [0x01, 'FIN'], [0x04, 'RST'], [0x20, 'URG'], [0x40, 'ECE'], [0x80, 'CWR'],
];

export function tcpFlagsText(flags: number | null): string {
  if (flags === null) return '';
  return FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n).join(', ');
}

/**
 * Handshake and teardown markers from the packets' flags, for a timeline that does not carry them
 * (an older capture, or a timeline cut short).
 */
export function markersFromPackets(packets: readonly PacketRow[]): { top: TcpMarker[]; bottom: TcpMarker[] } {
  const top: TcpMarker[] = [];
  const bottom: TcpMarker[] = [];
  let synAck = false;
  let handshakeDone = false;
  for (const p of packets) {
    const f = p.tcpFlags;
    if (f === null || p.dir === null) continue;
    const marker = (verb: string, arg = ''): TcpMarker => ({ verb, dir: p.dir!, ts: p.ts, frame: p.frameNo, arg });
    if (f & 0x02) {
      if (f & 0x10) {
        synAck = true;
        top.push(marker('SYN-ACK'));
      } else {
        top.push(marker('SYN'));
      }
    } else if (synAck && !handshakeDone && p.dir === 'client' && f & 0x10) {
      handshakeDone = true;
      top.push(marker('ACK', 'handshake complete'));
    }
    if (f & 0x04) bottom.push(marker('RST'));
    if (f & 0x01) bottom.push(marker('FIN'));
  }
  return { top, bottom };
}

export function referenceText(r: ReferenceEntry | undefined): string | undefined {
  return r === undefined ? undefined : `${r.summary} (${r.rfc})`;
}

/** Tooltip for a command verb. */
export function commandTip(protocol: 'smtp' | 'pop3', verb: string): string | undefined {
  if (verb === 'SASL') return 'A SASL response line: the client\'s answer to the server\'s challenge (RFC 4954 §4, RFC 5034 §4)';
  return referenceText(describeCommand(protocol, verb));
}

/** Tooltip for a reply code (`250`, `+OK`, `-ERR`, `+`). */
export function replyTip(protocol: 'smtp' | 'pop3', code: string): string | undefined {
  if (protocol === 'smtp') return referenceText(describeSmtpReply(code));
  return Object.hasOwn(POP3_RESPONSES, code) ? referenceText(POP3_RESPONSES[code as keyof typeof POP3_RESPONSES]) : undefined;
}

/** An enhanced status code (`5.1.1`) or POP3 response code (`[IN-USE]`) that starts a reply line. */
export function statusPrefix(protocol: 'smtp' | 'pop3', line: string): { code: string; tip: string | undefined; rest: string } | null {
  if (protocol === 'smtp') {
    const m = /^([245]\.[0-9]{1,3}\.[0-9]{1,3})(\s+|$)/.exec(line);
    if (m === null) return null;
    return { code: m[1]!, tip: referenceText(describeEnhancedStatus(m[1]!)), rest: line.slice(m[0].length) };
  }
  const m = /^\[([A-Z0-9/-]+)\](\s*)/.exec(line);
  if (m === null) return null;
  const key = m[1]!;
  return { code: `[${key}]`, tip: Object.hasOwn(POP3_RESPONSES, key) ? referenceText(POP3_RESPONSES[key as keyof typeof POP3_RESPONSES]) : undefined, rest: line.slice(m[0].length) };
}

/**
 * The text of a SASL challenge (`334 VXNlcm5hbWU6`, POP3 `+ ...`) when it is Base64 of printable
 * text (LOGIN's "Username:"); null for binary challenges (NTLM, CRAM-MD5 nonces stay as sent).
 */
export function decodeChallenge(arg: string): string | null {
  const s = arg.trim();
  if (s === '' || s.length > 512 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null;
  let text: string;
  try {
    text = atob(s);
  } catch {
    return null;
  }
  return /^[\x20-\x7e]+$/.test(text) ? text : null;
}

/** What a close reason means, for the header. */
export function closeReasonText(reason: string | null): string {
  switch (reason) {
    case 'fin': return 'closed (FIN)';
    case 'rst': return 'reset (RST)';
    case 'timeout': return 'idle timeout';
    case 'end-of-capture': return 'still open when the capture ended';
    case 'reused': return 'ports reused by a new connection';
    case 'limit': return 'dropped at the reassembler\'s memory limit';
    case null: return 'open';
    default: return reason;
  }
}

export const MASKED = '****';
