/**
 * The one pipeline that the agent, the API's upload path and the CLI share: frames in, packet
 * records and session events out (events.ts).
 *
 *   frame -> decodeFrame -> TcpReassembler -> SmtpAnalyzer | Pop3Analyzer | content detector
 *
 * Call order: `push` for every frame in capture order, then `end` once. `emit` is called
 * synchronously from `push` and `end`. For each frame the order is: `session-opened` when the frame
 * opened a mail session, the frame's packet record, then the timeline entries, mails and
 * `session-closed` that the frame caused. Nothing here throws on traffic.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { AnalyzerEvent, PacketRecord, SessionEvent } from './events.ts';
import { copyBytes } from './bytes.ts';
import { DEFAULT_LIMITS, type EngineLimits } from './limits.ts';
import { decodeFrame } from './packet-decoder.ts';
import { Pop3Analyzer } from './pop3-analyzer.ts';
import { detectMailProtocol } from './protocol-detect.ts';
import type {
  Anomaly,
} from './types.ts';
import { TcpFlag, type Direction, type Frame, type TcpSegment } from './types.ts';
import type {
  CloseReason,
  ExtractedMail,
  MailProtocol,
  ProtocolAnalyzer,
  SessionSink,
  StreamHandler,
  TcpConnectionInfo,
  TimelineEntryInput,
} from './session.ts';
import { SmtpAnalyzer } from './smtp-analyzer.ts';
import { TcpReassembler } from './tcp-reassembler.ts';

/** The mail-module settings the engine needs (the rest of the settings belong to agent and API). */
export interface AnalyzerSettings {
  /** Server ports whose connections are SMTP. */
  readonly smtpPorts: readonly number[];
  /** Server ports whose connections are POP3. */
  readonly pop3Ports: readonly number[];
  /** Classify connections on other ports by their content (greeting, first command). */
  readonly anyPort?: boolean;
}

export interface AnalyzerOptions extends AnalyzerSettings {
  readonly limits?: Partial<EngineLimits>;
  /** SHA-256 as lowercase hex; defaults to a pure implementation, the agent passes node:crypto's. */
  readonly sha256?: (bytes: Uint8Array) => string;
}

export interface AnalyzerStats {
  frames: number;
  tcpSegments: number;
  undecodable: number;
  sessionsOpened: number;
  sessionsClosed: number;
  mails: number;
  lastTs: number;
}

const defaultSha256 = (bytes: Uint8Array): string => bytesToHex(sha256(bytes));

/** Bytes of an undetected connection kept per direction while its protocol is unknown. */
const DETECT_BYTES = 1024;

export class Analyzer {
  private readonly limits: EngineLimits;
  private readonly hash: (bytes: Uint8Array) => string;
  private smtpPorts = new Set<number>();
  private pop3Ports = new Set<number>();
  private anyPort = false;
  private readonly reassembler: TcpReassembler;
  /** Sessions by TCP connection id. */
  private readonly sessions = new Map<number, Session>();
  /** Recently closed sessions by connection id, so that a connection's trailing ACKs still name their session. */
  private readonly recentlyClosed = new Map<number, ClosedSession>();
  /** Connections on unlisted ports whose content detection has not decided yet, by connection id. */
  private readonly detecting = new Map<number, DetectingHandler>();
  private nextSessionId = 1;
  /** Session events raised while the current frame is processed; emitted after its packet record. */
  private pending: SessionEvent[] = [];
  private opening: AnalyzerEvent[] = [];
  /** Sessions whose connection closed during the current frame; finished once the frame is counted. */
  private closing: Session[] = [];
  readonly stats: AnalyzerStats = {
    frames: 0,
    tcpSegments: 0,
    undecodable: 0,
    sessionsOpened: 0,
    sessionsClosed: 0,
    mails: 0,
    lastTs: 0,
  };

  constructor(
    options: AnalyzerOptions,
    private readonly emit: (e: AnalyzerEvent) => void,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.hash = options.sha256 ?? defaultSha256;
    this.updateSettings(options);
    this.reassembler = new TcpReassembler(
      { open: (conn) => this.open(conn) },
      { limits: this.limits, isServerPort: (port) => this.smtpPorts.has(port) || this.pop3Ports.has(port) },
    );
  }

  /**
   * New port lists or detection mode. Connections already being analysed keep their protocol;
   * connections that start after the call use the new settings.
   */
  updateSettings(settings: AnalyzerSettings): void {
    this.smtpPorts = new Set(settings.smtpPorts);
    this.pop3Ports = new Set(settings.pop3Ports);
    this.anyPort = settings.anyPort ?? false;
  }

  push(frame: Frame): void {
    const stats = this.stats;
    stats.frames++;
    if (frame.ts > stats.lastTs) stats.lastTs = frame.ts;
    const decoded = decodeFrame(frame.linkType, frame.data);
    if (!decoded.ok) {
      stats.undecodable++;
      this.emit(otherPacketRecord(frame, decoded));
      return;
    }
    stats.tcpSegments++;
    const seg = decoded.tcp;
    const verdict = this.reassembler.push(seg, frame.no, frame.ts);
    const connId = verdict.conn?.id;
    const session = connId === undefined ? undefined : (this.sessions.get(connId) ?? this.recentlyClosed.get(connId));
    const dir = session ? verdict.dir : undefined;
    if (session instanceof Session && dir) session.countPacket(dir, seg.flags, seg.payloadLenOnWire, frame.no, frame.ts, verdict.analysis);
    const record: PacketRecord = {
      type: 'packet',
      no: frame.no,
      ts: frame.ts,
      src: seg.src,
      dst: seg.dst,
      srcPort: seg.srcPort,
      dstPort: seg.dstPort,
      protocol: session && seg.payload.length > 0 ? session.protocolLabel : 'TCP',
      length: frame.origLen,
      capturedLength: frame.data.length,
      tcpFlags: seg.flags,
      seq: seg.seq,
      ack: seg.ack,
      payloadLength: seg.payloadLenOnWire,
      info: packetInfo(seg, verdict.relSeq, verdict.relAck, verdict.analysis, dir ?? verdict.dir),
      sessionId: session?.id,
      dir: dir ?? verdict.dir,
      tcpAnalysis: verdict.analysis.length > 0 ? verdict.analysis : undefined,
    };
    if (!session && connId !== undefined && verdict.dir) {
      // A connection whose protocol content detection has not decided yet: its packets wait, so
      // that its handshake still belongs to the session it may become.
      const detecting = this.detecting.get(connId);
      if (detecting?.holdPacket({ record, dir: verdict.dir, flags: seg.flags, wire: seg.payloadLenOnWire, analysis: verdict.analysis })) {
        this.finishClosing();
        this.flush(undefined);
        return;
      }
    }
    this.finishClosing();
    this.flush(record);
  }

  /** End of the capture: every open session is closed and its last events are emitted. */
  end(): void {
    this.reassembler.end(this.stats.lastTs);
    this.finishClosing();
    this.flush(undefined);
  }

  private finishClosing(): void {
    if (this.closing.length === 0) return;
    const closing = this.closing;
    this.closing = [];
    for (const s of closing) s.finish();
  }

  private flush(record: PacketRecord | undefined): void {
    if (this.opening.length > 0) {
      const opening = this.opening;
      this.opening = [];
      for (const e of opening) this.emit(e);
    }
    if (record) this.emit(record);
    if (this.pending.length > 0) {
      const pending = this.pending;
      this.pending = [];
      for (const e of pending) this.emit(e);
    }
  }

  /** Reassembler callback: a new TCP connection. Returns the handler that receives its bytes. */
  private open(conn: TcpConnectionInfo): StreamHandler | null {
    const port = conn.server.port;
    let protocol: MailProtocol | undefined;
    if (this.smtpPorts.has(port)) protocol = 'smtp';
    else if (this.pop3Ports.has(port)) protocol = 'pop3';
    if (protocol) {
      const session = this.startSession(conn, protocol, 'port');
      return session;
    }
    if (!this.anyPort) return null;
    const handler = new DetectingHandler(this, conn);
    this.detecting.set(conn.id, handler);
    return handler;
  }

  /** @internal Starts a mail session on a connection (by port, or once content detection decided). */
  startSession(conn: TcpConnectionInfo, protocol: MailProtocol, detectedBy: 'port' | 'content'): Session {
    const session = new Session(this, this.nextSessionId++, conn, protocol, this.limits);
    this.sessions.set(conn.id, session);
    this.stats.sessionsOpened++;
    this.opening.push({
      type: 'session-opened',
      sessionId: session.id,
      protocol,
      client: conn.client,
      server: conn.server,
      startTs: conn.startTs,
      sawSyn: conn.sawSyn,
      detectedBy,
    });
    return session;
  }

  /** @internal Content detection decided (or gave up): packets it held go out before the current one. */
  detectionDone(conn: TcpConnectionInfo, held: readonly HeldPacket[], session: Session | undefined): void {
    this.detecting.delete(conn.id);
    for (const h of held) {
      if (session) {
        session.countPacket(h.dir, h.flags, h.wire, h.record.no, h.record.ts, h.analysis);
        this.opening.push({ ...h.record, sessionId: session.id, protocol: h.wire > 0 ? session.protocolLabel : 'TCP' });
      } else {
        this.opening.push(h.record);
      }
    }
  }

  /** @internal */
  raise(e: SessionEvent): void {
    this.pending.push(e);
  }

  /** @internal */
  sha256(bytes: Uint8Array): string {
    return this.hash(bytes);
  }

  /** @internal The session's connection closed; its summary is raised once the frame is counted. */
  sessionClosing(session: Session): void {
    this.closing.push(session);
  }

  /** @internal */
  sessionClosed(session: Session): void {
    this.sessions.delete(session.conn.id);
    this.stats.sessionsClosed++;
    this.recentlyClosed.set(session.conn.id, { id: session.id, protocolLabel: session.protocolLabel });
    // Bounded: trailing packets of old connections lose their session id, nothing else.
    if (this.recentlyClosed.size > 4096) {
      const oldest = this.recentlyClosed.keys().next().value;
      if (oldest !== undefined) this.recentlyClosed.delete(oldest);
    }
  }

  /** @internal */
  mailEmitted(): void {
    this.stats.mails++;
  }
}

/** What a closed session leaves behind for its connection's trailing packets. */
interface ClosedSession {
  readonly id: number;
  readonly protocolLabel: string;
}

/**
 * One mail session: forwards the connection's bytes to its protocol analyzer, numbers timeline
 * entries, adds the TCP events (handshake, FIN, RST, retransmissions, gaps) and keeps the counters
 * of the closing summary.
 */
class Session implements StreamHandler, SessionSink {
  private readonly analyzer: ProtocolAnalyzer;
  private seq = 0;
  private entries = 0;
  private timelineFull = false;
  private closed = false;
  private closing: { reason: CloseReason; ts: number } | undefined;
  readonly protocolLabel: string;
  private packets = { client: 0, server: 0 };
  private bytes = { client: 0, server: 0 };
  private retransmissions = 0;
  private gaps = 0;
  private gapBytes = 0;
  private anomalies = 0;
  private mails = 0;
  /** 0: nothing yet, 1: SYN seen, 2: SYN-ACK seen, 3: handshake complete. */
  private handshake = 0;

  constructor(
    private readonly owner: Analyzer,
    readonly id: number,
    readonly conn: TcpConnectionInfo,
    readonly protocol: MailProtocol,
    private readonly limits: EngineLimits,
  ) {
    this.analyzer = protocol === 'smtp' ? new SmtpAnalyzer(this, limits) : new Pop3Analyzer(this, limits);
    this.protocolLabel = protocol === 'smtp' ? 'SMTP' : 'POP3';
  }

  /** Counts one packet of the session and records its TCP events (`wire`: payload length on the wire). */
  countPacket(dir: Direction, flags: number, wire: number, frame: number, ts: number, analysis: readonly string[]): void {
    this.packets[dir]++;
    this.bytes[dir] += wire;
    if (this.closed) return;
    if (flags & TcpFlag.SYN) {
      if (flags & TcpFlag.ACK) {
        if (this.handshake < 2) this.handshake = 2;
        this.tcpEntry(ts, dir, 'SYN-ACK', frame);
      } else {
        this.handshake = 1;
        this.tcpEntry(ts, dir, 'SYN', frame);
      }
    } else if (this.handshake === 2 && dir === 'client' && flags & TcpFlag.ACK) {
      this.handshake = 3;
      this.tcpEntry(ts, dir, 'ACK', frame, 'handshake complete');
    }
    if (flags & TcpFlag.RST) this.tcpEntry(ts, dir, 'RST', frame);
    if (flags & TcpFlag.FIN) this.tcpEntry(ts, dir, 'FIN', frame);
    if (analysis.includes('retransmission')) {
      this.retransmissions++;
      if (wire > 0) this.tcpEntry(ts, dir, 'RETRANSMISSION', frame, `${wire} bytes sent again`);
    }
  }

  private tcpEntry(ts: number, dir: Direction, verb: string, frame: number, arg = ''): void {
    this.entry({ ts, dir, kind: 'tcp', verb, arg, frames: [frame] });
  }

  // StreamHandler: the reassembler's calls.

  data(dir: Direction, bytes: Uint8Array, frame: number, ts: number): void {
    this.analyzer.data(dir, bytes, frame, ts);
  }

  gap(dir: Direction, size: number, ts: number): void {
    this.gaps++;
    this.gapBytes += size;
    this.entry({ ts, dir, kind: 'anomaly', verb: 'TCP_GAP', arg: `${size} bytes missing from the capture`, frames: [] });
    this.analyzer.gap(dir, size, ts);
  }

  anomaly(a: Anomaly): void {
    this.entry({ ts: a.ts, dir: a.dir ?? 'client', kind: 'anomaly', verb: a.code, arg: a.message, frames: a.frames ?? [] });
  }

  close(reason: CloseReason, ts: number): void {
    if (this.closing || this.closed) return;
    this.analyzer.close(reason, ts);
    this.closing = { reason, ts };
    this.owner.sessionClosing(this);
  }

  /** Raises session-closed: called after the closing frame's own packet and TCP events are counted. */
  finish(): void {
    if (!this.closing || this.closed) return;
    const { reason, ts } = this.closing;
    this.closed = true;
    const s = this.analyzer.summary();
    this.owner.raise({
      type: 'session-closed',
      sessionId: this.id,
      protocol: this.protocol,
      client: this.conn.client,
      server: this.conn.server,
      startTs: this.conn.startTs,
      endTs: ts,
      closeReason: reason,
      outcome: s.outcome,
      authUser: s.authUser,
      authMechanism: s.authMechanism,
      authSuccess: s.authSuccess,
      encrypted: s.encrypted,
      helo: s.helo,
      greeting: s.greeting,
      mails: this.mails,
      deleted: s.deleted,
      packets: { ...this.packets },
      bytes: { ...this.bytes },
      retransmissions: this.retransmissions,
      gaps: this.gaps,
      gapBytes: this.gapBytes,
      anomalies: this.anomalies,
    });
    this.owner.sessionClosed(this);
  }

  // SessionSink: the protocol analyzer's findings.

  entry(e: TimelineEntryInput): void {
    if (this.closed) return;
    if (e.kind === 'anomaly') this.anomalies++;
    if (this.timelineFull && e.kind !== 'anomaly') return;
    if (++this.entries > this.limits.maxTimelineEntries && !this.timelineFull) {
      this.timelineFull = true;
      this.anomalies++;
      this.owner.raise({
        type: 'timeline',
        sessionId: this.id,
        seq: ++this.seq,
        ts: e.ts,
        dir: e.dir,
        kind: 'anomaly',
        verb: 'TIMELINE_LIMIT',
        arg: `more than ${this.limits.maxTimelineEntries} timeline entries: only anomalies are kept from here on`,
        frames: [],
      });
      if (e.kind !== 'anomaly') return;
    }
    this.owner.raise({
      type: 'timeline',
      sessionId: this.id,
      seq: ++this.seq,
      ts: e.ts,
      dir: e.dir,
      kind: e.kind,
      verb: e.verb,
      arg: e.arg,
      frames: e.frames,
      latencyUs: e.latencyUs,
      auth: e.auth,
    });
  }

  mail(m: ExtractedMail): void {
    this.mails++;
    this.owner.mailEmitted();
    this.owner.raise({
      type: 'mail',
      sessionId: this.id,
      index: m.index,
      direction: m.direction,
      command: m.command,
      messageNumber: m.messageNumber,
      envelope: m.envelope,
      size: m.size,
      sha256: this.owner.sha256(m.raw),
      complete: m.complete,
      finalReply: m.finalReply,
      startTs: m.startTs,
      endTs: m.endTs,
      frames: m.frames,
      raw: m.raw,
    });
  }
}

/**
 * Any-port detection: holds the first bytes of a connection on an unlisted port until its content
 * says SMTP or POP3 (or says it is neither), then replays them into a new session.
 */
/** A packet of a connection whose protocol is not decided yet, kept until it is. */
interface HeldPacket {
  readonly record: PacketRecord;
  readonly dir: Direction;
  readonly flags: number;
  readonly wire: number;
  readonly analysis: readonly string[];
}

/** Packets held per undecided connection; past it they go out without a session. */
const DETECT_PACKETS = 32;

class DetectingHandler implements StreamHandler {
  private readonly held: { dir: Direction; bytes: Uint8Array; frame: number; ts: number }[] = [];
  private heldBytes = { client: 0, server: 0 };
  private packets: HeldPacket[] = [];
  private target: Session | undefined;
  private decided = false;

  constructor(
    private readonly owner: Analyzer,
    private readonly conn: TcpConnectionInfo,
  ) {}

  /** Keeps a packet record until detection decides; false when it is not kept (decided, or too many). */
  holdPacket(p: HeldPacket): boolean {
    if (this.decided) return false;
    if (this.packets.length >= DETECT_PACKETS) {
      this.owner.detectionDone(this.conn, this.packets.splice(0), undefined);
      return false;
    }
    this.packets.push(p);
    return true;
  }

  data(dir: Direction, bytes: Uint8Array, frame: number, ts: number): void {
    if (this.target) return this.target.data(dir, bytes, frame, ts);
    if (this.decided) return;
    const room = DETECT_BYTES - this.heldBytes[dir];
    if (room > 0) {
      const part = bytes.length > room ? bytes.subarray(0, room) : bytes;
      this.held.push({ dir, bytes: copyBytes(part), frame, ts });
      this.heldBytes[dir] += part.length;
    }
    const verdict = detectMailProtocol(this.prefix('client'), this.prefix('server'));
    if (verdict === 'unknown') {
      if (this.heldBytes.client >= DETECT_BYTES || this.heldBytes.server >= DETECT_BYTES) this.giveUp();
      return;
    }
    if (verdict === 'not-mail') return this.giveUp();
    const session = this.owner.startSession(this.conn, verdict, 'content');
    this.target = session;
    this.decided = true;
    this.owner.detectionDone(this.conn, this.packets.splice(0), session);
    const held = this.held.splice(0);
    // Bytes beyond the held prefix of this chunk were not held: deliver the rest of it afterwards.
    for (const h of held) session.data(h.dir, h.bytes, h.frame, h.ts);
    if (bytes.length > room && room > 0) session.data(dir, bytes.subarray(room), frame, ts);
  }

  private prefix(dir: Direction): Uint8Array {
    const parts = this.held.filter((h) => h.dir === dir);
    const out = new Uint8Array(this.heldBytes[dir]);
    let o = 0;
    for (const p of parts) {
      out.set(p.bytes, o);
      o += p.bytes.length;
    }
    return out;
  }

  private giveUp(): void {
    this.decided = true;
    this.held.length = 0;
    this.owner.detectionDone(this.conn, this.packets.splice(0), undefined);
  }

  gap(dir: Direction, size: number, ts: number): void {
    if (this.target) this.target.gap(dir, size, ts);
    else this.giveUp();
  }

  anomaly(a: Anomaly): void {
    this.target?.anomaly(a);
  }

  close(reason: CloseReason, ts: number): void {
    if (this.target) this.target.close(reason, ts);
    else if (!this.decided) this.giveUp();
  }
}

const IP_PROTOCOLS: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 47: 'GRE', 50: 'ESP', 132: 'SCTP' };

function otherPacketRecord(frame: Frame, decoded: Exclude<ReturnType<typeof decodeFrame>, { ok: true }>): PacketRecord {
  const protocol =
    decoded.protocol !== undefined
      ? (IP_PROTOCOLS[decoded.protocol] ?? `IP proto ${decoded.protocol}`)
      : decoded.layer === 'link'
        ? 'Link'
        : 'IP';
  return {
    type: 'packet',
    no: frame.no,
    ts: frame.ts,
    src: decoded.src ?? '',
    dst: decoded.dst ?? '',
    protocol,
    length: frame.origLen,
    capturedLength: frame.data.length,
    info: decoded.reason === 'not-tcp' ? `${protocol}` : `${protocol}: ${decoded.reason}`,
  };
}

const FLAG_NAMES: readonly [number, string][] = [
  [TcpFlag.FIN, 'FIN'],
  [TcpFlag.SYN, 'SYN'],
  [TcpFlag.RST, 'RST'],
  [TcpFlag.PSH, 'PSH'],
  [TcpFlag.ACK, 'ACK'],
  [TcpFlag.URG, 'URG'],
  [TcpFlag.ECE, 'ECE'],
  [TcpFlag.CWR, 'CWR'],
];

/** Wireshark-like flag list: "SYN, ACK". */
export function tcpFlagNames(flags: number): string {
  return FLAG_LISTS[flags & 0xff]!;
}

/** The flag list of every flags byte, built once: the packet list asks for one per packet. */
const FLAG_LISTS: readonly string[] = Array.from({ length: 256 }, (_, flags) => {
  let out = '';
  for (const [bit, name] of FLAG_NAMES) {
    if (flags & bit) out = out ? `${out}, ${name}` : name;
  }
  return out;
});

/** Longest payload prefix shown in a packet's info. */
const INFO_TEXT_BYTES = 80;

/**
 * Printable ASCII decodes the same in every single-byte charset; 'latin1' (WHATWG: windows-1252)
 * makes the string in one call, where appending a character at a time made up to 80 strings per
 * packet (a third of all the engine's allocations).
 */
const asciiDecoder = new TextDecoder('latin1');

/**
 * A packet list's one-line info. Segments with payload show its first line when it is text
 * ("C: EHLO client.example"), else their TCP header fields.
 */
function packetInfo(
  seg: TcpSegment,
  relSeq: number,
  relAck: number,
  analysis: readonly string[],
  dir: Direction | undefined,
): string {
  const p = seg.payload;
  if (p.length > 0 && dir) {
    const text = firstLine(p);
    if (text !== undefined) {
      const line = `${dir === 'client' ? 'C' : 'S'}: ${text}`;
      return analysis.length > 0 ? `[${analysis.join(', ')}] ${line}` : line;
    }
  }
  const ack = seg.flags & TcpFlag.ACK ? ` Ack=${relAck}` : '';
  const fields = `${seg.srcPort} → ${seg.dstPort} [${FLAG_LISTS[seg.flags & 0xff]!}] Seq=${relSeq}${ack} Win=${seg.window} Len=${seg.payloadLenOnWire}`;
  return analysis.length > 0 ? `[${analysis.join(', ')}] ${fields}` : fields;
}

/** The payload's first line when it is printable ASCII (at most INFO_TEXT_BYTES; tabs as spaces), else undefined. */
function firstLine(p: Uint8Array): string | undefined {
  const n = Math.min(p.length, INFO_TEXT_BYTES);
  let tab = false;
  let i = 0;
  for (; i < n; i++) {
    const b = p[i]!;
    if (b >= 0x20 && b <= 0x7e) continue;
    if (b === 0x09) {
      tab = true;
      continue;
    }
    if (b === 0x0d || b === 0x0a) break;
    return undefined;
  }
  if (i === 0) return undefined;
  let s = asciiDecoder.decode(p.subarray(0, i));
  if (tab) s = s.replaceAll('\t', ' ');
  return i === n && p.length > n ? `${s}…` : s;
}
