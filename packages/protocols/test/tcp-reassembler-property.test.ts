/**
 * Randomized properties of TcpReassembler (seeded, so a failure names the seed that reproduces it):
 * two random byte streams cut into random segments, shuffled together with their FINs, partly
 * duplicated and partly re-sent with overlaps, are delivered exactly once each, without a gap; with
 * segments dropped, every maximal run of dropped bytes comes out as one gap of its size once the
 * other side's ACK covers it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { prng, tcp } from './tcp-reassembler-helpers.ts';
import type { Seg } from './tcp-reassembler-helpers.ts';
import { TcpReassembler } from '../src/tcp-reassembler.ts';
import type { StreamHandler } from '../src/session.ts';

interface Piece {
  readonly off: number;
  readonly len: number;
}

/** What one direction delivered: data runs merged, gaps kept apart. */
type Run = { readonly data: number[] } | { readonly gap: number };

class Collector {
  readonly runs: Record<'client' | 'server', Run[]> = { client: [], server: [] };
  readonly events: string[] = [];
  opens = 0;

  handler(): StreamHandler {
    this.opens++;
    const add = (dir: 'client' | 'server', bytes: Uint8Array): void => {
      const runs = this.runs[dir];
      const last = runs[runs.length - 1];
      if (last !== undefined && 'data' in last) last.data.push(...bytes);
      else runs.push({ data: [...bytes] });
    };
    return {
      data: (dir, bytes) => {
        this.events.push('data');
        add(dir, bytes);
      },
      gap: (dir, size) => {
        this.events.push('gap');
        this.runs[dir].push({ gap: size });
      },
      anomaly: (a) => this.events.push(`anomaly ${a.code}`),
      close: (reason) => this.events.push(`close ${reason}`),
    };
  }
}

interface Direction {
  readonly isn: number;
  readonly bytes: Uint8Array;
  readonly pieces: readonly Piece[];
  readonly dropped: ReadonlySet<number>;
}

function makeDirection(rnd: () => number, dropRate: number): Direction {
  // A third of the ISNs sit just below 2^32, so that streams cross the wrap.
  const isn = rnd() < 0.33 ? 2 ** 32 - 1 - Math.floor(rnd() * 3000) : Math.floor(rnd() * 2 ** 32);
  const bytes = new Uint8Array(1 + Math.floor(rnd() * 12000));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
  const pieces: Piece[] = [];
  for (let off = 0; off < bytes.length; ) {
    const len = Math.min(bytes.length - off, rnd() < 0.2 ? 1 + Math.floor(rnd() * 8) : 1 + Math.floor(rnd() * 1460));
    pieces.push({ off, len });
    off += len;
  }
  const dropped = new Set<number>();
  pieces.forEach((_, i) => {
    if (rnd() < dropRate) dropped.add(i);
  });
  return { isn, bytes, pieces, dropped };
}

/** The data segments of a direction: kept pieces, some twice, some re-sent merged with their kept neighbour or cut short. */
function dataSegments(rnd: () => number, d: Direction, from: 'c' | 's', peerIsn: number): Seg[] {
  const segs: Seg[] = [];
  const seg = (off: number, len: number): Seg => ({
    from,
    flags: 'PA',
    seq: (d.isn + 1 + off) >>> 0,
    ack: (peerIsn + 1) >>> 0,
    data: d.bytes.subarray(off, off + len),
  });
  d.pieces.forEach((p, i) => {
    if (d.dropped.has(i)) return;
    segs.push(seg(p.off, p.len));
    const r = rnd();
    if (r < 0.15) segs.push(seg(p.off, p.len));
    else if (r < 0.25) {
      const a = Math.floor(rnd() * p.len);
      segs.push(seg(p.off + a, 1 + Math.floor(rnd() * (p.len - a))));
    } else if (r < 0.35 && i + 1 < d.pieces.length && !d.dropped.has(i + 1)) {
      const q = d.pieces[i + 1]!;
      segs.push(seg(p.off, p.len + q.len));
    }
  });
  return segs;
}

function shuffle<T>(rnd: () => number, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** Expected runs of a direction: data runs, and one gap per maximal run of dropped pieces. */
function expectedRuns(d: Direction): Run[] {
  const runs: Run[] = [];
  d.pieces.forEach((p, i) => {
    const last = runs[runs.length - 1];
    if (d.dropped.has(i)) {
      if (last !== undefined && 'gap' in last) runs[runs.length - 1] = { gap: last.gap + p.len };
      else runs.push({ gap: p.len });
    } else if (last !== undefined && 'data' in last) last.data.push(...d.bytes.subarray(p.off, p.off + p.len));
    else runs.push({ data: [...d.bytes.subarray(p.off, p.off + p.len)] });
  });
  return runs;
}

function scenario(seed: number, dropRate: number): { got: Collector; c: Direction; s: Direction; r: TcpReassembler } {
  const rnd = prng(seed);
  const c = makeDirection(rnd, dropRate);
  const s = makeDirection(rnd, dropRate);
  const cEnd = (c.isn + 1 + c.bytes.length) >>> 0;
  const sEnd = (s.isn + 1 + s.bytes.length) >>> 0;
  const body = shuffle<Seg>(rnd, [
    ...dataSegments(rnd, c, 'c', s.isn),
    ...dataSegments(rnd, s, 's', c.isn),
    { from: 'c', flags: 'FA', seq: cEnd, ack: (s.isn + 1) >>> 0 },
    { from: 's', flags: 'FA', seq: sEnd, ack: (c.isn + 1) >>> 0 },
  ]);
  const segs: Seg[] = [
    { from: 'c', flags: 'S', seq: c.isn },
    { from: 's', flags: 'SA', seq: s.isn, ack: (c.isn + 1) >>> 0 },
    { from: 'c', flags: 'A', seq: (c.isn + 1) >>> 0, ack: (s.isn + 1) >>> 0 },
    ...body,
    // Each side finally acknowledges everything the other sent, FIN included.
    { from: 'c', flags: 'A', seq: (cEnd + 1) >>> 0, ack: (sEnd + 1) >>> 0 },
    { from: 's', flags: 'A', seq: (sEnd + 1) >>> 0, ack: (cEnd + 1) >>> 0 },
  ];
  const got = new Collector();
  const r = new TcpReassembler({ open: () => got.handler() });
  segs.forEach((sg, i) => r.push(tcp(sg), i + 1, 1_000_000 + i));
  r.end(2_000_000 + segs.length);
  return { got, c, s, r };
}

const SEEDS = 200;

describe('reassembler properties (seeded)', () => {
  it(`shuffled, duplicated and overlapping segments deliver each byte exactly once, no gap (${SEEDS} seeds)`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { got, c, s, r } = scenario(seed, 0);
      assert.equal(got.opens, 1, `seed ${seed}: one connection`);
      assert.deepEqual(got.runs.client, [{ data: [...c.bytes] }], `seed ${seed}: client bytes`);
      assert.deepEqual(got.runs.server, [{ data: [...s.bytes] }], `seed ${seed}: server bytes`);
      assert.deepEqual(
        got.events.filter((e) => e !== 'data'),
        ['close fin'],
        `seed ${seed}: no gap, no anomaly, one close`,
      );
      assert.equal(r.stats.bufferedBytes, 0, `seed ${seed}: nothing left buffered`);
    }
  });

  it(`dropped segments come out as gaps of exactly the dropped sizes once ACKed (${SEEDS} seeds)`, () => {
    let gaps = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { got, c, s, r } = scenario(10_000 + seed, 0.15);
      assert.deepEqual(got.runs.client, expectedRuns(c), `seed ${10_000 + seed}: client runs`);
      assert.deepEqual(got.runs.server, expectedRuns(s), `seed ${10_000 + seed}: server runs`);
      const events = got.events.filter((e) => e !== 'data' && e !== 'gap');
      assert.deepEqual(events, ['close fin'], `seed ${10_000 + seed}: one close, no anomaly`);
      assert.equal(r.stats.bufferedBytes, 0);
      gaps += r.stats.gaps;
    }
    // The scenario has to drop something for the property to say anything.
    assert.ok(gaps > SEEDS, `only ${gaps} gaps over ${SEEDS} seeds`);
  });
});
