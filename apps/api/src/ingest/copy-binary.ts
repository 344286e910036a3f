/**
 * PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary
 * Format") for the two high-volume tables. Why binary: text COPY sends a frame's bytes as `\\x` hex,
 * twice their size, encoded here and decoded by the server; binary COPY sends them as they are,
 * and integers as 2/4/8 bytes instead of digits to parse.
 *
 * Each encoder writes one buffer holding header, tuples and trailer, for
 * `COPY <table> (<columns>) FROM STDIN (FORMAT binary)`; the column lists below are the order the
 * tuples are written in. Enum values (Direction, TimelineKind) travel as their label (enum_recv
 * reads text); arrays carry their element type's OID, which array_recv checks.
 */
import type { BatchPacket, BatchTimelineEntry } from '@mailscope/shared';
import { pgText } from './pg-text.ts';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const OID_INT4 = 23;
const OID_TEXT = 25;

/**
 * A growing byte buffer with the big-endian writers of the format. The writers store bytes
 * directly (no Buffer.write* range checks: a batch is 20 fields by 5,000 packets); the encoders
 * call `ensure` once per tuple with an upper bound of its size.
 */
class CopyWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(Math.max(initial, 1024));
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  header(): void {
    this.ensure(19);
    SIGNATURE.copy(this.buf, this.pos);
    this.pos += SIGNATURE.length;
    this.i32(0); // flags: no OIDs
    this.i32(0); // header extension length
  }

  trailer(): Buffer {
    this.ensure(2);
    this.i16(-1);
    return this.buf.subarray(0, this.pos);
  }

  private i16(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  private i32(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  tuple(fields: number): void {
    this.i16(fields);
  }

  null(): void {
    this.i32(-1);
  }

  int2(v: number): void {
    this.i32(2);
    this.i16(v);
  }

  int4(v: number): void {
    this.i32(4);
    this.i32(v);
  }

  /** A safe integer (µs times, uint32 sequence numbers, byte counts, row ids) as int8. */
  int8(v: number | bigint): void {
    const n = typeof v === 'bigint' ? Number(v) : v;
    const hi = Math.floor(n / 4294967296);
    this.i32(8);
    this.i32(hi);
    this.i32(n - hi * 4294967296);
  }

  bool(v: boolean): void {
    this.i32(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** Needs up to 4 + 3 * s.length bytes (a UTF-16 unit is at most 3 bytes of UTF-8, NUL's stand-in too). */
  text(s: string): void {
    const b = this.buf;
    const start = this.pos + 4;
    const n = s.length;
    let i = 0;
    // ASCII without NUL, the usual case: byte for char.
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c > 0x7f) break;
      b[start + i] = c;
    }
    const length = i === n ? n : b.write(pgText(s), start, 'utf8');
    this.i32(length);
    this.pos = start + length;
  }

  bytes(v: Uint8Array): void {
    this.i32(v.byteLength);
    this.buf.set(v, this.pos);
    this.pos += v.byteLength;
  }

  /** A field written before (`fieldBytes`: its length prefix and data). */
  raw(fieldBytes: Uint8Array): void {
    this.buf.set(fieldBytes, this.pos);
    this.pos += fieldBytes.byteLength;
  }

  /** Needs up to 24 + the `text` bound of each item. */
  textArray(items: readonly string[]): void {
    const start = this.pos;
    this.pos += 4; // length, filled in below
    this.arrayHeader(items.length, OID_TEXT);
    for (const s of items) this.text(s);
    this.patch32(start, this.pos - start - 4);
  }

  /** Needs up to 24 + 8 per item. */
  int4Array(items: readonly number[]): void {
    const start = this.pos;
    this.pos += 4;
    this.arrayHeader(items.length, OID_INT4);
    for (const v of items) this.int4(v);
    this.patch32(start, this.pos - start - 4);
  }

  private patch32(at: number, v: number): void {
    const p = this.pos;
    this.pos = at;
    this.i32(v);
    this.pos = p;
  }

  /** ndim, has-nulls flag, element OID and, unless empty, one dimension (length, lower bound 1). */
  private arrayHeader(length: number, oid: number): void {
    this.i32(length === 0 ? 0 : 1);
    this.i32(0);
    this.i32(oid);
    if (length === 0) return;
    this.i32(length);
    this.i32(1);
  }
}

/** The uuid field (length prefix and 16 bytes) of a canonical uuid text. */
function uuidField(id: string): Buffer {
  const b = Buffer.alloc(20);
  b.writeInt32BE(16, 0);
  b.write(id.replace(/-/g, ''), 4, 16, 'hex');
  return b;
}

const textBound = (s: string): number => 4 + 3 * s.length;

export const PACKET_COPY_COLUMNS = `"captureId", "frameNo", "sessionId", "ts", "src", "dst", "srcPort", "dstPort", "protocol", "length",
  "capturedLength", "tcpFlags", "seq", "ack", "payloadLength", "info", "dir", "tcpAnalysis", "linkType", "raw"`;

/**
 * Packets of capture `captureId` as COPY binary data. `sessionOf` gives the Session.id of an
 * engine session id, or undefined (the packet is stored without a session then).
 */
export function encodePackets(captureId: string, packets: readonly BatchPacket[], sessionOf: (engineId: number) => bigint | undefined): Buffer {
  // Per tuple: field count 2, 20 length prefixes 80, fixed-size data 76; then texts, array and frame.
  const FIXED = 2 + 80 + 76 + 24;
  let estimate = 64;
  for (const p of packets) estimate += FIXED + p.raw.byteLength + 3 * (p.src.length + p.dst.length + p.protocol.length + p.info.length + 6);
  const w = new CopyWriter(estimate);
  const capture = uuidField(captureId);
  w.header();
  for (const p of packets) {
    let size = FIXED + p.raw.byteLength + textBound(p.src) + textBound(p.dst) + textBound(p.protocol) + textBound(p.info) + (p.dir === undefined ? 0 : textBound(p.dir));
    if (p.tcpAnalysis !== undefined) for (const a of p.tcpAnalysis) size += textBound(a);
    w.ensure(size);
    w.tuple(20);
    w.raw(capture);
    w.int4(p.no);
    const sid = p.sessionId === undefined ? undefined : sessionOf(p.sessionId);
    if (sid === undefined) w.null(); else w.int8(sid);
    w.int8(p.ts);
    w.text(p.src);
    w.text(p.dst);
    if (p.srcPort === undefined) w.null(); else w.int4(p.srcPort);
    if (p.dstPort === undefined) w.null(); else w.int4(p.dstPort);
    w.text(p.protocol);
    w.int4(p.length);
    w.int4(p.capturedLength);
    if (p.tcpFlags === undefined) w.null(); else w.int2(p.tcpFlags);
    if (p.seq === undefined) w.null(); else w.int8(p.seq);
    if (p.ack === undefined) w.null(); else w.int8(p.ack);
    if (p.payloadLength === undefined) w.null(); else w.int4(p.payloadLength);
    w.text(p.info);
    if (p.dir === undefined) w.null(); else w.text(p.dir);
    w.textArray(p.tcpAnalysis ?? []);
    w.int2(p.linkType);
    w.bytes(p.raw);
  }
  return w.trailer();
}

export const TIMELINE_COPY_COLUMNS = `"sessionId", "seq", "ts", "dir", "kind", "verb", "arg", "frames", "latencyUs",
  "authMechanism", "authUser", "authPassword", "authSuccess"`;

/** Timeline entries whose session is known, with their Session.id. */
export function encodeTimeline(entries: readonly { readonly sessionId: bigint; readonly entry: BatchTimelineEntry }[]): Buffer {
  // Per tuple: field count 2, 13 length prefixes 52, fixed-size data 8 + 4 + 8 + 8 + 1; then texts and the array.
  const FIXED = 2 + 52 + 29 + 24;
  let estimate = 64;
  for (const { entry } of entries) estimate += FIXED + (entry.verb.length + entry.arg.length + 16) * 3 + entry.frames.length * 8;
  const w = new CopyWriter(estimate);
  w.header();
  for (const { sessionId, entry: t } of entries) {
    const auth = t.auth;
    w.ensure(FIXED + textBound(t.dir) + textBound(t.kind) + textBound(t.verb) + textBound(t.arg) + 8 * t.frames.length +
      (auth === undefined ? 0 : textBound(auth.mechanism) + textBound(auth.user ?? '') + textBound(auth.password ?? '')));
    w.tuple(13);
    w.int8(sessionId);
    w.int4(t.seq);
    w.int8(t.ts);
    w.text(t.dir);
    w.text(t.kind);
    w.text(t.verb);
    w.text(t.arg);
    w.int4Array(t.frames);
    if (t.latencyUs === undefined) w.null(); else w.int8(t.latencyUs);
    if (auth === undefined) {
      w.null(); w.null(); w.null(); w.null();
    } else {
      w.text(auth.mechanism);
      if (auth.user === undefined) w.null(); else w.text(auth.user);
      if (auth.password === undefined) w.null(); else w.text(auth.password);
      if (auth.success === undefined) w.null(); else w.bool(auth.success);
    }
  }
  return w.trailer();
}
