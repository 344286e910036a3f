import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchTimelineEntry } from '../src/agent-protocol.ts';
import { decodeTimelineBlock, encodeTimelineBlock, timelineBlockBound } from '../src/timeline-block.ts';

const RECORD = 40;

function entry(over: Partial<BatchTimelineEntry> = {}): BatchTimelineEntry {
  return { type: 'timeline', sessionId: 7, seq: 1, ts: 1_700_000_000_123_456, dir: 'client', kind: 'command', verb: 'EHLO', arg: 'client.example', frames: [4], ...over };
}

test('a block gives back every entry, optional fields absent where they were, auth with its secrets', () => {
  const entries: BatchTimelineEntry[] = [
    entry(),
    entry({ seq: 2, dir: 'server', kind: 'reply', verb: '250', arg: 'mx.example Hello\r\n250-PIPELINING\r\n250 AUTH LOGIN PLAIN', frames: [5, 6], latencyUs: 1234 }),
    entry({ seq: 3, kind: 'auth', verb: 'AUTH', arg: 'LOGIN', frames: [7, 9, 11], auth: { mechanism: 'LOGIN', user: 'alice', password: 's3cr€t', success: true } }),
    entry({ seq: 4, kind: 'auth', verb: 'AUTH', arg: 'PLAIN', frames: [], auth: { mechanism: 'PLAIN', success: false } }),
    entry({ seq: 5, kind: 'auth', verb: 'AUTH', arg: 'XOAUTH2', auth: { mechanism: 'XOAUTH2', user: 'bob' } }),
    entry({ seq: 6, kind: 'anomaly', verb: 'smtp.line-too-long', arg: 'ü'.repeat(300), ts: 0, latencyUs: 0, sessionId: 0x7fffffff }),
    entry({ seq: 0x7fffffff, kind: 'tls', verb: 'STARTTLS', arg: '', ts: Number.MAX_SAFE_INTEGER }),
  ];
  for (const block of [encodeTimelineBlock(entries), Buffer.from(encodeTimelineBlock(entries))]) {
    const r = decodeTimelineBlock(block);
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.deepEqual(r.entries, entries);
    assert.equal('latencyUs' in r.entries[0]!, false);
    assert.equal('user' in r.entries[3]!.auth!, false);
  }
  assert.deepEqual(decodeTimelineBlock(encodeTimelineBlock([])), { ok: true, entries: [] });
});

test('repeated texts are stored once; timelineBlockBound bounds what an entry adds', () => {
  const one = encodeTimelineBlock([entry()]).byteLength;
  const many = encodeTimelineBlock(Array.from({ length: 50 }, (_, i) => entry({ seq: i + 1 }))).byteLength;
  assert.equal(many - one, 49 * (RECORD + 4));
  const es = [entry(), entry({ seq: 2, arg: 'ü'.repeat(100), auth: { mechanism: 'PLAIN', user: 'u', password: 'p' } })];
  assert.ok(encodeTimelineBlock(es).byteLength <= 12 + es.reduce((n, e) => n + timelineBlockBound(e), 0));
});

test('the encoder refuses a value its field cannot hold; a kind it does not know reaches the API to be refused there', () => {
  for (const over of [{ ts: -1 }, { ts: 1.5 }, { seq: 2 ** 32 }, { frames: [-1] }, { latencyUs: -5 }] as Partial<BatchTimelineEntry>[]) {
    assert.throws(() => encodeTimelineBlock([entry(over)]), RangeError, JSON.stringify(over));
  }
  const r = decodeTimelineBlock(encodeTimelineBlock([entry({ kind: 'chat' as never })]));
  assert.match(r.ok ? '' : r.error, /^timeline\/0\/kind: must be one of "tcp", "command"/);
});

test('refusals name the entry and field, or the part of the block at fault', () => {
  const good = encodeTimelineBlock([entry(), entry({ seq: 2, frames: [5] })]);
  // The second record starts 40 + 4 (its frame) bytes before the end.
  const rec1 = good.byteLength - RECORD - 4;
  const patched = (patch: (v: DataView) => void): Uint8Array => {
    const b = good.slice();
    patch(new DataView(b.buffer));
    return b;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', good.subarray(0, 11), /^timeline: a timeline block has at least 12 bytes/],
    ['wrong magic', patched((v) => v.setUint32(0, 1, true)), /^timeline: not a timeline block/],
    ['too many entries', patched((v) => v.setUint32(4, 20_001, true)), /^timeline: 20001 entries, at most 20000/],
    ['more entries than the block holds', patched((v) => v.setUint32(4, 3, true)), /^timeline: 3 timeline records cannot fit in the block/],
    ['more strings than entries can name', patched((v) => v.setUint32(8, 11, true)), /^timeline: 11 strings for 2 entries, which name at most 10/],
    ['session 0', patched((v) => v.setUint32(rec1, 0, true)), /^timeline\/1\/sessionId: must be from 1/],
    ['seq 0', patched((v) => v.setUint32(rec1 + 4, 0, true)), /^timeline\/1\/seq: must be from 1/],
    ['a negative time', patched((v) => v.setFloat64(rec1 + 8, -1, true)), /^timeline\/1\/ts: must be a whole number/],
    ['a NaN latency', patched((v) => { v.setFloat64(rec1 + 16, Number.NaN, true); v.setUint8(rec1 + 35, 2); }), /^timeline\/1\/latencyUs/],
    ['a verb that does not exist', patched((v) => v.setUint32(rec1 + 24, 99, true)), /^timeline\/1\/verb: string 99 does not exist/],
    ['a kind past the list', patched((v) => v.setUint8(rec1 + 34, 7)), /^timeline\/1\/kind: must be one of/],
    ['an unknown flag', patched((v) => v.setUint8(rec1 + 35, 0x80)), /^timeline\/1: unknown fields/],
    ['auth flags without auth', patched((v) => v.setUint8(rec1 + 35, 8)), /^timeline\/1\/auth: auth flags without auth/],
    ['success without the field', patched((v) => v.setUint8(rec1 + 35, 4 | 64)), /^timeline\/1\/auth\/success: a value without the field/],
    ['too many frames', patched((v) => v.setUint16(rec1 + 32, 1025, true)), /^timeline\/1\/frames: at most 1024 items/],
    ['frames past the end', patched((v) => v.setUint16(rec1 + 32, 2, true)), /^timeline: entry 1 runs past the end/],
    ['frame 0', patched((v) => v.setUint32(rec1 + RECORD, 0, true)), /^timeline\/1\/frames\/0: must be from 1/],
    ['bytes left over', new Uint8Array([...good, 0]), /^timeline: 1 bytes left over/],
  ];
  for (const [name, block, expected] of cases) {
    const r = decodeTimelineBlock(block);
    assert.equal(r.ok, false, name);
    assert.match(r.ok ? '' : r.error, expected, name);
  }
  const long = decodeTimelineBlock(encodeTimelineBlock([entry({ verb: 'V'.repeat(20_001) })]));
  assert.match(long.ok ? '' : long.error, /^timeline\/0\/verb: must be at most 20000 characters/);
  const mech = decodeTimelineBlock(encodeTimelineBlock([entry({ auth: { mechanism: 'M'.repeat(65) } })]));
  assert.match(mech.ok ? '' : mech.error, /^timeline\/0\/auth\/mechanism: must be at most 64/);
});

test('no truncation and no byte changed makes the decoder throw', () => {
  const block = encodeTimelineBlock([entry(), entry({ seq: 2, latencyUs: 5, frames: [1, 2, 3] }), entry({ seq: 3, auth: { mechanism: 'LOGIN', user: 'a', password: 'b', success: true } })]);
  for (let n = 0; n < block.byteLength; n++) assert.equal(decodeTimelineBlock(block.subarray(0, n)).ok, false, `cut at ${n}`);
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  for (let k = 0; k < 3000; k++) {
    const b = block.slice();
    for (let f = 0; f < 1 + Math.floor(rand() * 4); f++) b[Math.floor(rand() * b.byteLength)] = Math.floor(rand() * 256);
    decodeTimelineBlock(b);
  }
});
