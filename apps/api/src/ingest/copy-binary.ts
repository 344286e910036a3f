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

/** A growing byte buffer with the big-endian writers of the format. */
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
    this.buf.writeInt32BE(0, this.pos); // flags: no OIDs
    this.buf.writeInt32BE(0, this.pos + 4); // header extension length
    this.pos += 8;
  }

  trailer(): Buffer {
    this.ensure(2);
    this.buf.writeInt16BE(-1, this.pos);
    this.pos += 2;
    return this.buf.subarray(0, this.pos);
  }

  tuple(fields: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(fields, this.pos);
    this.pos += 2;
  }

  null(): void {
    this.ensure(4);
    this.buf.writeInt32BE(-1, this.pos);
    this.pos += 4;
  }

  int2(v: number): void {
    this.ensure(6);
    this.buf.writeInt32BE(2, this.pos);
    this.buf.writeInt16BE(v, this.pos + 4);
    this.pos += 6;
  }

  int4(v: number): void {
    this.ensure(8);
    this.buf.writeInt32BE(4, this.pos);
    this.buf.writeInt32BE(v, this.pos + 4);
    this.pos += 8;
  }

  /** A safe integer (µs times, uint32 sequence numbers, byte counts) as int8. */
  int8(v: number | bigint): void {
    this.ensure(12);
    this.buf.writeInt32BE(8, this.pos);
    if (typeof v === 'bigint') {
      this.buf.writeBigInt64BE(v, this.pos + 4);
    } else {
      const hi = Math.floor(v / 4294967296);
      this.buf.writeInt32BE(hi, this.pos + 4);
      this.buf.writeUInt32BE(v - hi * 4294967296, this.pos + 8);
    }
    this.pos += 12;
  }

  bool(v: boolean): void {
    this.ensure(5);
    this.buf.writeInt32BE(1, this.pos);
    this.buf[this.pos + 4] = v ? 1 : 0;
    this.pos += 5;
  }

  text(raw: string): void {
    const s = pgText(raw);
    this.ensure(4 + s.length * 3);
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4 + n;
  }

  bytes(b: Uint8Array): void {
    this.ensure(4 + b.byteLength);
    this.buf.writeInt32BE(b.byteLength, this.pos);
    this.buf.set(b, this.pos + 4);
    this.pos += 4 + b.byteLength;
  }

  /** A canonical uuid text as 16 bytes. */
  uuid(id: string): void {
    this.ensure(20);
    this.buf.writeInt32BE(16, this.pos);
    this.buf.write(id.replace(/-/g, ''), this.pos + 4, 16, 'hex');
    this.pos += 20;
  }

  textArray(items: readonly string[]): void {
    const start = this.pos;
    this.ensure(24);
    this.pos += 4; // length, filled in below
    this.arrayHeader(items.length, OID_TEXT);
    for (const s of items) this.text(s);
    this.buf.writeInt32BE(this.pos - start - 4, start);
  }

  int4Array(items: readonly number[]): void {
    this.ensure(24 + items.length * 8);
    const start = this.pos;
    this.pos += 4;
    this.arrayHeader(items.length, OID_INT4);
    for (const v of items) this.int4(v);
    this.buf.writeInt32BE(this.pos - start - 4, start);
  }

  /** ndim, has-nulls flag, element OID and, unless empty, one dimension (length, lower bound 1). */
  private arrayHeader(length: number, oid: number): void {
    this.ensure(20);
    const b = this.buf;
    b.writeInt32BE(length === 0 ? 0 : 1, this.pos);
    b.writeInt32BE(0, this.pos + 4);
    b.writeInt32BE(oid, this.pos + 8);
    this.pos += 12;
    if (length === 0) return;
    b.writeInt32BE(length, this.pos);
    b.writeInt32BE(1, this.pos + 4);
    this.pos += 8;
  }
}

export const PACKET_COPY_COLUMNS = `"captureId", "frameNo", "sessionId", "ts", "src", "dst", "srcPort", "dstPort", "protocol", "length",
  "capturedLength", "tcpFlags", "seq", "ack", "payloadLength", "info", "dir", "tcpAnalysis", "linkType", "raw"`;

/**
 * Packets of capture `captureId` as COPY binary data. `sessionOf` gives the Session.id of an
 * engine session id, or undefined (the packet is stored without a session then).
 */
export function encodePackets(captureId: string, packets: readonly BatchPacket[], sessionOf: (engineId: number) => bigint | undefined): Buffer {
  let estimate = 64;
  for (const p of packets) estimate += 260 + p.raw.byteLength + p.info.length;
  const w = new CopyWriter(estimate);
  w.header();
  for (const p of packets) {
    w.tuple(20);
    w.uuid(captureId);
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
  let estimate = 64;
  for (const { entry } of entries) estimate += 120 + (entry.verb.length + entry.arg.length) * 3 + entry.frames.length * 8;
  const w = new CopyWriter(estimate);
  w.header();
  for (const { sessionId, entry: t } of entries) {
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
    if (t.auth === undefined) {
      w.null(); w.null(); w.null(); w.null();
    } else {
      w.text(t.auth.mechanism);
      if (t.auth.user === undefined) w.null(); else w.text(t.auth.user);
      if (t.auth.password === undefined) w.null(); else w.text(t.auth.password);
      if (t.auth.success === undefined) w.null(); else w.bool(t.auth.success);
    }
  }
  return w.trailer();
}
