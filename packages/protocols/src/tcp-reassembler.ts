/**
 * TCP stream reassembly: segments in (in capture order), each direction's bytes out in sequence
 * order through the `StreamHandler` contract of `session.ts` (gopacket's `reassembly.Stream`: open,
 * data / gap in order per direction, exactly one close).
 *
 * Policies (the contract callers rely on):
 * - Sequence numbers are compared modulo 2^32 (signed 32-bit difference); inside a direction every
 *   byte also gets a stream offset that never wraps, which is what buffering and limits work on.
 * - Overlaps: the first copy of a byte wins (as in most IDSes). A later copy that disagrees with a
 *   still-buffered first copy raises `TCP_OVERLAP_MISMATCH`; bytes already delivered are not kept, so
 *   a disagreeing retransmission of them cannot be detected.
 * - A hole becomes a gap when (a) the other side ACKs past it (the receiver had bytes the capture
 *   missed), (b) the connection closes (RST, timeout, limit, `end()`), (c) a buffer limit is hit, or
 *   (d) the snap length cut the segment (its missing tail is a gap where it sits). A FIN does not
 *   declare the holes before it by itself, not even both FINs: while the receiver has not ACKed the
 *   missing bytes it has not got them either, so a retransmission is still to come (and a FIN
 *   reordered ahead of the last data segment is ordinary on mirror ports). The peer's ACK of the FIN
 *   follows within a round trip, and declares the hole then (rule a).
 * - An ACK is taken at face value: if the capture shows a data segment after the ACK that covers it
 *   (reordered capture), that segment's bytes were already declared a gap and it counts as a
 *   retransmission.
 * - VLAN tags are not part of the connection key (as in Wireshark's conversation table).
 */
import { TcpFlag } from './types.ts';
import type { Anomaly, Direction, TcpSegment } from './types.ts';
import type { CloseReason, StreamHandler, TcpConnectionInfo } from './session.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { copyBytes } from './bytes.ts';
import type { EngineLimits } from './limits.ts';

/** Creates the handler of each new connection. */
export interface ConnectionFactory {
  /**
   * Called once, when the first packet of a connection is seen, before any other call for it.
   * Return `null` to leave the connection's bytes alone: it is still tracked (id, direction,
   * relative numbers, analysis, lifetime and limits) but no payload is copied or delivered and no
   * handler call is made for it.
   */
  open(conn: TcpConnectionInfo): StreamHandler | null;
}

/**
 * Transport observations on one segment, for the packet list:
 * - `retransmission`: the segment carries no sequence space not seen before (data, SYN or FIN);
 *   nothing of it is delivered again.
 * - `out-of-order`: it starts beyond the next expected byte (a hole before it); it was buffered.
 * - `overlap`: part of it had been seen before and part of it is new; only the new bytes count.
 * - `keep-alive`: at most one byte at next-expected − 1, without SYN/FIN/RST (Wireshark's rule).
 * - `zero-window`: advertised window 0, without SYN/FIN/RST.
 * Window-full detection is not done: it needs the window scale of both sides.
 */
export type TcpAnalysis = 'retransmission' | 'out-of-order' | 'overlap' | 'keep-alive' | 'zero-window';

/** What the reassembler made of one segment. A fresh, small object per call. */
export interface SegmentVerdict {
  /** The tracked connection the segment belongs to (open or recently closed); absent for a RST of an unknown connection. */
  readonly conn?: TcpConnectionInfo;
  /** `client` = sent by the client. Absent when `conn` is. */
  readonly dir?: Direction;
  /** Observations, in the order of `TcpAnalysis`; a shared frozen array, empty for most segments. */
  readonly analysis: readonly TcpAnalysis[];
  /**
   * Seq relative to the sender's ISN, unsigned 32-bit, as Wireshark shows it: the SYN is 0, the
   * first data byte 1; for a direction picked up mid-stream its first seen seq is 1. The raw seq
   * when `conn` is absent.
   */
  readonly relSeq: number;
  /** Ack relative to the other direction's ISN; 0 without the ACK flag or while that direction is unknown. The raw ack when `conn` is absent. */
  readonly relAck: number;
}

/** Counters over the reassembler's life; one object, updated in place. */
export interface TcpReassemblerStats {
  /** Connections opened so far (the last id handed out). */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Out-of-order bytes held now, every buffered range counted as at least `MIN_BUFFER_CHARGE` bytes. */
  bufferedBytes: number;
  /** Segments marked `retransmission`. */
  retransmissions: number;
  /** Segments marked `out-of-order`. */
  outOfOrder: number;
  /** `gap` calls made (for untracked connections too), and the bytes they covered. */
  gaps: number;
  gapBytes: number;
  /** Anomalies raised (for untracked connections too). */
  anomalies: number;
}

/** Options of `TcpReassembler`. */
export interface TcpReassemblerOptions {
  /** Overrides of `DEFAULT_LIMITS`; used: maxConnections, maxBufferedBytesPerDirection, maxBufferedBytesTotal, idleTimeoutUs. */
  readonly limits?: Partial<EngineLimits>;
  /**
   * For a connection picked up mid-stream (no SYN seen): a side whose port satisfies this is the
   * server; when neither or both do, the lower port is the server (equal ports: the receiver).
   */
  readonly isServerPort?: (port: number) => boolean;
  /**
   * How long (packet time, µs) a connection closed by FIN or RST is remembered, so that trailing
   * ACKs and retransmitted FINs are recognised instead of opening a new connection. Default 120 s:
   * Linux holds TIME_WAIT 60 s, RFC 9293's 2×MSL is 4 minutes; stragglers come within seconds.
   */
  readonly closedLingerUs?: number;
}

/**
 * Every buffered range is charged at least this many bytes against the buffer limits, so that a
 * flood of 1-byte out-of-order segments is bounded by its bookkeeping, not only by its payload.
 */
export const MIN_BUFFER_CHARGE = 64;
/** Idle connections are looked for when packet time has advanced this much since the last look. */
const SWEEP_INTERVAL_US = 1_000_000;
/**
 * A segment or ACK further ahead than this is not believed: 2^30 is the largest window TCP can
 * advertise (65535 << 14), so nothing legitimate is in flight beyond it.
 */
const MAX_AHEAD = 2 ** 30;
/** A packet on a remembered closed connection belongs to it when its seq is this close to where the sender stopped. */
const CLOSED_SEQ_WINDOW = 2 ** 24;
const DEFAULT_CLOSED_LINGER_US = 120_000_000;

const SYN = TcpFlag.SYN;
const ACK = TcpFlag.ACK;
const FIN = TcpFlag.FIN;
const RST = TcpFlag.RST;

const RETRANSMISSION = 1;
const OUT_OF_ORDER = 2;
const OVERLAP = 4;
const KEEP_ALIVE = 8;
const ZERO_WINDOW = 16;
const ANALYSIS_NAMES: readonly TcpAnalysis[] = ['retransmission', 'out-of-order', 'overlap', 'keep-alive', 'zero-window'];
/** One frozen array per combination of analysis bits, so a verdict never allocates one. */
const ANALYSIS: readonly (readonly TcpAnalysis[])[] = Array.from({ length: 32 }, (_, mask) =>
  Object.freeze(ANALYSIS_NAMES.filter((_name, bit) => ((mask >> bit) & 1) !== 0)),
);
const NO_ANALYSIS: readonly TcpAnalysis[] = ANALYSIS[0]!;

/**
 * Hash of a 4-tuple, the same in both directions. Building a string key per packet cost three
 * quarters of `push` (a fresh string to flatten and hash); FNV-1a over the address characters and
 * a multiplicative mix of the ports cost a fraction of that. Equal hashes are told apart by
 * comparing the tuple. Exported for tests (they look for colliding tuples); 30 bits, so it stays
 * a small integer key.
 */
export function tupleHash(src: string, srcPort: number, dst: string, dstPort: number): number {
  const k = (endpointHash(src, srcPort) + endpointHash(dst, dstPort)) | 0;
  return (k ^ (k >>> 15)) & 0x3fffffff;
}

function endpointHash(addr: string, port: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < addr.length; i++) h = Math.imul(h ^ addr.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ port, 0x9e3779b1);
}

/** A buffered range of one direction: bytes received ahead of a hole, or a known-lost tail. */
interface Piece {
  /** Stream offsets [off, end). */
  readonly off: number;
  readonly end: number;
  /** A copy of the bytes; null for a gap piece or an untracked connection. */
  readonly bytes: Uint8Array | null;
  /** True: the bytes are known lost (snap length), deliver a gap. */
  readonly gap: boolean;
  readonly frame: number;
  readonly ts: number;
  readonly charge: number;
}

/** One direction of a connection. */
class Half {
  started = false;
  /** The ISN is real (seen on a SYN or derived from a SYN+ACK), not assumed mid-stream. */
  isnKnown = false;
  /** Relative numbers count from here. */
  isn = 0;
  /** Next expected seq, unsigned 32-bit. */
  next = 0;
  /** Stream offset of `next`: sequence space consumed since the start; never wraps. */
  off = 0;
  /** Sorted, non-overlapping, all at or after `off`. */
  pieces: Piece[] = [];
  charge = 0;
  finSeen = false;
  /** Stream offset of the FIN flag. */
  finOff = 0;
  /** Everything up to and including the FIN was delivered. */
  ended = false;
  /**
   * Stream offset the other side has acknowledged. Bytes below it that the capture lacks were
   * received, so they will not be retransmitted; they become a gap once the acknowledging side
   * speaks (see `acked`).
   */
  ackedTo = 0;

  startSyn(seq: number): void {
    this.started = true;
    this.isnKnown = true;
    this.isn = seq;
    this.next = (seq + 1) >>> 0;
  }

  startMid(seq: number): void {
    this.started = true;
    this.isn = (seq - 1) >>> 0;
    this.next = seq;
  }

  advance(n: number): void {
    this.off += n;
    this.next = (this.next + n) >>> 0;
  }
}

/** Stands in for both halves of a remembered closed connection; never written. */
const CLOSED_HALF = new Half();

const C_STARTED = 1;
const C_ISN_KNOWN = 2;
const S_STARTED = 4;
const S_ISN_KNOWN = 8;

class Conn {
  /** The halves while open; `CLOSED_HALF` once closed and remembered (see `remember`). */
  c = new Half();
  s = new Half();
  /**
   * What a remembered closed connection keeps of its halves: ISN and next seq of each side as
   * int32 (small integers, no boxed numbers) and the C_* / S_* bits. Two full halves, with their
   * piece lists and boxed numbers, were two thirds of a closed record, and a capture's worth of
   * closed records (up to `maxConnections`) was most of the engine's heap.
   */
  cIsn = 0;
  cNext = 0;
  sIsn = 0;
  sNext = 0;
  closedBits = 0;
  closed = false;
  closedTs = 0;
  /** Last packet time, µs. */
  lastTs: number;
  /** Neighbours in the activity list while open, in the closed list once closed. */
  prev: Conn | null = null;
  next: Conn | null = null;
  /** Next connection with the same tuple hash. */
  chain: Conn | null = null;

  constructor(
    readonly hash: number,
    readonly info: TcpConnectionInfo,
    /** Dropped at close: a remembered closed connection must not keep its session alive. */
    public handler: StreamHandler | null,
    ts: number,
  ) {
    this.lastTs = ts;
  }

  isClient(seg: TcpSegment): boolean {
    const c = this.info.client;
    return seg.srcPort === c.port && seg.src === c.addr;
  }
}

/** Keeps of a closing connection only what `onClosed` reads, and lets its halves go. */
function remember(conn: Conn): void {
  const { c, s } = conn;
  conn.cIsn = c.isn | 0;
  conn.cNext = c.next | 0;
  conn.sIsn = s.isn | 0;
  conn.sNext = s.next | 0;
  conn.closedBits =
    (c.started ? C_STARTED : 0) | (c.isnKnown ? C_ISN_KNOWN : 0) | (s.started ? S_STARTED : 0) | (s.isnKnown ? S_ISN_KNOWN : 0);
  conn.c = CLOSED_HALF;
  conn.s = CLOSED_HALF;
}

/**
 * Reassembles every TCP connection of a capture.
 *
 * Call `push` for each TCP segment in capture order, then `end` once. Handler calls happen inside
 * `push` / `end`, synchronously; a handler must not call back into the reassembler. The bytes a
 * handler receives are views into the pushed payload or into the reassembler's buffers: copy what
 * you keep. Memory is bounded by `EngineLimits` (connections, buffered bytes per direction and in
 * total); the closed-connection memory holds at most `maxConnections` small records.
 *
 * Within one `push`, the bytes the segment's ACK reveals about the other direction (a gap, then
 * buffered data) are handed over before the segment's own bytes: the receiver had them before it
 * sent this segment.
 */
export class TcpReassembler {
  /** Live counters (the same object throughout). */
  readonly stats: Readonly<TcpReassemblerStats>;
  private readonly st: TcpReassemblerStats = {
    connections: 0,
    open: 0,
    bufferedBytes: 0,
    retransmissions: 0,
    outOfOrder: 0,
    gaps: 0,
    gapBytes: 0,
    anomalies: 0,
  };
  private readonly limits: EngineLimits;
  private readonly isServerPort: (port: number) => boolean;
  private readonly lingerUs: number;
  /** Connections (open and remembered closed) by `tupleHash`, chained through `Conn.chain`. */
  private readonly conns = new Map<number, Conn>();
  /** Open connections, least recently active first. */
  private lruHead: Conn | null = null;
  private lruTail: Conn | null = null;
  /** Remembered closed connections, oldest first. */
  private closedHead: Conn | null = null;
  private closedTail: Conn | null = null;
  private closedCount = 0;
  private lastSweep = -Infinity;

  constructor(
    private readonly factory: ConnectionFactory,
    opts: TcpReassemblerOptions = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.isServerPort = opts.isServerPort ?? (() => false);
    this.lingerUs = opts.closedLingerUs ?? DEFAULT_CLOSED_LINGER_US;
    this.stats = this.st;
  }

  /**
   * One segment, in capture order. `frame` is the frame number that carried it, `ts` its capture
   * time (µs). The payload is only read during the call (out-of-order bytes are copied).
   */
  push(seg: TcpSegment, frame: number, ts: number): SegmentVerdict {
    if (ts - this.lastSweep >= SWEEP_INTERVAL_US) this.sweep(ts);
    const { src, dst, srcPort, dstPort, flags, seq } = seg;
    const hash = tupleHash(src, srcPort, dst, dstPort);
    const syn = (flags & SYN) !== 0;
    const hasAck = (flags & ACK) !== 0;
    const rst = (flags & RST) !== 0;
    const fin = (flags & FIN) !== 0;
    const pureSyn = syn && !hasAck;

    let conn = this.find(hash, src, srcPort, dst, dstPort);
    if (conn !== undefined) {
      const isClient = conn.isClient(seg);
      if (conn.closed) {
        const v = this.onClosed(conn, isClient, seg, pureSyn);
        if (v !== null) return v;
        this.forget(conn);
        conn = undefined;
      } else if (pureSyn && !(isClient && conn.c.isnKnown && seq === conn.c.isn)) {
        this.close(conn, 'reused', ts);
        conn = undefined;
      }
    }
    if (conn === undefined) {
      if (rst) return { analysis: NO_ANALYSIS, relSeq: seq, relAck: seg.ack };
      conn = this.open(seg, hash, frame, ts, syn, hasAck);
    } else {
      conn.lastTs = ts;
      this.touch(conn);
    }

    const isClient = conn.isClient(seg);
    const dir: Direction = isClient ? 'client' : 'server';
    const odir: Direction = isClient ? 'server' : 'client';
    const h = isClient ? conn.c : conn.s;
    const o = isClient ? conn.s : conn.c;
    let bits = 0;
    if (seg.window === 0 && (flags & (SYN | FIN | RST)) === 0) bits |= ZERO_WINDOW;

    let repeatedSyn = false;
    if (!h.started) {
      if (syn) h.startSyn(seq);
      else h.startMid(seq);
    } else if (syn) {
      repeatedSyn = true;
    }
    if (syn && hasAck && !o.started) {
      // A SYN+ACK without its SYN still tells the client's ISN exactly.
      o.startSyn((seg.ack - 1) >>> 0);
    }
    const payload = seg.payload;
    const wire = seg.payloadLenOnWire > payload.length ? seg.payloadLenOnWire : payload.length;
    if (hasAck && o.started && !o.ended) this.acked(conn, o, odir, seg.ack, frame, ts);
    // The acknowledging side moves the dialogue on (a reply, a FIN, a RST): what it acknowledged
    // and the capture still lacks is lost for good, and must be delivered (as a gap) before it.
    if ((wire > 0 || fin || rst) && o.ackedTo > o.off) this.skipTo(conn, o, odir, o.ackedTo, ts);
    if (!rst) {
      const start = syn ? (seq + 1) >>> 0 : seq;
      const rel = (start - h.next) | 0;
      if (rel > MAX_AHEAD) {
        this.anomaly(conn, 'TCP_SEQ_OUT_OF_WINDOW', `segment starts ${rel} bytes beyond the next expected byte; ignored`, dir, frame, ts);
      } else if (!syn && !fin && wire <= 1 && rel === -1) {
        bits |= KEEP_ALIVE;
      } else {
        bits |= this.segment(conn, h, dir, h.off + rel, payload, wire, fin, frame, ts);
        if (repeatedSyn && wire === 0 && !fin) bits |= RETRANSMISSION;
      }
    }

    const verdict: SegmentVerdict = {
      conn: conn.info,
      dir,
      analysis: ANALYSIS[bits]!,
      relSeq: (seq - h.isn) >>> 0,
      relAck: hasAck && o.started ? (seg.ack - o.isn) >>> 0 : 0,
    };
    if ((bits & RETRANSMISSION) !== 0) this.st.retransmissions++;
    if ((bits & OUT_OF_ORDER) !== 0) this.st.outOfOrder++;
    if (rst) this.close(conn, 'rst', ts);
    else if (!conn.closed && conn.c.ended && conn.s.ended) this.close(conn, 'fin', ts);
    return verdict;
  }

  /**
   * The capture ended: every open connection delivers what it buffered (gaps for holes, and for
   * bytes before a seen FIN that never came) and is closed, in id order, with `fin` when at least
   * one side finished with a FIN (session.ts: "one FIN and the capture ended") and
   * `end-of-capture` otherwise. Afterwards the reassembler is empty and may be used again.
   */
  end(ts: number): void {
    const open: Conn[] = [];
    for (let c = this.lruHead; c !== null; c = c.next) open.push(c);
    open.sort((a, b) => a.info.id - b.info.id);
    for (const c of open) {
      this.flushHalf(c, c.c, 'client', ts);
      this.flushHalf(c, c.s, 'server', ts);
      this.close(c, c.c.ended || c.s.ended ? 'fin' : 'end-of-capture', ts);
    }
    this.conns.clear();
    this.closedHead = this.closedTail = null;
    this.closedCount = 0;
    this.lastSweep = -Infinity;
  }

  // ---- connections -------------------------------------------------------------------------

  private open(seg: TcpSegment, hash: number, frame: number, ts: number, syn: boolean, hasAck: boolean): Conn {
    if (this.st.open >= Math.max(1, this.limits.maxConnections) && this.lruHead !== null) {
      const victim = this.lruHead;
      this.anomaly(victim, 'TCP_CONNECTION_LIMIT', `more than ${this.limits.maxConnections} connections; closing the least recently active`, undefined, frame, ts);
      this.close(victim, 'limit', ts);
    }
    let senderIsClient: boolean;
    if (syn) senderIsClient = !hasAck;
    else {
      const srvDst = this.isServerPort(seg.dstPort);
      const srvSrc = this.isServerPort(seg.srcPort);
      senderIsClient = srvDst !== srvSrc ? srvDst : seg.srcPort >= seg.dstPort;
    }
    const sender = { addr: seg.src, port: seg.srcPort };
    const receiver = { addr: seg.dst, port: seg.dstPort };
    const info: TcpConnectionInfo = {
      id: ++this.st.connections,
      client: senderIsClient ? sender : receiver,
      server: senderIsClient ? receiver : sender,
      startTs: ts,
      firstFrame: frame,
      sawSyn: syn,
    };
    const conn = new Conn(hash, info, this.factory.open(info), ts);
    conn.chain = this.conns.get(hash) ?? null;
    this.conns.set(hash, conn);
    this.append(conn);
    this.st.open++;
    return conn;
  }

  /** Closes an open connection: delivers what is buffered (gaps for holes), then `handler.close`. */
  private close(conn: Conn, reason: CloseReason, ts: number): void {
    if (conn.closed) return;
    this.flushHalf(conn, conn.c, 'client', ts);
    this.flushHalf(conn, conn.s, 'server', ts);
    conn.closed = true;
    conn.closedTs = ts;
    this.unlink(conn);
    this.st.open--;
    conn.handler?.close(reason, ts);
    conn.handler = null;
    if (reason === 'fin' || reason === 'rst') {
      // Remembered, so that trailing ACKs and retransmissions are not taken for a new connection.
      remember(conn);
      conn.prev = this.closedTail;
      conn.next = null;
      if (this.closedTail !== null) this.closedTail.next = conn;
      else this.closedHead = conn;
      this.closedTail = conn;
      this.closedCount++;
      if (this.closedCount > Math.max(1, this.limits.maxConnections) && this.closedHead !== null) this.forget(this.closedHead);
    } else {
      this.remove(conn);
    }
  }

  /**
   * A packet on a remembered closed connection: its verdict when it belongs to it, null when it
   * starts something new (a SYN with a new ISN, or a seq far from where the sender stopped).
   */
  private onClosed(conn: Conn, isClient: boolean, seg: TcpSegment, pureSyn: boolean): SegmentVerdict | null {
    const bits = conn.closedBits;
    const hStarted = (bits & (isClient ? C_STARTED : S_STARTED)) !== 0;
    const hIsnKnown = (bits & (isClient ? C_ISN_KNOWN : S_ISN_KNOWN)) !== 0;
    const hIsn = (isClient ? conn.cIsn : conn.sIsn) >>> 0;
    const hNext = (isClient ? conn.cNext : conn.sNext) >>> 0;
    const oStarted = (bits & (isClient ? S_STARTED : C_STARTED)) !== 0;
    const oIsn = (isClient ? conn.sIsn : conn.cIsn) >>> 0;
    const syn = (seg.flags & SYN) !== 0;
    if (pureSyn) {
      if (!(isClient && hIsnKnown && seg.seq === hIsn)) return null;
    } else if (hStarted) {
      const d = (seg.seq - hNext) | 0;
      if (d > CLOSED_SEQ_WINDOW || d < -CLOSED_SEQ_WINDOW) return null;
    }
    const span = Math.max(seg.payloadLenOnWire, seg.payload.length) + ((seg.flags & FIN) !== 0 ? 1 : 0) + (syn ? 1 : 0);
    const rel = (seg.seq - hNext) | 0;
    const old = hStarted && span > 0 && rel + span <= 0;
    if (old) this.st.retransmissions++;
    return {
      conn: conn.info,
      dir: isClient ? 'client' : 'server',
      analysis: old ? ANALYSIS[RETRANSMISSION]! : NO_ANALYSIS,
      relSeq: hStarted ? (seg.seq - hIsn) >>> 0 : seg.seq,
      relAck: (seg.flags & ACK) !== 0 && oStarted ? (seg.ack - oIsn) >>> 0 : 0,
    };
  }

  /** Drops a remembered closed connection. */
  private forget(conn: Conn): void {
    if (conn.prev !== null) conn.prev.next = conn.next;
    else this.closedHead = conn.next;
    if (conn.next !== null) conn.next.prev = conn.prev;
    else this.closedTail = conn.prev;
    conn.prev = conn.next = null;
    this.closedCount--;
    this.remove(conn);
  }

  /** Closes idle connections and forgets old closed ones; cheap when nothing is due. */
  private sweep(ts: number): void {
    this.lastSweep = ts;
    const idleBefore = ts - this.limits.idleTimeoutUs;
    while (this.lruHead !== null && this.lruHead.lastTs < idleBefore) this.close(this.lruHead, 'timeout', ts);
    const lingerBefore = ts - this.lingerUs;
    while (this.closedHead !== null && this.closedHead.closedTs < lingerBefore) this.forget(this.closedHead);
  }

  /** The connection (open or remembered) of this 4-tuple, in either direction. */
  private find(hash: number, src: string, srcPort: number, dst: string, dstPort: number): Conn | undefined {
    let c = this.conns.get(hash);
    while (c !== undefined) {
      const a = c.info.client;
      const b = c.info.server;
      if (
        (a.port === srcPort && b.port === dstPort && a.addr === src && b.addr === dst) ||
        (a.port === dstPort && b.port === srcPort && a.addr === dst && b.addr === src)
      ) {
        return c;
      }
      c = c.chain ?? undefined;
    }
    return undefined;
  }

  private remove(conn: Conn): void {
    let c = this.conns.get(conn.hash);
    if (c === conn) {
      if (conn.chain === null) this.conns.delete(conn.hash);
      else this.conns.set(conn.hash, conn.chain);
    } else {
      while (c !== undefined && c.chain !== conn) c = c.chain ?? undefined;
      if (c !== undefined) c.chain = conn.chain;
    }
    conn.chain = null;
  }

  private append(conn: Conn): void {
    conn.prev = this.lruTail;
    conn.next = null;
    if (this.lruTail !== null) this.lruTail.next = conn;
    else this.lruHead = conn;
    this.lruTail = conn;
  }

  private unlink(conn: Conn): void {
    if (conn.prev !== null) conn.prev.next = conn.next;
    else this.lruHead = conn.next;
    if (conn.next !== null) conn.next.prev = conn.prev;
    else this.lruTail = conn.prev;
    conn.prev = conn.next = null;
  }

  private touch(conn: Conn): void {
    if (this.lruTail === conn) return;
    this.unlink(conn);
    this.append(conn);
  }

  // ---- one direction -----------------------------------------------------------------------

  /**
   * The sequence space [a, a + wire) (+ FIN) of direction `h`, `a` as a stream offset; returns the
   * analysis bits. Delivers what is in order, buffers the rest.
   */
  private segment(conn: Conn, h: Half, dir: Direction, a: number, payload: Uint8Array, wire: number, fin: boolean, frame: number, ts: number): number {
    const span = wire + (fin ? 1 : 0);
    if (span === 0) return 0;
    if (a + span <= h.off) return RETRANSMISSION;
    if (h.ended) {
      this.anomaly(conn, 'TCP_DATA_AFTER_FIN', 'sequence space beyond the FIN; ignored', dir, frame, ts);
      return 0;
    }
    let newFin = false;
    let b = a + wire;
    if (fin && !h.finSeen) {
      h.finSeen = true;
      h.finOff = b;
      newFin = true;
      this.trimAfterFin(conn, h, dir, frame, ts);
    }
    if (h.finSeen && b > h.finOff) {
      this.anomaly(conn, 'TCP_DATA_AFTER_FIN', `${b - h.finOff} bytes beyond the FIN; dropped`, dir, frame, ts);
      b = h.finOff;
    }
    let bits = a > h.off ? OUT_OF_ORDER : a < h.off ? OVERLAP : 0;
    const from = a > h.off ? a : h.off;
    const dataEnd = Math.min(a + Math.min(payload.length, wire), b);
    if (h.pieces.length === 0 && a <= h.off) {
      // The common case: in order, nothing buffered. No copy.
      if (dataEnd > from && conn.handler !== null) {
        const whole = from === a && dataEnd - a === payload.length;
        conn.handler.data(dir, whole ? payload : payload.subarray(from - a, dataEnd - a), frame, ts);
      }
      const gapFrom = dataEnd > from ? dataEnd : from;
      if (dataEnd > from) h.advance(dataEnd - from);
      if (b > gapFrom) this.gap(conn, h, dir, b - gapFrom, ts);
    } else if (b > from) {
      let covered = 0;
      if (dataEnd > from) covered += this.insert(conn, h, dir, from, dataEnd, payload, a, false, frame, ts);
      const gapFrom = dataEnd > from ? dataEnd : from;
      if (b > gapFrom) covered += this.insert(conn, h, dir, gapFrom, b, null, a, true, frame, ts);
      if (covered === b - from && !newFin) bits = RETRANSMISSION;
      else if (covered > 0) bits |= OVERLAP;
      this.drain(conn, h, dir);
    } else if (!newFin) {
      // Nothing left inside the FIN: a repeated FIN, or bytes beyond it (reported above).
      bits = fin && wire === 0 ? RETRANSMISSION : 0;
    }
    this.finish(h);
    if (h.pieces.length > 0) this.checkLimits(conn, h, dir, frame, ts);
    return bits;
  }

  /**
   * Buffers the parts of [from, to) not buffered yet (first copy wins); `bytes` holds offset `base`
   * at index 0. Returns how many bytes of [from, to) were already buffered.
   */
  private insert(conn: Conn, h: Half, dir: Direction, from: number, to: number, bytes: Uint8Array | null, base: number, gap: boolean, frame: number, ts: number): number {
    const list = h.pieces;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.end <= from) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    let pos = from;
    let covered = 0;
    let mismatch = false;
    while (pos < to) {
      const p = list[i];
      if (p === undefined || p.off >= to) {
        list.splice(i, 0, this.piece(conn, h, pos, to, bytes, base, gap, frame, ts));
        break;
      }
      if (p.off > pos) {
        list.splice(i, 0, this.piece(conn, h, pos, p.off, bytes, base, gap, frame, ts));
        i++;
        pos = p.off;
        continue;
      }
      const e = p.end < to ? p.end : to;
      covered += e - pos;
      if (!mismatch && bytes !== null && p.bytes !== null) {
        for (let k = pos; k < e; k++) {
          if (bytes[k - base] !== p.bytes[k - p.off]) {
            mismatch = true;
            break;
          }
        }
      }
      pos = e;
      i++;
    }
    if (mismatch) this.anomaly(conn, 'TCP_OVERLAP_MISMATCH', 'overlapping copies of buffered bytes differ; the first copy was kept', dir, frame, ts);
    return covered;
  }

  private piece(conn: Conn, h: Half, off: number, end: number, bytes: Uint8Array | null, base: number, gap: boolean, frame: number, ts: number): Piece {
    const charge = Math.max(end - off, MIN_BUFFER_CHARGE);
    h.charge += charge;
    this.st.bufferedBytes += charge;
    const copy = bytes !== null && conn.handler !== null ? copyBytes(bytes, off - base, end - base) : null;
    return { off, end, bytes: copy, gap, frame, ts, charge };
  }

  /** Delivers the first buffered piece (the part of it at or after `off`). */
  private deliverHead(conn: Conn, h: Half, dir: Direction): void {
    const p = h.pieces.shift();
    if (p === undefined) return;
    h.charge -= p.charge;
    this.st.bufferedBytes -= p.charge;
    if (p.end > h.off) {
      const skip = h.off > p.off ? h.off - p.off : 0;
      if (p.gap) this.gap(conn, h, dir, p.end - p.off - skip, p.ts);
      else {
        if (p.bytes !== null && conn.handler !== null) conn.handler.data(dir, skip > 0 ? p.bytes.subarray(skip) : p.bytes, p.frame, p.ts);
        h.advance(p.end - p.off - skip);
      }
    }
  }

  /** Delivers the buffered pieces that have become contiguous. */
  private drain(conn: Conn, h: Half, dir: Direction): void {
    let p = h.pieces[0];
    while (p !== undefined && p.off <= h.off) {
      this.deliverHead(conn, h, dir);
      p = h.pieces[0];
    }
  }

  /** Moves `h` to offset `target`: holes become gaps, buffered pieces are delivered. */
  private skipTo(conn: Conn, h: Half, dir: Direction, target: number, ts: number): void {
    while (h.off < target) {
      const p = h.pieces[0];
      if (p !== undefined && p.off <= h.off) {
        this.deliverHead(conn, h, dir);
        continue;
      }
      const e = p === undefined || p.off > target ? target : p.off;
      this.gap(conn, h, dir, e - h.off, ts);
    }
    this.drain(conn, h, dir);
    this.finish(h);
  }

  /** Everything buffered is delivered, holes as gaps, and the bytes before a seen FIN. */
  private flushHalf(conn: Conn, h: Half, dir: Direction, ts: number): void {
    let p = h.pieces[0];
    while (p !== undefined) {
      this.skipTo(conn, h, dir, p.off, ts);
      this.drain(conn, h, dir);
      p = h.pieces[0];
    }
    if (h.ackedTo > h.off) this.skipTo(conn, h, dir, h.finSeen && h.ackedTo > h.finOff ? h.finOff : h.ackedTo, ts);
    if (h.finSeen && !h.ended) this.skipTo(conn, h, dir, h.finOff, ts);
    this.finish(h);
  }

  /** The other side acknowledged up to `ack` in direction `o`: it had everything before it. */
  private acked(conn: Conn, o: Half, odir: Direction, ack: number, frame: number, ts: number): void {
    const d = (ack - o.next) | 0;
    if (d <= 0) return;
    if (d > MAX_AHEAD) {
      this.anomaly(conn, 'TCP_ACK_OUT_OF_WINDOW', `ACK ${d} bytes beyond the next expected byte; ignored`, odir, frame, ts);
      return;
    }
    let target = o.off + d;
    if (o.finSeen && target > o.finOff) target = o.finOff;
    // Not a gap yet: a capture taken on a busy host or mirror port often shows the ACK before the
    // data it covers (tshark: "ACKed segment that wasn't captured"), and the data then arrives as
    // an apparent retransmission. The hole becomes a gap when the acknowledging side next sends
    // data, FIN or RST, at close, or when a buffer limit is hit.
    if (target > o.ackedTo) o.ackedTo = target;
  }

  /** Marks the direction ended once its bytes up to the FIN are delivered; the FIN takes one seq. */
  private finish(h: Half): void {
    if (h.finSeen && !h.ended && h.off === h.finOff) {
      h.ended = true;
      h.advance(1);
    }
  }

  /** A FIN was seen: buffered bytes beyond it are dropped. */
  private trimAfterFin(conn: Conn, h: Half, dir: Direction, frame: number, ts: number): void {
    const list = h.pieces;
    let dropped = 0;
    while (list.length > 0) {
      const p = list[list.length - 1]!;
      if (p.end <= h.finOff) break;
      list.pop();
      h.charge -= p.charge;
      this.st.bufferedBytes -= p.charge;
      if (p.off < h.finOff) {
        const kept = { ...p, end: h.finOff, bytes: p.bytes === null ? null : p.bytes.subarray(0, h.finOff - p.off) };
        list.push(kept);
        h.charge += kept.charge;
        this.st.bufferedBytes += kept.charge;
        dropped += p.end - h.finOff;
        break;
      }
      dropped += p.end - p.off;
    }
    if (dropped > 0) this.anomaly(conn, 'TCP_DATA_AFTER_FIN', `${dropped} buffered bytes beyond the FIN; dropped`, dir, frame, ts);
  }

  private gap(conn: Conn, h: Half, dir: Direction, size: number, ts: number): void {
    if (size <= 0) return;
    conn.handler?.gap(dir, size, ts);
    this.st.gaps++;
    this.st.gapBytes += size;
    h.advance(size);
  }

  /** Buffer limits: past them, holes are given up (gaps) until the buffered bytes fit again. */
  private checkLimits(conn: Conn, h: Half, dir: Direction, frame: number, ts: number): void {
    const perDir = this.limits.maxBufferedBytesPerDirection;
    if (h.charge > perDir) {
      this.anomaly(conn, 'TCP_BUFFER_LIMIT', `more than ${perDir} bytes buffered behind a hole; the hole is declared a gap`, dir, frame, ts);
      while (h.charge > perDir && h.pieces.length > 0) this.skipTo(conn, h, dir, h.pieces[0]!.off, ts);
    }
    // As gopacket does past MaxBufferedPagesTotal: the connection that just added bytes gives up
    // its holes. It holds at least what it added, so the total is back within the limit after it.
    const total = this.limits.maxBufferedBytesTotal;
    if (this.st.bufferedBytes <= total) return;
    this.anomaly(conn, 'TCP_BUFFER_LIMIT', `more than ${total} bytes buffered across connections; holes are declared gaps`, dir, frame, ts);
    this.relieve(conn, conn.c, 'client', ts);
    this.relieve(conn, conn.s, 'server', ts);
  }

  private relieve(conn: Conn, h: Half, dir: Direction, ts: number): void {
    while (h.pieces.length > 0) this.skipTo(conn, h, dir, h.pieces[0]!.off, ts);
  }

  private anomaly(conn: Conn, code: string, message: string, dir: Direction | undefined, frame: number, ts: number): void {
    this.st.anomalies++;
    if (conn.handler === null) return;
    const a: Anomaly = dir === undefined ? { code, message, ts, frames: [frame] } : { code, message, ts, dir, frames: [frame] };
    conn.handler.anomaly(a);
  }
}
