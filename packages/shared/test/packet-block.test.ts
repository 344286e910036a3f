import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchPacket } from '../src/agent-protocol.ts';
import { batchPacket, decodePacketBlock, encodePacketBlock, packetBlockBound } from '../src/packet-block.ts';

const RECORD = 64;

function packet(over: Partial<BatchPacket> = {}): BatchPacket {
  const raw = over.raw ?? new Uint8Array([1, 2, 3, 4]);
  return {
    type: 'packet', no: 1, ts: 1_700_000_000_123_456, src: '192.0.2.10', dst: '198.51.100.25', srcPort: 50000, dstPort: 25,
    protocol: 'SMTP', length: 60, capturedLength: raw.byteLength, tcpFlags: 0x18, seq: 4_294_967_295, ack: 0, payloadLength: 6,
    info: 'C: EHLO client.example', sessionId: 7, dir: 'client', linkType: 1, ...over, raw,
  };
}

/** Record i's offset in a block of packets without tcpAnalysis whose frames take `frameBytes`. */
const recordAt = (block: Uint8Array, count: number, i: number, frameBytes: number): number => block.byteLength - frameBytes - (count - i) * RECORD;

test('a block gives back every field of every packet, optional ones absent where they were, and each frame', () => {
  const packets: BatchPacket[] = [
    packet(),
    // Every optional field absent: a non-IP frame.
    { type: 'packet', no: 2, ts: 0, src: '', dst: '', protocol: 'ARP', length: 42, capturedLength: 3, info: 'Who has 192.0.2.1?', linkType: 1, raw: new Uint8Array([9, 9, 9]) },
    packet({ no: 3, dir: 'server', srcPort: 0, dstPort: 65535, tcpFlags: 0xfff, seq: 0, ack: 4_294_967_295, payloadLength: 0, sessionId: 0x7fffffff, tcpAnalysis: ['retransmission', 'out-of-order'] }),
    // Texts past ASCII and past the 64-byte fast path, an empty frame, the largest time.
    packet({ no: 4, ts: Number.MAX_SAFE_INTEGER, info: `S: 250 Grüße ✉ ${'x'.repeat(200)} 𝄞`, protocol: 'POP3', raw: new Uint8Array(0), linkType: 0xffff }),
    packet({ no: 0x7fffffff, tcpAnalysis: [] }),
  ];
  const r = decodePacketBlock(encodePacketBlock(packets));
  assert.ok(r.ok, r.ok ? '' : r.error);
  const expected = packets.map((p) => ({ ...p, raw: [...p.raw] }));
  // An empty tcpAnalysis travels as none.
  delete (expected[4] as { tcpAnalysis?: unknown }).tcpAnalysis;
  assert.deepEqual(r.packets.map((p) => ({ ...p, raw: [...p.raw] })), expected);
  assert.equal(r.packets[1]!.srcPort, undefined);
  assert.equal('sessionId' in r.packets[1]!, false);
  // The same from a Buffer, as socket.io delivers the block (its texts take another path).
  const fromBuffer = decodePacketBlock(Buffer.from(encodePacketBlock(packets)));
  assert.ok(fromBuffer.ok);
  assert.deepEqual(fromBuffer.packets.map((p) => ({ ...p, raw: [...p.raw] })), expected);
});

test('an empty block holds no packets; repeated texts are stored once', () => {
  const empty = decodePacketBlock(encodePacketBlock([]));
  assert.deepEqual(empty, { ok: true, packets: [] });
  const one = encodePacketBlock([packet()]).byteLength;
  const hundred = encodePacketBlock(Array.from({ length: 100 }, (_, i) => packet({ no: i + 1 }))).byteLength;
  // Each more packet adds its record and its frame; the texts are shared.
  assert.equal(hundred - one, 99 * (RECORD + 4));
});

test('packetBlockBound bounds what a packet adds to a block', () => {
  const ps = [packet(), packet({ no: 2, info: 'ü'.repeat(300), tcpAnalysis: ['retransmission'] }), packet({ no: 3, raw: new Uint8Array(1500) })];
  let bound = 12;
  for (const p of ps) bound += packetBlockBound(p);
  assert.ok(encodePacketBlock(ps).byteLength <= bound);
});

test('the encoder refuses a value its field cannot hold instead of cutting it to fit', () => {
  for (const over of [{ srcPort: 65536 }, { seq: 2 ** 32 }, { ts: 1.5 }, { ts: -1 }, { tcpFlags: 0x10000 }, { no: -1 }, { capturedLength: 5 }] as Partial<BatchPacket>[]) {
    assert.throws(() => encodePacketBlock([packet(over)]), RangeError, JSON.stringify(over));
  }
});

test('refusals name the packet and field, or the part of the block at fault', () => {
  const good = encodePacketBlock([packet(), packet({ no: 2 })]);
  const patched = (patch: (v: DataView, b: Uint8Array) => void, from = good): Uint8Array => {
    const b = from.slice();
    patch(new DataView(b.buffer), b);
    return b;
  };
  const rec1 = recordAt(good, 2, 1, 8);
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short for a header', good.subarray(0, 11), /^packets: a packet block has at least 12 bytes/],
    ['wrong magic', patched((v) => v.setUint32(0, 0x12345678, true)), /^packets: not a packet block/],
    ['more packets than a batch may hold', patched((v) => v.setUint32(4, 5001, true)), /^packets: 5001 packets, at most 5000/],
    ['more packets than the block holds', patched((v) => v.setUint32(4, 3, true)), /^packets: 3 packet records cannot fit/],
    ['a string count the block cannot hold', patched((v) => v.setUint32(8, 0xffffffff, true)), /^packets: 4294967295 strings cannot fit/],
    ['more strings than the packets can name', (() => { const b = new Uint8Array(12 + 4 * 25); const v = new DataView(b.buffer); v.setUint32(0, 0x3150534d, true); v.setUint32(4, 2, true); v.setUint32(8, 25, true); return b; })(), /^packets: 25 strings for 2 packets, which name at most 24/],
    ['a string running past the end', patched((v) => v.setUint32(12, 1_000_000, true)), /^packets: string 0 runs past the end/],
    ['frame 0', patched((v) => v.setUint32(rec1, 0, true)), /^packets\/1\/no: must be from 1 to 2147483647 \(is 0\)/],
    ['a fractional time', patched((v) => v.setFloat64(rec1 + 4, 1.5, true)), /^packets\/1\/ts: must be a whole number/],
    ['a negative time', patched((v) => v.setFloat64(rec1 + 4, -1, true)), /^packets\/1\/ts/],
    ['a NaN time', patched((v) => v.setFloat64(rec1 + 4, Number.NaN, true)), /^packets\/1\/ts/],
    ['a string that does not exist', patched((v) => v.setUint32(rec1 + 24, 99, true)), /^packets\/1\/info: string 99 does not exist/],
    ['length past int4', patched((v) => v.setUint32(rec1 + 28, 0x80000000, true)), /^packets\/1\/length: must be at most 2147483647/],
    ['a frame larger than allowed', patched((v) => v.setUint32(rec1 + 32, 262_145, true)), /^packets\/1\/capturedLength: must be at most 262144/],
    ['frames shorter than the records say', patched((v) => v.setUint32(rec1 + 32, 5, true)), /^packets: the frames take 8 bytes but the packets' capturedLength add up to 9/],
    ['payloadLength past int4', patched((v) => v.setUint32(rec1 + 44, 0x80000000, true)), /^packets\/1\/payloadLength/],
    ['session 0', patched((v) => v.setUint32(rec1 + 48, 0, true)), /^packets\/1\/sessionId: must be from 1/],
    ['tcpFlags past 12 bits', patched((v) => v.setUint16(rec1 + 56, 0x1000, true)), /^packets\/1\/tcpFlags: must be at most 4095/],
    ['an unknown field flag', patched((v) => v.setUint16(rec1 + 60, v.getUint16(rec1 + 60, true) | 0x8000, true)), /^packets\/1: unknown fields/],
    ['a direction flag without a direction', patched((v) => v.setUint16(rec1 + 60, (v.getUint16(rec1 + 60, true) & ~128) | 256, true)), /^packets\/1\/dir: a direction flag without a direction/],
    ['too many tcpAnalysis items', patched((v) => v.setUint16(rec1 + 62, 9, true)), /^packets\/1\/tcpAnalysis: at most 8 items/],
    ['tcpAnalysis past the end', patched((v) => v.setUint16(rec1 + 62, 3, true)), /^packets: packet 1 runs past the end|frames take/],
    ['frames left over', new Uint8Array([...good, 0]), /^packets: the frames take 9 bytes but the packets' capturedLength add up to 8/],
  ];
  for (const [name, block, expected] of cases) {
    const r = decodePacketBlock(block);
    assert.equal(r.ok, false, name);
    assert.match(r.ok ? '' : r.error, expected, name);
  }
  // Texts past their field's limit (the limit counts characters, as the schema does).
  const long = (over: Partial<BatchPacket>, re: RegExp): void => {
    const r = decodePacketBlock(encodePacketBlock([packet(over)]));
    assert.match(r.ok ? 'accepted' : r.error, re);
  };
  long({ src: 'a'.repeat(65) }, /^packets\/0\/src: must be at most 64 characters \(has 65\)/);
  long({ protocol: 'P'.repeat(33) }, /^packets\/0\/protocol: must be at most 32/);
  long({ info: 'é'.repeat(20_001) }, /^packets\/0\/info: must be at most 20000 characters \(has 20001\)/);
  long({ tcpAnalysis: ['x'.repeat(33)] }, /^packets\/0\/tcpAnalysis\/0: must be at most 32/);
});

test('bytes that are not UTF-8 decode to U+FFFD, not to an error or to other text', () => {
  const block = encodePacketBlock([packet({ info: 'AB' })]);
  // The strings come first: "192.0.2.10", "198.51.100.25", "SMTP", then "AB".
  const at = block.indexOf(0x41);
  block[at] = 0xff;
  const r = decodePacketBlock(block);
  assert.ok(r.ok);
  assert.equal(r.packets[0]!.info, '\ufffdB');
  const b = decodePacketBlock(Buffer.from(block));
  assert.equal(b.ok && b.packets[0]!.info, '\ufffdB');
});

test('no truncation and no byte changed makes the decoder throw or read past the block', () => {
  const block = encodePacketBlock([packet(), packet({ no: 2, tcpAnalysis: ['retransmission'], info: 'ü'.repeat(80) }), packet({ no: 3, raw: new Uint8Array(40) })]);
  let refused = 0;
  for (let n = 0; n < block.byteLength; n++) {
    const r = decodePacketBlock(block.subarray(0, n));
    if (!r.ok) refused++;
  }
  // Every strict prefix is refused: the block says exactly how long it is.
  assert.equal(refused, block.byteLength);
  let seed = 42;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  for (let k = 0; k < 3000; k++) {
    const b = block.slice();
    for (let f = 0; f < 1 + Math.floor(rand() * 4); f++) b[Math.floor(rand() * b.byteLength)] = Math.floor(rand() * 256);
    const r = decodePacketBlock(b);
    if (r.ok) for (const p of r.packets) assert.ok(p.raw.byteOffset + p.raw.byteLength <= b.byteOffset + b.byteLength);
  }
});

test('batchPacket: every field named in one order, capturedLength from the frame, tcpAnalysis cut to its limit', () => {
  const { type: _t, linkType: _l, raw: _r, capturedLength: _c, ...engine } = packet({ tcpAnalysis: Array.from({ length: 10 }, (_, i) => `a${i}`) });
  const p = batchPacket(engine, 113, new Uint8Array(7));
  assert.equal(p.capturedLength, 7);
  assert.equal(p.linkType, 113);
  assert.deepEqual(p.tcpAnalysis, ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7']);
  const bare = batchPacket({ no: 2, ts: 0, src: '', dst: '', protocol: 'ARP', length: 42, info: 'ARP' }, 1, new Uint8Array(3));
  assert.deepEqual(Object.keys(bare), Object.keys(p), 'the same keys whatever the engine gave');
  assert.equal(bare.srcPort, undefined);
  const r = decodePacketBlock(encodePacketBlock([p, bare]));
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal('srcPort' in r.packets[1]!, false);
});
