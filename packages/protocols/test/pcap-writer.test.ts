import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PcapWriter, writePcap } from '../src/pcap-writer.ts';
import { CaptureReader } from '../src/capture-reader.ts';
import { decodeFrame } from '../src/packet-decoder.ts';
import type { Frame } from '../src/types.ts';
import { concat, ethernetIpv4Tcp, pcapFile } from '../fixtures/frame-builder.ts';
import { T0 } from '../fixtures/make-fixtures.ts';

function readAll(bytes: Uint8Array): { frames: { ts: number; linkType: number; data: Uint8Array; origLen: number }[]; error: unknown; format: unknown } {
  const r = new CaptureReader();
  const frames: { ts: number; linkType: number; data: Uint8Array; origLen: number }[] = [];
  r.push(bytes, (f: Frame) => frames.push({ ts: f.ts, linkType: f.linkType, data: f.data.slice(), origLen: f.origLen }));
  return { frames, error: r.end(), format: r.format };
}

const frames = [0, 1, 2].map((i) => ({
  ts: T0 + i * 999_999 + 1,
  data: ethernetIpv4Tcp({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 1000 + i, dstPort: 25, seq: i, ack: 0, flags: 0x18, payload: 'DATA\r\n'.repeat(i) }),
}));

test('writePcap → CaptureReader round trip keeps timestamps, bytes, lengths and link type', () => {
  const file = writePcap(1, [...frames, { ts: T0 + 5_000_000, data: frames[0]!.data, origLen: 1514 }]);
  const { frames: read, error, format } = readAll(file);
  assert.equal(error, undefined);
  assert.equal(format, 'pcap');
  assert.deepEqual(
    read.map((f) => [f.ts, f.linkType, f.origLen]),
    [...frames.map((f) => [f.ts, 1, f.data.length]), [T0 + 5_000_000, 1, 1514]],
  );
  read.forEach((f, i) => assert.deepEqual(f.data, (frames[i] ?? frames[0]!).data));
  const d = decodeFrame(read[2]!.linkType, read[2]!.data);
  assert.ok(d.ok && d.tcp.srcPort === 1002);
});

test('writer output is byte-identical to the independent fixture writer', () => {
  assert.deepEqual(writePcap(1, frames), pcapFile({ linkType: 1, frames }));
});

test('PcapWriter piecewise with nanosecond timestamps and a snap length', () => {
  const w = new PcapWriter(101, { nanosecond: true, snaplen: 40 });
  const big = new Uint8Array(100).fill(7);
  const file = concat(w.header(), w.record(T0 + 123_456, big), w.record(T0 + 1, big.subarray(0, 10), 10));
  const { frames: read, error } = readAll(file);
  assert.equal(error, undefined);
  assert.deepEqual(read.map((f) => [f.ts, f.linkType, f.data.length, f.origLen]), [
    [T0 + 123_456, 101, 40, 100],
    [T0 + 1, 101, 10, 10],
  ]);
  const hv = new DataView(file.buffer);
  assert.equal(hv.getUint32(0, true), 0xa1b23c4d);
  assert.equal(hv.getUint32(16, true), 40);
  assert.equal(hv.getUint32(24 + 4, true), 123_456_000, 'fraction written in ns');
});

test('negative and fractional timestamps are clamped and floored, not wrapped', () => {
  const w = new PcapWriter(1);
  const r1 = new DataView(w.record(-5, new Uint8Array(1)).buffer);
  assert.deepEqual([r1.getUint32(0, true), r1.getUint32(4, true)], [0, 0]);
  const r2 = new DataView(w.record(1_500_000.9, new Uint8Array(1)).buffer);
  assert.deepEqual([r2.getUint32(0, true), r2.getUint32(4, true)], [1, 500_000]);
});
