import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CaptureReader, type CaptureError } from '../src/capture-reader.ts';
import { decodeFrame } from '../src/packet-decoder.ts';
import type { Frame } from '../src/types.ts';
import { buildFixtures, describeDecode, T0 } from '../fixtures/make-fixtures.ts';
import { concat, ethernetIpv4Tcp, ngBlock, ngEpb, ngIdb, ngShb, pcapFile } from '../fixtures/frame-builder.ts';

interface ReadFrame {
  no: number;
  ts: number;
  linkType: number;
  data: Uint8Array;
  origLen: number;
}

interface ReadResult {
  frames: ReadFrame[];
  error: CaptureError | undefined;
  reader: CaptureReader;
}

/** Reads `bytes` split at `cuts` (ascending offsets), copying every frame. */
function readSplit(bytes: Uint8Array, cuts: number[], limits?: { maxCaptureRecordBytes?: number }): ReadResult {
  const reader = new CaptureReader(limits);
  const frames: ReadFrame[] = [];
  const onFrame = (f: Frame): void => {
    frames.push({ no: f.no, ts: f.ts, linkType: f.linkType, data: f.data.slice(), origLen: f.origLen });
  };
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    reader.push(bytes.subarray(prev, c), onFrame);
    prev = c;
  }
  const error = reader.end();
  return { frames, error, reader };
}

function readWhole(bytes: Uint8Array): ReadResult {
  return readSplit(bytes, []);
}

function everyByte(n: number): number[] {
  return Array.from({ length: Math.max(0, n - 1) }, (_, i) => i + 1);
}

/** Deterministic PRNG (mulberry32) so a failing split can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCuts(n: number, rand: () => number): number[] {
  const cuts = new Set<number>();
  const k = Math.floor(rand() * 12);
  for (let i = 0; i < k; i++) cuts.add(Math.floor(rand() * n));
  return [...cuts].sort((a, b) => a - b);
}

const fixtures = buildFixtures();

test('committed fixtures are what make-fixtures.ts generates', () => {
  for (const f of fixtures) {
    const onDisk = readFileSync(new URL(`../fixtures/${f.name}`, import.meta.url));
    assert.deepEqual(new Uint8Array(onDisk), f.bytes, `${f.name} is stale: run node --import tsx fixtures/make-fixtures.ts`);
  }
});

for (const f of fixtures) {
  test(`fixture ${f.name}: frames, timestamps, link types, decode, error`, () => {
    const { frames, error, reader } = readWhole(f.bytes);
    assert.equal(reader.format, f.expect.format);
    assert.equal(error?.code, f.expect.error);
    assert.equal(reader.warningCount, f.expect.warnings ?? 0);
    assert.deepEqual(
      frames.map((fr) => ({ ts: fr.ts, linkType: fr.linkType, length: fr.data.length, origLen: fr.origLen, decoded: describeDecode(decodeFrame(fr.linkType, fr.data)) })),
      f.expect.frames,
    );
    assert.deepEqual(frames.map((fr) => fr.no), f.expect.frames.map((_, i) => i + 1));
    assert.equal(reader.frameCount, frames.length);
    assert.equal(reader.bytesRead, f.bytes.length);
  });

  test(`fixture ${f.name}: same frames pushed byte by byte and split at random offsets`, () => {
    const whole = readWhole(f.bytes);
    const byByte = readSplit(f.bytes, everyByte(f.bytes.length));
    assert.deepEqual(byByte.frames, whole.frames);
    assert.deepEqual(byByte.error, whole.error);
    const rand = rng(f.bytes.length);
    for (let i = 0; i < 50; i++) {
      const cuts = randomCuts(f.bytes.length, rand);
      const split = readSplit(f.bytes, cuts);
      assert.deepEqual(split.frames, whole.frames, `cuts ${cuts.join(',')}`);
      assert.deepEqual(split.error, whole.error, `cuts ${cuts.join(',')}`);
    }
  });
}

test('truncated file: TRUNCATED at the offset of the partial record, earlier frames delivered', () => {
  const f = fixtures.find((x) => x.name === 'truncated.pcap')!;
  const { frames, error } = readWhole(f.bytes);
  assert.equal(frames.length, 3);
  assert.equal(error?.code, 'TRUNCATED');
  const lastRecord = 24 + frames.reduce((s, fr) => s + 16 + fr.data.length, 0);
  assert.equal(error?.offset, lastRecord);
});

test('truncated inside the file header and inside a record header', () => {
  const whole = fixtures.find((x) => x.name === 'be-us.pcap')!.bytes;
  for (const cut of [1, 3, 10, 23, 24 + 5]) {
    const { frames, error } = readWhole(whole.subarray(0, cut));
    assert.equal(frames.length, 0, `cut ${cut}`);
    assert.equal(error?.code, 'TRUNCATED', `cut ${cut}`);
  }
  const exact = readWhole(whole.subarray(0, 24));
  assert.equal(exact.error, undefined, 'a header with no records is a valid empty capture');
});

test('empty input and garbage are NOT_A_CAPTURE; pushes after a fatal error do nothing', () => {
  assert.equal(readWhole(new Uint8Array(0)).error?.code, 'NOT_A_CAPTURE');
  const r = new CaptureReader();
  let n = 0;
  r.push(new TextEncoder().encode('EHLO mail.example.com\r\n'), () => n++);
  assert.equal(r.error?.code, 'NOT_A_CAPTURE');
  r.push(fixtures[0]!.bytes, () => n++);
  assert.equal(n, 0);
  assert.equal(r.end()?.code, 'NOT_A_CAPTURE');
});

test('record larger than maxCaptureRecordBytes is RECORD_TOO_LARGE after the frames before it', () => {
  const frame = ethernetIpv4Tcp({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 1, dstPort: 25, seq: 1, ack: 1, flags: 0x18, payload: 'x'.repeat(200) });
  const small = ethernetIpv4Tcp({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 1, dstPort: 25, seq: 1, ack: 1, flags: 0x10 });
  const file = pcapFile({ linkType: 1, frames: [{ ts: T0, data: small }, { ts: T0 + 1, data: frame }, { ts: T0 + 2, data: small }] });
  const { frames, error } = readSplit(file, [], { maxCaptureRecordBytes: 100 });
  assert.equal(frames.length, 1);
  assert.equal(error?.code, 'RECORD_TOO_LARGE');
  assert.equal(error?.offset, 24 + 16 + small.length);
  const ok = readSplit(file, [], { maxCaptureRecordBytes: frame.length });
  assert.equal(ok.frames.length, 3);
  assert.equal(ok.error, undefined);
});

test('pcapng blocks with an invalid length are CORRUPT', () => {
  const good = concat(ngShb(), ngIdb(1), ngEpb(0, BigInt(T0), new Uint8Array(60)));
  for (const len of [8, 13, 30]) {
    const bad = ngBlock(0x0bad, new Uint8Array(20));
    new DataView(bad.buffer).setUint32(4, len, true);
    const { frames, error } = readWhole(concat(good, bad));
    assert.equal(frames.length, 1, `length ${len}`);
    assert.equal(error?.code, 'CORRUPT', `length ${len}`);
    assert.equal(error?.offset, good.length, `length ${len}`);
  }
});

test('pcapng EPB whose captured length exceeds its block is skipped with a warning', () => {
  const epb = ngEpb(0, BigInt(T0), new Uint8Array(60));
  new DataView(epb.buffer).setUint32(20, 600, true);
  const r = readWhole(concat(ngShb(), ngIdb(1), epb, ngEpb(0, BigInt(T0 + 5), new Uint8Array(60))));
  assert.equal(r.error, undefined);
  assert.deepEqual(r.frames.map((f) => [f.no, f.ts]), [[1, T0 + 5]]);
  assert.equal(r.reader.warningCount, 1);
  assert.equal(r.reader.warnings[0]?.code, 'CORRUPT');
});

test('pcap link type field: FCS bits are masked off', () => {
  const file = pcapFile({ linkType: 1, frames: [{ ts: T0, data: new Uint8Array(60) }] });
  new DataView(file.buffer).setUint32(20, 0x1 | 0x10000000 | (4 << 28), true);
  assert.equal(readWhole(file).frames[0]?.linkType, 1);
});

test('pcapng timestamp resolutions: 10^-3, 10^-7, 2^-20, and an offset', () => {
  const sec = T0 / 1e6;
  const file = concat(
    ngShb(),
    ngIdb(1, { tsresol: 3 }),
    ngIdb(1, { tsresol: 7 }),
    ngIdb(1, { tsresol: 0x80 | 20 }),
    ngIdb(1, { tsresol: 6, tsoffset: -100 }),
    ngEpb(0, BigInt(sec) * 1000n + 123n, new Uint8Array(20)),
    ngEpb(1, BigInt(sec) * 10_000_000n + 1_234_567n, new Uint8Array(20)),
    ngEpb(2, (BigInt(sec) << 20n) + (1n << 19n), new Uint8Array(20)),
    ngEpb(3, BigInt(T0), new Uint8Array(20)),
  );
  assert.deepEqual(readWhole(file).frames.map((f) => f.ts), [T0 + 123_000, T0 + 123_456, T0 + 500_000, T0 - 100_000_000]);
});

test('Frame.data views do not leak carry bytes: a record spanning chunks equals the original', () => {
  const big = new Uint8Array(5000).map((_, i) => i & 0xff);
  const file = pcapFile({ linkType: 1, frames: [{ ts: T0, data: big }, { ts: T0 + 1, data: big.subarray(0, 100) }] });
  const r = readSplit(file, [30, 2000, 2001, 4999]);
  assert.deepEqual(r.frames[0]?.data, big);
  assert.deepEqual(r.frames[1]?.data, big.subarray(0, 100));
});

test('fuzz: random bytes and mutated captures never throw, and frames stay within limits', () => {
  const rand = rng(12345);
  const seeds = fixtures.map((f) => f.bytes);
  for (let i = 0; i < 3000; i++) {
    let input: Uint8Array;
    if (i % 3 === 0) {
      input = new Uint8Array(Math.floor(rand() * 300)).map(() => Math.floor(rand() * 256));
      if (i % 2 === 0 && input.length >= 4) input.set([0x0a, 0x0d, 0x0d, 0x0a]);
      if (i % 6 === 3 && input.length >= 4) input.set([0xd4, 0xc3, 0xb2, 0xa1]);
    } else {
      const seed = seeds[Math.floor(rand() * seeds.length)]!;
      input = seed.slice();
      const flips = 1 + Math.floor(rand() * 8);
      for (let k = 0; k < flips; k++) input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256);
      if (rand() < 0.3) input = input.subarray(0, Math.floor(rand() * input.length));
    }
    const r = readSplit(input, randomCuts(input.length, rand), { maxCaptureRecordBytes: 4096 });
    for (const f of r.frames) {
      assert.ok(f.data.length <= 4096 + 1024);
      assert.doesNotThrow(() => decodeFrame(f.linkType, f.data));
    }
  }
});

// --- the real corpus -------------------------------------------------------------------------

const corpusDir = new URL('../../../../shared/corpus/', import.meta.url);

interface CorpusRow {
  name: string;
  pkts: number;
  ipv6: number;
  vlan: number;
}

function corpusRows(): CorpusRow[] {
  const tsv = readFileSync(new URL('stats.tsv', corpusDir), 'utf8').trim().split(/\r?\n/);
  const head = tsv[0]!.split('\t');
  const col = (name: string): number => {
    const i = head.indexOf(name);
    assert.ok(i >= 0, `stats.tsv has no ${name} column`);
    return i;
  };
  const [iName, iPkts, iV6, iVlan] = [col('name'), col('pkts'), col('ipv6_frames'), col('vlan_frames')];
  return tsv.slice(1).map((line) => {
    const c = line.split('\t');
    return { name: c[iName]!, pkts: Number(c[iPkts]), ipv6: Number(c[iV6]), vlan: Number(c[iVlan]) };
  });
}

/** Total TCP frames tshark counted in its conversation table (tshark -z conv,tcp). */
function tsharkTcpFrames(name: string): number | undefined {
  const path = new URL(`expected/${name}/tshark/conv_tcp.txt`, corpusDir);
  if (!existsSync(path)) return undefined;
  let total = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /<->\s+\S+\s+(.*)$/.exec(line);
    if (!m) continue;
    const t = m[1]!.trim().split(/\s+/);
    total += Number(t[6]);
  }
  return total;
}

test('corpus: the folder exists where the tests expect it', () => {
  assert.equal(fileURLToPath(new URL('pcaps/', corpusDir)).replace(/\/$/, '').endsWith('/shared/corpus/pcaps'), true);
  assert.ok(
    existsSync(new URL('pcaps/', corpusDir)) && existsSync(new URL('stats.tsv', corpusDir)),
    `corpus not found at ${fileURLToPath(corpusDir)}: the shared corpus must sit in ../shared next to the repository root`,
  );
});

test('corpus: frame counts match stats.tsv, decode never throws, TCP / IPv6 / VLAN counts match', () => {
  assert.ok(existsSync(new URL('stats.tsv', corpusDir)), `corpus not found at ${fileURLToPath(corpusDir)}`);
  const rows = corpusRows();
  const files = readdirSync(new URL('pcaps/', corpusDir));
  assert.ok(rows.length > 0 && files.length === rows.length, `${files.length} files, ${rows.length} rows in stats.tsv`);
  let checkedTcp = 0;
  for (const row of rows) {
    const bytes = new Uint8Array(readFileSync(new URL(`pcaps/${row.name}`, corpusDir)));
    const reader = new CaptureReader();
    let n = 0;
    let tcp = 0;
    let ipv6 = 0;
    let vlan = 0;
    reader.push(bytes, (f) => {
      n++;
      const d = decodeFrame(f.linkType, f.data);
      if (d.ok) {
        tcp++;
        if (d.tcp.ipVersion === 6) ipv6++;
        if (d.tcp.vlans.length > 0) vlan++;
      } else if (d.src?.includes(':')) {
        ipv6++;
      }
    });
    assert.equal(reader.end(), undefined, `${row.name}: ${reader.error?.message}`);
    assert.equal(n, row.pkts, `${row.name}: frames`);
    assert.equal(ipv6, row.ipv6, `${row.name}: IPv6 frames`);
    assert.equal(vlan, row.vlan, `${row.name}: VLAN frames (all of them carry TCP in this corpus)`);
    const expectedTcp = tsharkTcpFrames(row.name);
    if (expectedTcp !== undefined) {
      assert.equal(tcp, expectedTcp, `${row.name}: TCP segments`);
      checkedTcp++;
    }
  }
  assert.ok(checkedTcp > rows.length / 2, `TCP counts checked for ${checkedTcp} captures only`);
});
