/**
 * The binary COPY encoders, read back by an independent decoder of the format
 * (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): every field of every
 * tuple against the record it came from, over seeded random records with the awkward values
 * (absent optionals, NUL, non-ASCII and astral characters, long strings, uint32 and µs extremes,
 * row ids past 2^32, empty frames). The round trip through PostgreSQL itself is in
 * socket-agent.test.ts and upload-capture.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BatchPacket, BatchTimelineEntry } from '@mailscope/shared';
import { encodePackets, encodeTimeline } from '../src/ingest/copy-binary.ts';
import { NUL_STAND_IN } from '../src/ingest/pg-text.ts';

type Field = Buffer | null;

function decodeCopy(data: Buffer): Field[][] {
  assert.equal(data.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0');
  assert.equal(data.readInt32BE(11), 0, 'flags');
  let at = 15 + 4 + data.readInt32BE(15);
  const tuples: Field[][] = [];
  for (;;) {
    const fields = data.readInt16BE(at);
    at += 2;
    if (fields === -1) break;
    const tuple: Field[] = [];
    for (let i = 0; i < fields; i++) {
      const len = data.readInt32BE(at);
      at += 4;
      if (len === -1) {
        tuple.push(null);
      } else {
        tuple.push(data.subarray(at, at + len));
        at += len;
      }
    }
    tuples.push(tuple);
  }
  assert.equal(at, data.length, 'nothing after the trailer');
  return tuples;
}

const int2 = (f: Field): number | null => (f === null ? null : (assert.equal(f.length, 2), f.readInt16BE(0)));
const int4 = (f: Field): number | null => (f === null ? null : (assert.equal(f.length, 4), f.readInt32BE(0)));
const int8 = (f: Field): bigint | null => (f === null ? null : (assert.equal(f.length, 8), f.readBigInt64BE(0)));
const text = (f: Field): string | null => (f === null ? null : new TextDecoder('utf-8', { fatal: true }).decode(f));
const bool = (f: Field): boolean | null => (f === null ? null : (assert.equal(f.length, 1), f[0] === 1));

function array(f: Field, oid: number, element: (e: Field) => unknown): unknown[] {
  assert.ok(f !== null);
  const ndim = f.readInt32BE(0);
  assert.equal(f.readInt32BE(4), 0, 'no nulls');
  assert.equal(f.readInt32BE(8), oid);
  if (ndim === 0) {
    assert.equal(f.length, 12);
    return [];
  }
  assert.equal(ndim, 1);
  const n = f.readInt32BE(12);
  assert.equal(f.readInt32BE(16), 1, 'lower bound');
  const out: unknown[] = [];
  let at = 20;
  for (let i = 0; i < n; i++) {
    const len = f.readInt32BE(at);
    out.push(element(f.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  assert.equal(at, f.length);
  return out;
}

/** A seeded generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['', 'a', 'C: MAIL FROM:<a@example.com>', 'n\0l', '\0', 'é', 'Grüße 日本 ✉', '😀x', 'x'.repeat(3000), 'ü'.repeat(700) + '\0'];
const pgText = (s: string): string => s.replaceAll('\0', NUL_STAND_IN);

test('encodePackets: every field of every packet, as PostgreSQL reads binary COPY', () => {
  const rnd = random(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const maybe = <T>(v: T): T | undefined => (rnd() < 0.3 ? undefined : v);
  const packets: BatchPacket[] = [];
  for (let no = 1; no <= 400; no++) {
    const raw = new Uint8Array(pick([0, 1, 60, 1514, 9000]));
    for (let i = 0; i < raw.length; i++) raw[i] = (no * 31 + i) & 0xff;
    const analysis = maybe([pick(STRINGS), 'retransmission']);
    packets.push({
      type: 'packet', no: no === 400 ? 2_147_483_647 : no, ts: pick([0, 1_700_000_000_123_456, Number.MAX_SAFE_INTEGER, 4_294_967_296 * 5 + 7]),
      src: pick(STRINGS), dst: pick(STRINGS), srcPort: maybe(pick([0, 25, 65535])), dstPort: maybe(110), protocol: pick(['TCP', 'SMTP', 'POP', 'ä\0']),
      length: raw.length + 4, capturedLength: raw.length, tcpFlags: maybe(pick([0, 0x18, 0x1ff])), seq: maybe(pick([0, 4_294_967_295, 123])),
      ack: maybe(pick([0, 4_294_967_295])), payloadLength: maybe(raw.length), info: pick(STRINGS), sessionId: maybe(Math.floor(rnd() * 5)),
      dir: maybe(pick(['client', 'server'] as const)), ...(analysis === undefined ? {} : { tcpAnalysis: analysis }), linkType: pick([1, 113, 276]), raw,
    });
  }
  const CAPTURE = '0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9';
  const ids = new Map<number, bigint>([[1, 1n], [2, 4_294_967_297n], [3, 9_007_199_254_740_000n]]); // 0 and 4: not known
  const tuples = decodeCopy(encodePackets(CAPTURE, packets, (e) => ids.get(e)));
  assert.equal(tuples.length, packets.length);
  for (const [i, p] of packets.entries()) {
    const f = tuples[i]!;
    assert.equal(f.length, 20);
    const nul = <T>(v: T | undefined): T | null => v ?? null;
    assert.deepEqual({
      captureId: f[0]!.toString('hex'), no: int4(f[1]!), sessionId: int8(f[2]!), ts: int8(f[3]!), src: text(f[4]!), dst: text(f[5]!),
      srcPort: int4(f[6]!), dstPort: int4(f[7]!), protocol: text(f[8]!), length: int4(f[9]!), capturedLength: int4(f[10]!),
      tcpFlags: int2(f[11]!), seq: int8(f[12]!), ack: int8(f[13]!), payloadLength: int4(f[14]!), info: text(f[15]!), dir: text(f[16]!),
      tcpAnalysis: array(f[17]!, 25, text), linkType: int2(f[18]!), raw: f[19],
    }, {
      captureId: CAPTURE.replaceAll('-', ''), no: p.no, sessionId: p.sessionId === undefined ? null : nul(ids.get(p.sessionId)), ts: BigInt(p.ts),
      src: pgText(p.src), dst: pgText(p.dst), srcPort: nul(p.srcPort), dstPort: nul(p.dstPort), protocol: pgText(p.protocol), length: p.length,
      capturedLength: p.capturedLength, tcpFlags: nul(p.tcpFlags), seq: p.seq === undefined ? null : BigInt(p.seq), ack: p.ack === undefined ? null : BigInt(p.ack),
      payloadLength: nul(p.payloadLength), info: pgText(p.info), dir: nul(p.dir), tcpAnalysis: (p.tcpAnalysis ?? []).map(pgText), linkType: p.linkType,
      raw: Buffer.from(p.raw),
    }, `packet ${i}`);
  }
});

test('encodeTimeline: every field of every entry, auth and arrays included', () => {
  const rnd = random(11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const entries: { sessionId: bigint; entry: BatchTimelineEntry }[] = [];
  for (let seq = 1; seq <= 300; seq++) {
    const auth = rnd() < 0.4 ? {
      mechanism: pick(['PLAIN', 'LOGIN', 'x\0']),
      ...(rnd() < 0.8 ? { user: pick(STRINGS) } : {}),
      ...(rnd() < 0.8 ? { password: pick(STRINGS) } : {}),
      ...(rnd() < 0.8 ? { success: rnd() < 0.5 } : {}),
    } : undefined;
    const latency = rnd() < 0.5 ? pick([0, 1, 86_400_000_000]) : undefined;
    entries.push({
      sessionId: pick([1n, 4_294_967_297n, 9_007_199_254_740_000n]),
      entry: {
        type: 'timeline', sessionId: 1, seq, ts: pick([0, 1_700_000_000_123_456, Number.MAX_SAFE_INTEGER]), dir: pick(['client', 'server']),
        kind: pick(['command', 'reply', 'auth', 'data']), verb: pick(STRINGS), arg: pick(STRINGS),
        frames: pick([[], [1], [1, 2, 2_147_483_647], Array.from({ length: 500 }, (_, i) => i)]),
        ...(latency === undefined ? {} : { latencyUs: latency }), ...(auth === undefined ? {} : { auth }),
      } as BatchTimelineEntry,
    });
  }
  const tuples = decodeCopy(encodeTimeline(entries));
  assert.equal(tuples.length, entries.length);
  for (const [i, { sessionId, entry: t }] of entries.entries()) {
    const f = tuples[i]!;
    assert.equal(f.length, 13);
    assert.deepEqual({
      sessionId: int8(f[0]!), seq: int4(f[1]!), ts: int8(f[2]!), dir: text(f[3]!), kind: text(f[4]!), verb: text(f[5]!), arg: text(f[6]!),
      frames: array(f[7]!, 23, int4), latencyUs: int8(f[8]!), mechanism: text(f[9]!), user: text(f[10]!), password: text(f[11]!), success: bool(f[12]!),
    }, {
      sessionId, seq: t.seq, ts: BigInt(t.ts), dir: t.dir, kind: t.kind, verb: pgText(t.verb), arg: pgText(t.arg), frames: t.frames,
      latencyUs: t.latencyUs === undefined ? null : BigInt(t.latencyUs), mechanism: t.auth === undefined ? null : pgText(t.auth.mechanism),
      user: t.auth?.user === undefined ? null : pgText(t.auth.user), password: t.auth?.password === undefined ? null : pgText(t.auth.password),
      success: t.auth?.success ?? null,
    }, `entry ${i}`);
  }
});
