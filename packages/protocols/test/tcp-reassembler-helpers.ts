/**
 * Shared by the reassembler tests: builds `TcpSegment`s from a compact notation and records the
 * handler calls as one string each, so that a test is a table of segments in, calls out.
 */
import { TcpFlag } from '../src/types.ts';
import type { TcpSegment } from '../src/types.ts';
import type { StreamHandler, TcpConnectionInfo } from '../src/session.ts';
import { TcpReassembler } from '../src/tcp-reassembler.ts';
import type { ConnectionFactory, SegmentVerdict, TcpReassemblerOptions } from '../src/tcp-reassembler.ts';

export const CLIENT = { addr: '192.0.2.1', port: 40000 };
export const SERVER = { addr: '192.0.2.2', port: 25 };

/**
 * One segment: sender ('c' = CLIENT, 's' = SERVER, or explicit endpoints), flags as letters
 * (S A F R P), seq, ack, payload (latin1 string or bytes), and extras.
 */
export interface Seg {
  readonly from: 'c' | 's';
  readonly flags: string;
  readonly seq: number;
  readonly ack?: number;
  readonly data?: string | Uint8Array;
  /** payloadLenOnWire, when larger than the data (snap length cut it). */
  readonly wire?: number;
  readonly win?: number;
  /** Capture time, µs; default 1_000_000 + frame × 1000. */
  readonly ts?: number;
  /** Endpoints instead of CLIENT / SERVER (from is then ignored). */
  readonly src?: { addr: string; port: number };
  readonly dst?: { addr: string; port: number };
}

export function flagsOf(letters: string): number {
  let f = 0;
  for (const l of letters) {
    if (l === 'S') f |= TcpFlag.SYN;
    else if (l === 'A') f |= TcpFlag.ACK;
    else if (l === 'F') f |= TcpFlag.FIN;
    else if (l === 'R') f |= TcpFlag.RST;
    else if (l === 'P') f |= TcpFlag.PSH;
    else throw new Error(`bad flag ${l}`);
  }
  return f;
}

export function latin1(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

export function text(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

export function tcp(s: Seg): TcpSegment {
  const src = s.src ?? (s.from === 'c' ? CLIENT : SERVER);
  const dst = s.dst ?? (s.from === 'c' ? SERVER : CLIENT);
  const payload = s.data === undefined ? new Uint8Array(0) : typeof s.data === 'string' ? latin1(s.data) : s.data;
  return {
    ipVersion: 4,
    src: src.addr,
    dst: dst.addr,
    srcPort: src.port,
    dstPort: dst.port,
    seq: s.seq >>> 0,
    ack: (s.ack ?? 0) >>> 0,
    flags: flagsOf(s.flags),
    window: s.win ?? 65535,
    payload,
    payloadLenOnWire: s.wire ?? payload.length,
    vlans: [],
  };
}

/** Records every factory and handler call as a line: `open #1 ...`, `#1 c data "..." f4`, `#1 s gap 3`. */
export class Recorder implements ConnectionFactory {
  readonly log: string[] = [];
  readonly closes = new Map<number, number>();
  /** Ids for which `open` returns null. */
  readonly untracked = new Set<number>();

  open(info: TcpConnectionInfo): StreamHandler | null {
    const id = info.id;
    this.log.push(
      `open #${id} ${info.client.addr}:${info.client.port}>${info.server.addr}:${info.server.port} syn=${info.sawSyn} f${info.firstFrame}`,
    );
    if (this.untracked.has(id)) return null;
    const d = (dir: string): string => (dir === 'client' ? 'c' : 's');
    return {
      data: (dir, bytes, frame) => this.log.push(`#${id} ${d(dir)} data ${JSON.stringify(text(bytes))} f${frame}`),
      gap: (dir, size) => this.log.push(`#${id} ${d(dir)} gap ${size}`),
      anomaly: (a) => this.log.push(`#${id} anomaly ${a.code}`),
      close: (reason) => {
        this.log.push(`#${id} close ${reason}`);
        this.closes.set(id, (this.closes.get(id) ?? 0) + 1);
      },
    };
  }
}

export interface RunResult {
  readonly log: readonly string[];
  readonly verdicts: readonly SegmentVerdict[];
  readonly r: TcpReassembler;
  readonly rec: Recorder;
}

/** Pushes the segments as frames 1..n; `end` closes the capture after the last one. */
export function run(segs: readonly Seg[], opts: TcpReassemblerOptions & { end?: boolean; untracked?: number[] } = {}): RunResult {
  const rec = new Recorder();
  for (const id of opts.untracked ?? []) rec.untracked.add(id);
  const r = new TcpReassembler(rec, opts);
  const verdicts: SegmentVerdict[] = [];
  let ts = 0;
  segs.forEach((s, i) => {
    const frame = i + 1;
    ts = s.ts ?? 1_000_000 + frame * 1000;
    verdicts.push(r.push(tcp(s), frame, ts));
  });
  if (opts.end === true) r.end(ts + 1000);
  return { log: rec.log, verdicts, r, rec };
}

/** Seeded PRNG (mulberry32): the same seed gives the same test. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
