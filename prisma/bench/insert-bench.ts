/**
 * rows/s of the three ways to store packets: Prisma createMany, unnest (insertPackets default) and
 * COPY (insertPackets { method: 'copy' }), 200,000 packets of 60-1,500 bytes each into a fresh
 * embedded PostgreSQL (or BENCH_DATABASE_URL). `npm run bench -w @mailscope/db`
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { insertPackets } from '../src/bulk.ts';
import type { PacketRow } from '../src/bulk.ts';
import { openDatabase } from '../src/index.ts';
import type { Database } from '../src/index.ts';

const ROWS = Number(process.argv[2] ?? 200_000);
const SESSIONS = 200;
const CREATE_MANY_CHUNK = 5_000;

function makePackets(n: number): PacketRow[] {
  const rows: PacketRow[] = [];
  for (let i = 0; i < n; i++) {
    const size = 60 + ((i * 7919) % 1441);
    rows.push({
      no: i + 1, ts: 1_700_000_000_000_000 + i * 37, src: '192.0.2.10', dst: '198.51.100.25', srcPort: 40000 + (i % SESSIONS), dstPort: 25,
      protocol: 'SMTP', length: size, capturedLength: size, tcpFlags: 0x18, seq: (i * 1460) % 4_294_967_296, ack: 1, payloadLength: size - 54,
      info: `C: RCPT TO:<user${i}@example.net>`, sessionId: (i % SESSIONS) + 1, dir: 'client', tcpAnalysis: [], linkType: 1,
      raw: new Uint8Array(size).fill(i & 0xff),
    });
  }
  return rows;
}

async function freshCapture(db: Database): Promise<{ captureId: string; sessionIds: Map<number, bigint> }> {
  const capture = await db.prisma.capture.create({ data: { source: 'upload', status: 'analysing' } });
  await db.prisma.session.createMany({
    data: Array.from({ length: SESSIONS }, (_, i) => ({ captureId: capture.id, engineSessionId: i + 1, protocol: 'smtp' as const, clientAddr: '192.0.2.10', clientPort: 40000 + i, serverAddr: '198.51.100.25', serverPort: 25, startTs: 0n })),
  });
  const sessions = await db.prisma.session.findMany({ where: { captureId: capture.id }, select: { id: true, engineSessionId: true } });
  return { captureId: capture.id, sessionIds: new Map(sessions.map((s) => [s.engineSessionId, s.id])) };
}

const dataDir = await mkdtemp(join(tmpdir(), 'mailscope-bench-'));
const db = await openDatabase({ url: process.env.BENCH_DATABASE_URL, dataDir });
try {
  const rows = makePackets(ROWS);
  const mb = rows.reduce((s, r) => s + r.raw.length, 0) / 1e6;
  console.log(`${ROWS} packets, ${mb.toFixed(0)} MB of frame bytes, ${db.embedded ? 'embedded PostgreSQL' : 'BENCH_DATABASE_URL'}`);
  const results: [string, () => Promise<void>][] = [
    ['prisma createMany', async () => {
      const { captureId, sessionIds } = await freshCapture(db);
      for (let i = 0; i < rows.length; i += CREATE_MANY_CHUNK) {
        await db.prisma.packet.createMany({
          skipDuplicates: true,
          data: rows.slice(i, i + CREATE_MANY_CHUNK).map((r) => ({
            captureId, frameNo: r.no, sessionId: sessionIds.get(r.sessionId ?? 0) ?? null, ts: BigInt(r.ts), src: r.src, dst: r.dst, srcPort: r.srcPort ?? null, dstPort: r.dstPort ?? null,
            protocol: r.protocol, length: r.length, capturedLength: r.capturedLength, tcpFlags: r.tcpFlags ?? null, seq: r.seq === undefined ? null : BigInt(r.seq), ack: r.ack === undefined ? null : BigInt(r.ack),
            payloadLength: r.payloadLength ?? null, info: r.info, dir: r.dir ?? null, tcpAnalysis: [...(r.tcpAnalysis ?? [])], linkType: r.linkType, raw: r.raw as Uint8Array<ArrayBuffer>,
          })),
        });
      }
    }],
    ['unnest (insertPackets)', async () => { await insertPackets(db.pool, (await freshCapture(db)).captureId, rows); }],
    ['COPY (insertPackets copy)', async () => { await insertPackets(db.pool, (await freshCapture(db)).captureId, rows, { method: 'copy' }); }],
  ];
  for (const [name, run] of results) {
    const t0 = performance.now();
    await run();
    const s = (performance.now() - t0) / 1000;
    console.log(`${name.padEnd(26)} ${(ROWS / s).toFixed(0).padStart(8)} rows/s  (${s.toFixed(1)} s)`);
  }
} finally {
  await db.close();
  await rm(dataDir, { recursive: true, force: true });
}
