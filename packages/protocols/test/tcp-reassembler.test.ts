/**
 * TcpReassembler as tables: segments in, handler calls out, plus the analysis of every segment.
 * Client 192.0.2.1:40000 (ISN 1000 unless said), server 192.0.2.2:25 (ISN 5000).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { latin1, Recorder, run, SERVER, tcp } from './tcp-reassembler-helpers.ts';
import type { Seg } from './tcp-reassembler-helpers.ts';
import { TcpReassembler, tupleHash } from '../src/tcp-reassembler.ts';
import type { TcpReassemblerOptions } from '../src/tcp-reassembler.ts';

const OPEN = 'open #1 192.0.2.1:40000>192.0.2.2:25 syn=true f1';
/** SYN, SYN+ACK, ACK: client ISN 1000 (data from 1001), server ISN 5000 (data from 5001). */
const HANDSHAKE: readonly Seg[] = [
  { from: 'c', flags: 'S', seq: 1000 },
  { from: 's', flags: 'SA', seq: 5000, ack: 1001 },
  { from: 'c', flags: 'A', seq: 1001, ack: 5001 },
];

interface Case {
  readonly name: string;
  readonly segs: readonly Seg[];
  readonly opts?: TcpReassemblerOptions & { untracked?: number[] };
  /** Call end() after the last segment. */
  readonly end?: boolean;
  readonly want: readonly string[];
  /** Analysis by frame number, joined with ','; frames not listed must have none. */
  readonly analysis?: Readonly<Record<number, string>>;
  /** Expected relSeq / relAck by frame. */
  readonly rel?: Readonly<Record<number, readonly [number, number]>>;
  /** Expected connection id by frame (undefined = no connection). */
  readonly connOf?: Readonly<Record<number, number | undefined>>;
  readonly stats?: Readonly<Record<string, number>>;
}

function check(c: Case): void {
  const { log, verdicts, r } = run(c.segs, { ...c.opts, end: c.end ?? false });
  assert.deepEqual(log, c.want);
  const got: Record<number, string> = {};
  verdicts.forEach((v, i) => {
    if (v.analysis.length > 0) got[i + 1] = v.analysis.join(',');
  });
  assert.deepEqual(got, c.analysis ?? {}, 'analysis by frame');
  for (const [frame, [relSeq, relAck]] of Object.entries(c.rel ?? {})) {
    const v = verdicts[Number(frame) - 1]!;
    assert.deepEqual([v.relSeq, v.relAck], [relSeq, relAck], `rel of frame ${frame}`);
  }
  for (const [frame, id] of Object.entries(c.connOf ?? {})) {
    assert.equal(verdicts[Number(frame) - 1]!.conn?.id, id, `connection of frame ${frame}`);
  }
  for (const [k, v] of Object.entries(c.stats ?? {})) {
    assert.equal((r.stats as unknown as Record<string, number>)[k], v, `stats.${k}`);
  }
}

function table(title: string, cases: readonly Case[]): void {
  describe(title, () => {
    for (const c of cases) it(c.name, () => check(c));
  });
}

table('in-order delivery', [
  {
    name: 'each direction in order, each piece with the frame that carried it',
    segs: [
      ...HANDSHAKE,
      { from: 's', flags: 'PA', seq: 5001, ack: 1001, data: '220 hi\r\n' },
      { from: 'c', flags: 'PA', seq: 1001, ack: 5009, data: 'EHLO x\r\n' },
      { from: 's', flags: 'PA', seq: 5009, ack: 1009, data: '250 ok\r\n' },
    ],
    end: true,
    want: [OPEN, '#1 s data "220 hi\\r\\n" f4', '#1 c data "EHLO x\\r\\n" f5', '#1 s data "250 ok\\r\\n" f6', '#1 close end-of-capture'],
    rel: { 1: [0, 0], 2: [0, 1], 3: [1, 1], 4: [1, 1], 5: [1, 9], 6: [9, 9] },
    stats: { connections: 1, open: 0, gaps: 0, retransmissions: 0, bufferedBytes: 0 },
  },
]);

table('out-of-order', [
  {
    name: 'buffered until the hole fills, then delivered in sequence order',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
      { from: 'c', flags: 'PA', seq: 1010, ack: 5001, data: 'jkl' },
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'def' },
    ],
    want: [OPEN, '#1 c data "abc" f4', '#1 c data "def" f7', '#1 c data "ghi" f5', '#1 c data "jkl" f6'],
    analysis: { 5: 'out-of-order', 6: 'out-of-order' },
    stats: { outOfOrder: 2, bufferedBytes: 0, gaps: 0 },
  },
]);

table('retransmission', [
  {
    name: 'old data is reported and never delivered twice, delivered or buffered',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'def' },
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'def' },
      { from: 'c', flags: 'S', seq: 1000 },
    ],
    want: [OPEN, '#1 c data "abc" f4', '#1 c data "def" f8', '#1 c data "ghi" f6'],
    analysis: { 5: 'retransmission', 6: 'out-of-order', 7: 'retransmission', 9: 'retransmission', 10: 'retransmission' },
    stats: { retransmissions: 4, connections: 1 },
  },
]);

table('overlap', [
  {
    name: 'a partial overlap delivers only the new bytes',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abcd' },
      { from: 'c', flags: 'PA', seq: 1003, ack: 5001, data: 'cdef' },
    ],
    want: [OPEN, '#1 c data "abcd" f4', '#1 c data "ef" f5'],
    analysis: { 5: 'overlap' },
  },
  {
    name: 'overlapping buffered bytes: the first copy wins, a difference is an anomaly',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'jkl' },
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'ghiJKLm' },
    ],
    want: [OPEN, '#1 c data "abc" f4', '#1 anomaly TCP_OVERLAP_MISMATCH', '#1 c data "ghi" f6', '#1 c data "jkl" f5', '#1 c data "m" f6'],
    analysis: { 5: 'out-of-order', 6: 'overlap' },
  },
  {
    name: 'overlapping buffered bytes that agree raise no anomaly',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'jkl' },
      { from: 'c', flags: 'PA', seq: 1005, ack: 5001, data: 'hijklm' },
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'defg' },
    ],
    want: [OPEN, '#1 c data "defg" f6', '#1 c data "hi" f5', '#1 c data "jkl" f4', '#1 c data "m" f5'],
    analysis: { 4: 'out-of-order', 5: 'out-of-order,overlap' },
  },
]);

const NEAR = 2 ** 32 - 6;
table('sequence wraparound', [
  {
    name: 'ISN near 2^32: data across the wrap, out of order across it, ACK across it',
    segs: [
      { from: 'c', flags: 'S', seq: NEAR },
      { from: 's', flags: 'SA', seq: 2 ** 32 - 1, ack: NEAR + 1 },
      { from: 'c', flags: 'A', seq: NEAR + 1, ack: 0 },
      { from: 'c', flags: 'PA', seq: 3, ack: 0, data: 'ijk' },
      { from: 'c', flags: 'PA', seq: NEAR + 1, ack: 0, data: 'abcdefgh' },
      { from: 's', flags: 'PA', seq: 0, ack: 6, data: 'ok' },
      { from: 'c', flags: 'PA', seq: 6, ack: 2, data: 'lm' },
      { from: 'c', flags: 'PA', seq: NEAR + 5, ack: 2, data: 'efgh' },
    ],
    want: [OPEN, '#1 c data "abcdefgh" f5', '#1 c data "ijk" f4', '#1 s data "ok" f6', '#1 c data "lm" f7'],
    analysis: { 4: 'out-of-order', 8: 'retransmission' },
    rel: { 4: [9, 1], 5: [1, 1], 6: [1, 12], 7: [12, 3] },
  },
  {
    name: 'the ACK that reveals a hole counts across the wrap',
    segs: [
      { from: 'c', flags: 'S', seq: NEAR },
      { from: 's', flags: 'SA', seq: 7, ack: NEAR + 1 },
      { from: 'c', flags: 'PA', seq: 1, ack: 8, data: 'xy' },
      { from: 's', flags: 'A', seq: 8, ack: 3 },
      { from: 's', flags: 'PA', seq: 8, ack: 3, data: 'ok' },
    ],
    want: [OPEN, '#1 c gap 6', '#1 c data "xy" f3', '#1 s data "ok" f5'],
    analysis: { 3: 'out-of-order' },
  },
]);

table('mid-stream pickup', [
  {
    name: 'no SYN: each direction starts at its first seen seq; the lower port is the server',
    segs: [
      { from: 's', flags: 'PA', seq: 70000, ack: 3000, data: '250 ok\r\n' },
      { from: 'c', flags: 'PA', seq: 3000, ack: 70008, data: 'QUIT\r\n' },
      { from: 's', flags: 'PA', seq: 70008, ack: 3006, data: '221 bye\r\n' },
    ],
    want: [
      'open #1 192.0.2.1:40000>192.0.2.2:25 syn=false f1',
      '#1 s data "250 ok\\r\\n" f1',
      '#1 c data "QUIT\\r\\n" f2',
      '#1 s data "221 bye\\r\\n" f3',
    ],
    rel: { 1: [1, 0], 2: [1, 9], 3: [9, 7] },
  },
  {
    name: 'an older segment after pickup is old data, not a new start',
    segs: [
      { from: 'c', flags: 'PA', seq: 3000, ack: 1, data: 'BBB' },
      { from: 'c', flags: 'PA', seq: 2997, ack: 1, data: 'AAA' },
      { from: 'c', flags: 'PA', seq: 3003, ack: 1, data: 'CCC' },
    ],
    want: ['open #1 192.0.2.1:40000>192.0.2.2:25 syn=false f1', '#1 c data "BBB" f1', '#1 c data "CCC" f3'],
    analysis: { 2: 'retransmission' },
  },
]);

table('client / server choice', [
  {
    name: 'the sender of a SYN without ACK is the client, whatever the ports',
    segs: [{ from: 's', flags: 'S', seq: 1, src: { addr: '192.0.2.2', port: 25 }, dst: { addr: '192.0.2.1', port: 40000 } }],
    want: ['open #1 192.0.2.2:25>192.0.2.1:40000 syn=true f1'],
  },
  {
    name: 'the receiver of a SYN+ACK is the client (its SYN was missed; its ISN comes from the ACK)',
    segs: [
      { from: 's', flags: 'SA', seq: 5000, ack: 1001 },
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'hi' },
    ],
    want: ['open #1 192.0.2.1:40000>192.0.2.2:25 syn=true f1', '#1 c data "hi" f2'],
    rel: { 1: [0, 1], 2: [1, 1] },
  },
  {
    name: 'mid-stream: isServerPort picks the server even when its port is the higher one',
    segs: [{ from: 'c', flags: 'A', seq: 1, ack: 1, src: { addr: '192.0.2.9', port: 1025 }, dst: { addr: '192.0.2.8', port: 2525 } }],
    opts: { isServerPort: (p) => p === 2525 },
    want: ['open #1 192.0.2.9:1025>192.0.2.8:2525 syn=false f1'],
  },
  {
    name: 'mid-stream: without a server-port match the lower port is the server',
    segs: [{ from: 'c', flags: 'A', seq: 1, ack: 1, src: { addr: '192.0.2.9', port: 1025 }, dst: { addr: '192.0.2.8', port: 2525 } }],
    want: ['open #1 192.0.2.8:2525>192.0.2.9:1025 syn=false f1'],
  },
  {
    name: 'mid-stream: when both ports are server ports, the lower one is the server',
    segs: [{ from: 'c', flags: 'A', seq: 1, ack: 1, src: { addr: '192.0.2.9', port: 25 }, dst: { addr: '192.0.2.8', port: 587 } }],
    opts: { isServerPort: (p) => p === 25 || p === 587 },
    want: ['open #1 192.0.2.8:587>192.0.2.9:25 syn=false f1'],
  },
]);

table('SYN data (TCP Fast Open)', [
  {
    name: 'data on the SYN is delivered; the SYN takes one sequence number',
    segs: [
      { from: 'c', flags: 'S', seq: 1000, data: 'EHLO' },
      { from: 's', flags: 'SA', seq: 5000, ack: 1005, data: '220' },
      { from: 'c', flags: 'PA', seq: 1005, ack: 5004, data: '!' },
    ],
    want: [OPEN, '#1 c data "EHLO" f1', '#1 s data "220" f2', '#1 c data "!" f3'],
    rel: { 1: [0, 0], 2: [0, 5], 3: [5, 4] },
  },
]);

table('gaps', [
  {
    name: 'the other side ACKs beyond a hole, then speaks: gap up to the ACK, the buffered data, then its bytes',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
      { from: 's', flags: 'A', seq: 5001, ack: 1010 },
      { from: 's', flags: 'A', seq: 5001, ack: 1015 },
      { from: 'c', flags: 'PA', seq: 1015, ack: 5001, data: 'p' },
      { from: 's', flags: 'PA', seq: 5001, ack: 1016, data: '250' },
      { from: 'c', flags: 'PA', seq: 1004, ack: 5004, data: 'def' },
    ],
    want: [OPEN, '#1 c data "abc" f4', '#1 c gap 3', '#1 c data "ghi" f5', '#1 c gap 5', '#1 c data "p" f8', '#1 s data "250" f9'],
    analysis: { 5: 'out-of-order', 8: 'out-of-order', 10: 'retransmission' },
    stats: { gaps: 2, gapBytes: 8 },
  },
  {
    name: 'the ACK is captured before the data it covers (busy capture host): no gap, the late data is delivered',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 's', flags: 'A', seq: 5001, ack: 1010 },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'def' },
      { from: 's', flags: 'PA', seq: 5001, ack: 1010, data: '250' },
    ],
    want: [OPEN, '#1 c data "abc" f4', '#1 c data "def" f7', '#1 c data "ghi" f6', '#1 s data "250" f8'],
    analysis: { 6: 'out-of-order' },
    stats: { gaps: 0 },
  },
  {
    name: 'an ACK past a hole that nobody fills and the acknowledging side never speaks: gap at the end',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
      { from: 's', flags: 'A', seq: 5001, ack: 1010 },
    ],
    end: true,
    want: [OPEN, '#1 c data "abc" f4', '#1 c gap 3', '#1 c data "ghi" f5', '#1 close end-of-capture'],
    analysis: { 5: 'out-of-order' },
    stats: { gaps: 1, gapBytes: 3 },
  },
  {
    name: 'ACK inside the buffered data: gap to the hole end, the buffered data, no more',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'def' },
      { from: 'c', flags: 'PA', seq: 1010, ack: 5001, data: 'jkl' },
      { from: 's', flags: 'PA', seq: 5001, ack: 1005, data: '+' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5002, data: 'ghi' },
    ],
    want: [OPEN, '#1 c gap 3', '#1 c data "def" f4', '#1 s data "+" f6', '#1 c data "ghi" f7', '#1 c data "jkl" f5'],
    analysis: { 4: 'out-of-order', 5: 'out-of-order' },
  },
  {
    name: 'a FIN behind a hole waits; the ACK of the FIN declares the gap, both FINs close',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
      { from: 'c', flags: 'FA', seq: 1010, ack: 5001 },
      { from: 's', flags: 'FA', seq: 5001, ack: 1011 },
      { from: 'c', flags: 'A', seq: 1011, ack: 5002 },
    ],
    want: [OPEN, '#1 c data "abc" f4', '#1 c gap 3', '#1 c data "ghi" f5', '#1 close fin'],
    analysis: { 5: 'out-of-order', 6: 'out-of-order' },
    connOf: { 8: 1 },
  },
  {
    name: 'a FIN behind a hole, then the hole fills: no gap',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'def' },
      { from: 'c', flags: 'FA', seq: 1007, ack: 5001 },
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 's', flags: 'FA', seq: 5001, ack: 1008 },
      { from: 'c', flags: 'A', seq: 1008, ack: 5002 },
    ],
    want: [OPEN, '#1 c data "abc" f6', '#1 c data "def" f4', '#1 close fin'],
    analysis: { 4: 'out-of-order', 5: 'out-of-order' },
    stats: { gaps: 0 },
  },
  {
    name: 'a FIN one byte past a hole waits for that byte',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'ab' },
      { from: 'c', flags: 'FA', seq: 1004, ack: 5001 },
      { from: 'c', flags: 'PA', seq: 1003, ack: 5001, data: 'c' },
      { from: 's', flags: 'FA', seq: 5001, ack: 1005 },
    ],
    want: [OPEN, '#1 c data "ab" f4', '#1 c data "c" f6', '#1 close fin'],
    analysis: { 5: 'out-of-order' },
  },
  {
    name: 'both FINs with a hole nobody ACKed: the hole waits for its retransmission',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'def' },
      { from: 'c', flags: 'FA', seq: 1007, ack: 5001 },
      { from: 's', flags: 'FA', seq: 5001, ack: 1001 },
      { from: 'c', flags: 'PA', seq: 1001, ack: 5002, data: 'abc' },
    ],
    want: [OPEN, '#1 c data "abc" f7', '#1 c data "def" f4', '#1 close fin'],
    analysis: { 4: 'out-of-order', 5: 'out-of-order' },
    stats: { gaps: 0 },
  },
  {
    name: 'both FINs with a hole nobody ACKed, then the capture ends: gap, data, close(fin)',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'def' },
      { from: 'c', flags: 'FA', seq: 1007, ack: 5001 },
      { from: 's', flags: 'FA', seq: 5001, ack: 1001 },
    ],
    end: true,
    want: [OPEN, '#1 c gap 3', '#1 c data "def" f4', '#1 close fin'],
    analysis: { 4: 'out-of-order', 5: 'out-of-order' },
  },
  {
    name: 'end(): buffered data delivered after a gap, then end-of-capture',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
      { from: 'c', flags: 'PA', seq: 1013, ack: 5001, data: 'mno' },
    ],
    end: true,
    want: [OPEN, '#1 c data "abc" f4', '#1 c gap 3', '#1 c data "ghi" f5', '#1 c gap 3', '#1 c data "mno" f6', '#1 close end-of-capture'],
    analysis: { 5: 'out-of-order', 6: 'out-of-order' },
    stats: { gaps: 2, bufferedBytes: 0, open: 0 },
  },
  {
    name: 'end() with one FIN delivered closes with fin (session.ts: one FIN and the capture ended)',
    segs: [...HANDSHAKE, { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'QUIT' }, { from: 'c', flags: 'FA', seq: 1005, ack: 5001 }],
    end: true,
    want: [OPEN, '#1 c data "QUIT" f4', '#1 close fin'],
  },
  {
    name: 'snap length cut the payload: the missing tail is a gap, in order and out of order',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc', wire: 10 },
      { from: 'c', flags: 'PA', seq: 1021, ack: 5001, data: 'uv', wire: 5 },
      { from: 'c', flags: 'PA', seq: 1011, ack: 5001, data: 'klmnopqrst' },
      { from: 'c', flags: 'PA', seq: 1026, ack: 5001, data: 'z' },
    ],
    want: [OPEN, '#1 c data "abc" f4', '#1 c gap 7', '#1 c data "klmnopqrst" f6', '#1 c data "uv" f5', '#1 c gap 3', '#1 c data "z" f7'],
    analysis: { 5: 'out-of-order' },
    stats: { gaps: 2, gapBytes: 10 },
  },
]);

table('buffer limits', [
  {
    name: 'per direction: past the limit the first hole is a gap',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1101, ack: 5001, data: 'a'.repeat(100) },
      { from: 'c', flags: 'PA', seq: 1201, ack: 5001, data: 'b'.repeat(100) },
      { from: 'c', flags: 'PA', seq: 1401, ack: 5001, data: 'd'.repeat(100) },
      { from: 'c', flags: 'PA', seq: 1301, ack: 5001, data: 'c'.repeat(100) },
    ],
    opts: { limits: { maxBufferedBytesPerDirection: 250 } },
    want: [
      OPEN,
      '#1 anomaly TCP_BUFFER_LIMIT',
      '#1 c gap 100',
      `#1 c data "${'a'.repeat(100)}" f4`,
      `#1 c data "${'b'.repeat(100)}" f5`,
      `#1 c data "${'c'.repeat(100)}" f7`,
      `#1 c data "${'d'.repeat(100)}" f6`,
    ],
    analysis: { 4: 'out-of-order', 5: 'out-of-order', 6: 'out-of-order' },
    stats: { bufferedBytes: 0, gaps: 1 },
  },
  {
    name: 'tiny segments are charged at least 64 bytes each',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1003, ack: 5001, data: 'b' },
      { from: 'c', flags: 'PA', seq: 1005, ack: 5001, data: 'd' },
    ],
    opts: { limits: { maxBufferedBytesPerDirection: 100 } },
    want: [OPEN, '#1 anomaly TCP_BUFFER_LIMIT', '#1 c gap 2', '#1 c data "b" f4'],
    analysis: { 4: 'out-of-order', 5: 'out-of-order' },
    stats: { bufferedBytes: 64 },
  },
  {
    name: 'in total: the connection that adds past the limit gives up its holes',
    segs: [
      { from: 'c', flags: 'PA', seq: 200, ack: 1, data: 'x' },
      { from: 'c', flags: 'PA', seq: 300, ack: 1, data: 'w'.repeat(100) },
      { from: 'c', flags: 'PA', seq: 100, ack: 1, data: 'y', src: { addr: '192.0.2.7', port: 50000 } },
      { from: 'c', flags: 'PA', seq: 200, ack: 1, data: 'z'.repeat(100), src: { addr: '192.0.2.7', port: 50000 } },
    ],
    opts: { limits: { maxBufferedBytesTotal: 150 } },
    want: [
      'open #1 192.0.2.1:40000>192.0.2.2:25 syn=false f1',
      '#1 c data "x" f1',
      'open #2 192.0.2.7:50000>192.0.2.2:25 syn=false f3',
      '#2 c data "y" f3',
      '#2 anomaly TCP_BUFFER_LIMIT',
      '#2 c gap 99',
      `#2 c data "${'z'.repeat(100)}" f4`,
    ],
    analysis: { 2: 'out-of-order', 4: 'out-of-order' },
    stats: { bufferedBytes: 100 },
  },
]);

table('RST', [
  {
    name: 'RST mid-stream: what can be delivered is, holes are gaps, then close(rst); later packets are recognised',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
      { from: 's', flags: 'RA', seq: 5001, ack: 1004 },
      { from: 'c', flags: 'PA', seq: 1010, ack: 5001, data: 'late' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
    ],
    want: [OPEN, '#1 c data "abc" f4', '#1 c gap 3', '#1 c data "ghi" f5', '#1 close rst'],
    analysis: { 5: 'out-of-order', 8: 'retransmission' },
    connOf: { 6: 1, 7: 1, 8: 1 },
    stats: { connections: 1, open: 0 },
  },
  {
    name: 'a RST of an unknown connection opens nothing',
    segs: [{ from: 's', flags: 'RA', seq: 0, ack: 77 }],
    want: [],
    connOf: { 1: undefined },
    rel: { 1: [0, 77] },
    stats: { connections: 0 },
  },
]);

table('FIN', [
  {
    name: 'both FINs: close(fin) once both are delivered; trailing ACK and retransmitted FIN are recognised',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'QUIT\r\n' },
      { from: 's', flags: 'PA', seq: 5001, ack: 1007, data: '221\r\n' },
      { from: 's', flags: 'FA', seq: 5006, ack: 1007 },
      { from: 'c', flags: 'FA', seq: 1007, ack: 5007 },
      { from: 's', flags: 'A', seq: 5007, ack: 1008 },
      { from: 'c', flags: 'FA', seq: 1007, ack: 5007 },
    ],
    want: [OPEN, '#1 c data "QUIT\\r\\n" f4', '#1 s data "221\\r\\n" f5', '#1 close fin'],
    analysis: { 9: 'retransmission' },
    connOf: { 8: 1, 9: 1 },
    rel: { 6: [6, 7], 7: [7, 7], 8: [7, 8] },
    stats: { connections: 1, open: 0 },
  },
  {
    name: 'data beyond the FIN is dropped with an anomaly',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'FPA', seq: 1001, ack: 5001, data: 'ab' },
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'zz' },
    ],
    want: [OPEN, '#1 c data "ab" f4', '#1 anomaly TCP_DATA_AFTER_FIN'],
  },
]);

table('reused 4-tuple', [
  {
    name: 'a SYN on a closed connection opens a new one',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'FA', seq: 1001, ack: 5001 },
      { from: 's', flags: 'FA', seq: 5001, ack: 1002 },
      { from: 'c', flags: 'A', seq: 1002, ack: 5002 },
      { from: 'c', flags: 'S', seq: 90000 },
      { from: 's', flags: 'SA', seq: 7000, ack: 90001 },
      { from: 'c', flags: 'PA', seq: 90001, ack: 7001, data: 'again' },
    ],
    want: [OPEN, '#1 close fin', 'open #2 192.0.2.1:40000>192.0.2.2:25 syn=true f7', '#2 c data "again" f9'],
    connOf: { 6: 1, 7: 2, 9: 2 },
  },
  {
    name: 'a SYN with a new ISN on an open connection closes it (reused) and opens a new one',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1007, ack: 5001, data: 'ghi' },
      { from: 'c', flags: 'S', seq: 90000 },
      { from: 'c', flags: 'S', seq: 90000 },
    ],
    want: [OPEN, '#1 c data "abc" f4', '#1 c gap 3', '#1 c data "ghi" f5', '#1 close reused', 'open #2 192.0.2.1:40000>192.0.2.2:25 syn=true f6'],
    analysis: { 5: 'out-of-order', 7: 'retransmission' },
    connOf: { 6: 2, 7: 2 },
  },
  {
    name: 'a packet far from where a closed connection stopped starts a new (mid-stream) one',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'RA', seq: 1001, ack: 5001 },
      { from: 'c', flags: 'PA', seq: 3_000_000_000, ack: 1, data: 'x' },
    ],
    want: [OPEN, '#1 close rst', 'open #2 192.0.2.1:40000>192.0.2.2:25 syn=false f5', '#2 c data "x" f5'],
  },
]);

table('idle timeout', [
  {
    name: 'a connection silent longer than idleTimeoutUs (packet time) closes with timeout',
    segs: [
      { from: 'c', flags: 'PA', seq: 1, ack: 1, data: 'a', ts: 0 },
      { from: 'c', flags: 'PA', seq: 1, ack: 1, data: 'b', ts: 5_000_000, src: { addr: '192.0.2.7', port: 50000 } },
      { from: 'c', flags: 'PA', seq: 2, ack: 1, data: 'c', ts: 10_000_000, src: { addr: '192.0.2.7', port: 50000 } },
      { from: 'c', flags: 'PA', seq: 3, ack: 1, data: 'd', ts: 10_500_001, src: { addr: '192.0.2.7', port: 50000 } },
      { from: 'c', flags: 'PA', seq: 4, ack: 1, data: 'e', ts: 11_000_001, src: { addr: '192.0.2.7', port: 50000 } },
      { from: 'c', flags: 'PA', seq: 2, ack: 1, data: 'f', ts: 12_000_000 },
    ],
    opts: { limits: { idleTimeoutUs: 10_000_000 } },
    want: [
      'open #1 192.0.2.1:40000>192.0.2.2:25 syn=false f1',
      '#1 c data "a" f1',
      'open #2 192.0.2.7:50000>192.0.2.2:25 syn=false f2',
      '#2 c data "b" f2',
      '#2 c data "c" f3',
      '#2 c data "d" f4',
      '#1 close timeout',
      '#2 c data "e" f5',
      'open #3 192.0.2.1:40000>192.0.2.2:25 syn=false f6',
      '#3 c data "f" f6',
    ],
    stats: { open: 2, connections: 3 },
  },
]);

table('connection limit', [
  {
    name: 'past maxConnections the least recently active one is closed (limit)',
    segs: [
      { from: 'c', flags: 'PA', seq: 1, ack: 1, data: 'a', src: { addr: '192.0.2.1', port: 1001 } },
      { from: 'c', flags: 'PA', seq: 1, ack: 1, data: 'b', src: { addr: '192.0.2.1', port: 1002 } },
      { from: 'c', flags: 'PA', seq: 2, ack: 1, data: 'A', src: { addr: '192.0.2.1', port: 1001 } },
      { from: 'c', flags: 'PA', seq: 1, ack: 1, data: 'c', src: { addr: '192.0.2.1', port: 1003 } },
      { from: 'c', flags: 'PA', seq: 2, ack: 1, data: 'B', src: { addr: '192.0.2.1', port: 1002 } },
    ],
    opts: { limits: { maxConnections: 2 } },
    want: [
      'open #1 192.0.2.1:1001>192.0.2.2:25 syn=false f1',
      '#1 c data "a" f1',
      'open #2 192.0.2.1:1002>192.0.2.2:25 syn=false f2',
      '#2 c data "b" f2',
      '#1 c data "A" f3',
      '#2 anomaly TCP_CONNECTION_LIMIT',
      '#2 close limit',
      'open #3 192.0.2.1:1003>192.0.2.2:25 syn=false f4',
      '#3 c data "c" f4',
      '#1 anomaly TCP_CONNECTION_LIMIT',
      '#1 close limit',
      'open #4 192.0.2.1:1002>192.0.2.2:25 syn=false f5',
      '#4 c data "B" f5',
    ],
    stats: { open: 2, connections: 4 },
  },
]);

table('analysis flags', [
  {
    name: 'keep-alive (seq = next - 1, at most one byte) is not delivered; zero window is reported',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'A', seq: 1003, ack: 5001, data: 'c' },
      { from: 'c', flags: 'A', seq: 1003, ack: 5001 },
      { from: 's', flags: 'A', seq: 5001, ack: 1004, win: 0 },
    ],
    want: [OPEN, '#1 c data "abc" f4'],
    analysis: { 5: 'keep-alive', 6: 'keep-alive', 7: 'zero-window' },
  },
]);

table('untracked connections (factory returns null)', [
  {
    name: 'still recognised and analysed, nothing delivered, nothing kept',
    segs: [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', seq: 1004, ack: 5001, data: 'def' },
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, data: 'abc' },
    ],
    opts: { untracked: [1] },
    end: true,
    want: [OPEN],
    analysis: { 4: 'out-of-order', 6: 'retransmission' },
    connOf: { 6: 1 },
    stats: { bufferedBytes: 0, open: 0 },
  },
]);

describe('close is called exactly once per connection', () => {
  it('over a run with every close reason', () => {
    const { rec } = run(
      [
        ...HANDSHAKE,
        { from: 'c', flags: 'S', seq: 99 },
        { from: 'c', flags: 'RA', seq: 100, ack: 0 },
        { from: 'c', flags: 'RA', seq: 100, ack: 0 },
        { from: 'c', flags: 'PA', seq: 1, ack: 1, data: 'x', src: { addr: '192.0.2.5', port: 1 } },
      ],
      { end: true },
    );
    assert.deepEqual([...rec.closes.entries()], [
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
  });
});

describe('ownership of payload bytes', () => {
  it('a buffered payload is a copy: reusing the capture buffer does not change what is delivered', () => {
    const rec = new Recorder();
    const r = new TcpReassembler(rec);
    const buf = latin1('abc');
    r.push(tcp({ from: 'c', flags: 'PA', seq: 100, ack: 1, data: buf }), 1, 1);
    buf.set(latin1('ghi'));
    r.push(tcp({ from: 'c', flags: 'PA', seq: 106, ack: 1, data: buf }), 2, 2);
    buf.set(latin1('xxx'));
    r.push(tcp({ from: 'c', flags: 'PA', seq: 103, ack: 1, data: latin1('def') }), 3, 3);
    assert.deepEqual(rec.log.slice(1), ['#1 c data "abc" f1', '#1 c data "def" f3', '#1 c data "ghi" f2']);
  });
});

describe('connection lookup', () => {
  it('two tuples with the same hash stay two connections, through close and reuse', () => {
    // Birthday search for two client addresses whose tuples to SERVER collide (30-bit hash).
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined && i < 1 << 20; i++) {
      const addr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const h = tupleHash(addr, 40000, SERVER.addr, SERVER.port);
      assert.equal(h, tupleHash(SERVER.addr, SERVER.port, addr, 40000), 'symmetric');
      const other = seen.get(h);
      if (other !== undefined) pair = [other, addr];
      else seen.set(h, addr);
    }
    assert.ok(pair !== undefined, 'a collision exists');
    const [a, b] = pair;
    const A = { addr: a, port: 40000 };
    const B = { addr: b, port: 40000 };
    const { log } = run([
      { from: 'c', flags: 'PA', seq: 1, ack: 1, data: 'a1', src: A },
      { from: 'c', flags: 'PA', seq: 1, ack: 1, data: 'b1', src: B },
      { from: 's', flags: 'PA', seq: 9, ack: 3, data: 'toA', src: SERVER, dst: A },
      { from: 'c', flags: 'RA', seq: 3, ack: 12, src: A },
      { from: 'c', flags: 'PA', seq: 3, ack: 1, data: 'b2', src: B },
      { from: 'c', flags: 'S', seq: 500, src: A },
      { from: 's', flags: 'PA', seq: 1, ack: 5, data: 'toB', src: SERVER, dst: B },
    ]);
    assert.deepEqual(log, [
      `open #1 ${a}:40000>192.0.2.2:25 syn=false f1`,
      '#1 c data "a1" f1',
      `open #2 ${b}:40000>192.0.2.2:25 syn=false f2`,
      '#2 c data "b1" f2',
      '#1 s data "toA" f3',
      '#1 close rst',
      '#2 c data "b2" f5',
      `open #3 ${a}:40000>192.0.2.2:25 syn=true f6`,
      '#2 s data "toB" f7',
    ]);
  });
});
