/**
 * What the embedded PostgreSQL alone can store of bench:ingest's load on this machine: the same
 * 1,000,000 packets and 800,000 timeline entries (ingest-batches.ts), encoded beforehand into the
 * binary COPY data the ingest sends (copy-binary.ts), then COPYed batch by batch, each batch in
 * a transaction of its own as the ingest's phase 2 does it, over `--connections` connections at
 * once. No socket.io, no validation, no API: this process only writes prepared buffers. The
 * sessions are inserted before the clock starts, so their cost is left out and the figure is a
 * ceiling on what the whole ingest could do here, not an estimate of it.
 *
 *   npm run bench:postgres-floor -w @mailscope/api [-- --packets 1000000 --sessions 100000 --connections 4]
 *
 * Prints packet records per second, PostgreSQL's CPU per packet record and the cores it and this
 * feeding process used, and how busy the whole machine was (/proc/stat).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { openDatabase } from '@mailscope/db';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PACKET_COPY_COLUMNS, TIMELINE_COPY_COLUMNS, encodePackets, encodeTimeline } from '../src/ingest/copy-binary.ts';
import { cpuSeconds, machineUsage, postgresCpuSeconds } from './cpu-time.ts';
import { makeBatch } from './ingest-batches.ts';

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '1000000' },
    sessions: { type: 'string', default: '100000' },
    connections: { type: 'string', default: '4' },
    'sessions-per-batch': { type: 'string', default: '500' },
  },
});
const SESSIONS = Number(values.sessions);
const PACKETS_PER_SESSION = Math.max(1, Math.round(Number(values.packets) / SESSIONS));
const CONNECTIONS = Number(values.connections);
const PER_BATCH = Number(values['sessions-per-batch']);
const TARGET_ROWS_PER_S = 100_000;

const pgDir = await mkdtemp(join(tmpdir(), 'mailscope-postgres-floor-pg-'));
const db = await openDatabase({ dataDir: pgDir });
try {
  const agent = await db.prisma.agent.create({ data: { name: 'floor', host: '', version: '', tokenHash: 'x' } });
  const capture = await db.prisma.capture.create({ data: { agentId: agent.id, source: 'live', status: 'running', interface: 'bench0' } });
  console.log(`inserting ${SESSIONS.toLocaleString('en')} sessions (not timed) and encoding the COPY data ...`);
  const ids = await db.pool.query<{ id: string; engine: number }>(
    `INSERT INTO "Session" ("captureId", "engineSessionId", protocol, "clientAddr", "clientPort", "serverAddr", "serverPort", "startTs", "endTs", state, outcome)
     SELECT $1::uuid, s, 'smtp', '10.0.0.1', 1024, '192.0.2.25', 25, 1700000000000000 + s * 10000, 1700000000000000 + s * 10000 + 5000, 'closed', 'no-mail'
       FROM generate_series(1, $2::int) AS s
     RETURNING id::text AS id, "engineSessionId" AS engine`, [capture.id, SESSIONS]);
  const sessionIds = new Map(ids.rows.map((r) => [r.engine, BigInt(r.id)]));
  const sessionOf = (engineId: number): bigint | undefined => sessionIds.get(engineId);

  const work: { packets: Buffer; timeline: Buffer; count: number }[] = [];
  let packetCount = 0;
  let timelineCount = 0;
  for (let first = 1, seq = 0; first <= SESSIONS; first += PER_BATCH, seq++) {
    const batch = makeBatch(capture.id, seq, first, Math.min(PER_BATCH, SESSIONS - first + 1), PACKETS_PER_SESSION);
    const timeline = batch.timeline.map((entry) => ({ sessionId: sessionOf(entry.sessionId)!, entry }));
    work.push({ packets: encodePackets(capture.id, batch.packets, sessionOf), timeline: encodeTimeline(timeline), count: batch.packets.length });
    packetCount += batch.packets.length;
    timelineCount += timeline.length;
  }
  await db.pool.query('CHECKPOINT');

  console.log(`COPYing ${packetCount.toLocaleString('en')} packets and ${timelineCount.toLocaleString('en')} timeline entries in ${work.length} batches over ${CONNECTIONS} connections ...`);
  const copy = async (client: pg.PoolClient, sql: string, data: Buffer): Promise<void> => {
    await pipeline(Readable.from([data], { objectMode: false }), client.query(copyFrom(sql)));
  };
  const pg0 = postgresCpuSeconds(pgDir);
  const me0 = cpuSeconds();
  const machine = machineUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    const client = await db.pool.connect();
    try {
      while (next < work.length) {
        const w = work[next++]!;
        await client.query('BEGIN');
        await copy(client, `COPY "Packet" (${PACKET_COPY_COLUMNS}) FROM STDIN (FORMAT binary)`, w.packets);
        await copy(client, `COPY "TimelineEntry" (${TIMELINE_COPY_COLUMNS}) FROM STDIN (FORMAT binary)`, w.timeline);
        await client.query('COMMIT');
      }
    } finally {
      client.release();
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const { busyCores, iowaitCores } = machine();
  const pg = postgresCpuSeconds(pgDir);
  const pgCpu = pg0 === null || pg === null ? null : pg - pg0;
  const feeder = cpuSeconds() - me0;
  const stored = await db.pool.query<{ p: string; t: string }>('SELECT (SELECT count(*) FROM "Packet") AS p, (SELECT count(*) FROM "TimelineEntry") AS t');
  const rate = packetCount / seconds;
  const cores = availableParallelism();
  console.log(`
PostgreSQL floor (binary COPY of prepared data, ${CONNECTIONS} connections, sessions not counted)
  stored                 ${Number(stored.rows[0]!.p).toLocaleString('en')} packets, ${Number(stored.rows[0]!.t).toLocaleString('en')} timeline entries in ${seconds.toFixed(1)} s
  packet records/s       ${Math.round(rate).toLocaleString('en')}   (bench:ingest's target >= ${TARGET_ROWS_PER_S.toLocaleString('en')} end to end)
  CPU                    PostgreSQL ${pgCpu === null ? '?' : `${pgCpu.toFixed(1)} s = ${(pgCpu / seconds).toFixed(2)} cores, ${(pgCpu / packetCount * 1e6).toFixed(1)} µs per packet record`}; this feeding process ${(feeder / seconds).toFixed(2)} cores
  whole machine          ${busyCores.toFixed(2)} of ${cores} cores busy, ${iowaitCores.toFixed(2)} waiting on the disk`);
} finally {
  await db.close();
  await rm(pgDir, { recursive: true, force: true });
}
