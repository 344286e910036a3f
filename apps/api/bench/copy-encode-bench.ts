/**
 * Time of the binary COPY encoder for one full batch: 5,000 packets of 500 sessions (frames of
 * 100-1,500 bytes, ASCII info lines), median over 200 runs after 20 warm-up runs.
 *
 *   node --import tsx bench/copy-encode-bench.ts      (in apps/api)
 */
import { performance } from 'node:perf_hooks';
import type { BatchPacket } from '@mailscope/shared';
import { encodePackets } from '../src/ingest/copy-binary.ts';

const FRAMES = Array.from({ length: 512 }, (_, i) => Buffer.alloc(100 + ((i * 7919) % 1400), i));
const packets: BatchPacket[] = [];
for (let no = 1; no <= 5000; no++) {
  const s = Math.ceil(no / 10);
  const raw = FRAMES[no % 512]!;
  packets.push({
    type: 'packet', no, ts: 1_700_000_000_000_000 + no * 100, src: `10.0.${s >> 8}.${s & 255}`, dst: '192.0.2.25', srcPort: 1024 + s, dstPort: 25,
    protocol: no % 10 < 3 ? 'TCP' : 'SMTP', length: raw.length, capturedLength: raw.length, tcpFlags: 24, seq: (no * 7919) >>> 0, ack: (no * 104729) >>> 0,
    payloadLength: raw.length - 54, info: no % 10 < 3 ? '[ACK] Seq=1 Ack=1 Win=502' : `C: MAIL <user${s}@example.com>`, sessionId: s,
    dir: no % 2 ? 'client' : 'server', linkType: 1, raw,
  });
}
const ids = new Map<number, bigint>();
for (let s = 1; s <= 500; s++) ids.set(s, BigInt(1_000_000 + s));
const times: number[] = [];
let bytes = 0;
for (let i = 0; i < 220; i++) {
  const t = performance.now();
  const data = encodePackets('0a1b2c3d-0000-4000-8000-00000000abcd', packets, (e) => ids.get(e));
  if (i >= 20) times.push(performance.now() - t);
  bytes = data.length;
}
times.sort((a, b) => a - b);
const median = times[times.length >> 1]!;
console.log(`encodePackets: ${median.toFixed(2)} ms per batch of ${packets.length} packets (${(bytes / 1048576).toFixed(1)} MiB of COPY data) = ${(median / packets.length * 1000).toFixed(2)} µs per packet, median of ${times.length}`);
