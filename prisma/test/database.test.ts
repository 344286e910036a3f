import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openDatabase } from '../src/index.ts';
import type { Database, PacketRow, TimelineRow } from '../src/index.ts';
import { insertPackets, insertTimelineEntries } from '../src/bulk.ts';
import { readMigrations } from '../src/migrate.ts';
import { freshDatabase, testServers } from './helpers.ts';

async function open(url: string): Promise<Database> {
  const db = await openDatabase({ url });
  after(() => db.close());
  return db;
}

async function seed(db: Database): Promise<{ captureId: string; sessionId: bigint }> {
  const capture = await db.prisma.capture.create({ data: { source: 'upload', fileName: 'x.pcap', status: 'analysing' } });
  const session = await db.prisma.session.create({
    data: { captureId: capture.id, engineSessionId: 1, protocol: 'smtp', clientAddr: '192.0.2.10', clientPort: 40000, serverAddr: '198.51.100.25', serverPort: 25, startTs: 1_700_000_000_123_456n },
  });
  return { captureId: capture.id, sessionId: session.id };
}

function packets(n: number): PacketRow[] {
  return Array.from({ length: n }, (_, i) => ({
    no: i + 1, ts: 1_700_000_000_123_456 + i, src: '192.0.2.10', dst: '198.51.100.25', srcPort: 40000, dstPort: 25,
    protocol: i % 2 === 0 ? 'SMTP' : 'TCP', length: 60 + i, capturedLength: 60 + i, tcpFlags: 0x18, seq: 4_000_000_000 + i, ack: 1,
    payloadLength: i, info: `C: line\t${i} \\ "quoted"\n`, sessionId: i % 3 === 2 ? 7 : 1, dir: 'client', linkType: 1,
    tcpAnalysis: i % 5 === 0 ? ['retransmission', 'out-of-order'] : [], raw: Uint8Array.from({ length: 60 + i }, (_, k) => (k * 7 + i) & 0xff),
  }));
}

const timeline: TimelineRow[] = [
  { sessionId: 1, seq: 1, ts: 1_700_000_000_123_456, dir: 'server', kind: 'reply', verb: '220', arg: 'ready', frames: [4], latencyUs: 1500 },
  { sessionId: 1, seq: 2, ts: 1_700_000_000_223_456, dir: 'client', kind: 'auth', verb: 'AUTH', arg: 'PLAIN', frames: [5, 6], auth: { mechanism: 'PLAIN', user: 'jack', password: 's3cret', success: true } },
  { sessionId: 1, seq: 3, ts: 1_700_000_000_323_456, dir: 'client', kind: 'tcp', verb: 'FIN', arg: '', frames: [] },
  { sessionId: 9, seq: 1, ts: 1_700_000_000_423_456, dir: 'client', kind: 'command', verb: 'QUIT', arg: '', frames: [8] },
];

for (const server of await testServers()) {
  test(`[${server.name}] Prisma round trip: µs times, arrays, bytes, relations, singleton settings`, async () => {
    const db = await open(await freshDatabase(server));
    assert.equal(db.embedded, false);
    const agent = await db.prisma.agent.create({ data: { name: 'edge-1', host: 'mx1', version: '0.1.0', tokenHash: 'a'.repeat(64), interfaces: [{ name: 'eth0' }] } });
    const { captureId, sessionId } = await seed(db);
    await db.prisma.capture.update({ where: { id: captureId }, data: { agentId: agent.id } });
    const raw = new TextEncoder().encode('Subject: hi\r\n\r\nbody\r\n');
    await db.prisma.mail.create({
      data: { sessionId, index: 1, direction: 'sent', command: 'DATA', mailFrom: 'a@example.com', rcptTo: ['b@example.net'], subject: 'Quarterly report', to: ['b@example.net'],
        size: raw.length, sha256: 'f'.repeat(64), complete: true, startTs: 1n, endTs: 2n, frames: [10, 11], raw, attachments: { create: [{ contentType: 'text/plain', size: 3, sha256: 'e'.repeat(64), filename: 'a.txt' }] } },
    });
    const mail = await db.prisma.mail.findFirstOrThrow({ where: { subject: { contains: 'report', mode: 'insensitive' } }, include: { attachments: true, session: true } });
    assert.deepEqual(mail.raw === null ? null : Buffer.from(mail.raw), Buffer.from(raw));
    assert.deepEqual(mail.rcptTo, ['b@example.net']);
    assert.equal(mail.attachments[0]?.filename, 'a.txt');
    assert.equal(mail.session.startTs, 1_700_000_000_123_456n, 'µs survive the round trip');
    const setting = await db.prisma.setting.upsert({ where: { id: 1 }, create: {}, update: {} });
    assert.deepEqual([setting.smtpPorts, setting.pop3Ports, setting.saveMail], [[25, 587], [110], false]);
  });

  test(`[${server.name}] timeline passwords are left out of queries unless asked for`, async () => {
    const db = await open(await freshDatabase(server));
    const { captureId, sessionId } = await seed(db);
    await insertTimelineEntries(db.pool, captureId, timeline);
    const entry = await db.prisma.timelineEntry.findUniqueOrThrow({ where: { sessionId_seq: { sessionId, seq: 2 } } });
    assert.equal('authPassword' in entry, false);
    assert.equal(entry.authUser, 'jack');
    const revealed = await db.prisma.timelineEntry.findUniqueOrThrow({ where: { sessionId_seq: { sessionId, seq: 2 } }, omit: { authPassword: false } });
    assert.equal(revealed.authPassword, 's3cret');
  });

  for (const method of ['unnest', 'copy'] as const) {
    test(`[${server.name}] packets by ${method}: the same batch twice stores each row once, sessions resolved`, async () => {
      const db = await open(await freshDatabase(server));
      const { captureId, sessionId } = await seed(db);
      const batch = packets(12_345);
      const first = await insertPackets(db.pool, captureId, batch, { method });
      assert.deepEqual(first, { inserted: 12_345, unknownSession: 4_115 });
      const again = await insertPackets(db.pool, captureId, batch, { method });
      assert.deepEqual(again, { inserted: 0, unknownSession: 4_115 });
      assert.equal(await db.prisma.packet.count(), 12_345);
      assert.equal(await db.prisma.packet.count({ where: { sessionId } }), 8_230);
      const p = await db.prisma.packet.findUniqueOrThrow({ where: { captureId_frameNo: { captureId, frameNo: 11 } } });
      const src = batch[10]!;
      assert.deepEqual(Buffer.from(p.raw), Buffer.from(src.raw));
      assert.equal(p.info, src.info);
      assert.equal(p.ts, BigInt(src.ts));
      assert.equal(p.seq, BigInt(src.seq!));
      assert.deepEqual(p.tcpAnalysis, ['retransmission', 'out-of-order']);
      assert.equal(p.dir, 'client');
      const q = await db.prisma.packet.findUniqueOrThrow({ where: { captureId_frameNo: { captureId, frameNo: 3 } } });
      assert.equal(q.sessionId, null);
      assert.deepEqual(q.tcpAnalysis, []);
    });
  }

  test(`[${server.name}] timeline entries: the same batch twice stores each row once; unknown sessions are counted`, async () => {
    const db = await open(await freshDatabase(server));
    const { captureId, sessionId } = await seed(db);
    assert.deepEqual(await insertTimelineEntries(db.pool, captureId, timeline), { inserted: 3, unknownSession: 1 });
    assert.deepEqual(await insertTimelineEntries(db.pool, captureId, timeline), { inserted: 0, unknownSession: 1 });
    const rows = await db.prisma.timelineEntry.findMany({ where: { sessionId }, orderBy: { seq: 'asc' } });
    assert.deepEqual(rows.map((r) => [r.seq, r.kind, r.frames, r.latencyUs]), [[1, 'reply', [4], 1500n], [2, 'auth', [5, 6], null], [3, 'tcp', [], null]]);
  });
}

test('openDatabase without a URL starts the embedded server in the data folder, migrated, and close() stops it', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailscope-open-'));
  after(() => rm(dataDir, { recursive: true, force: true }));
  const db = await openDatabase({ dataDir });
  try {
    assert.equal(db.embedded, true);
    assert.equal(await db.prisma.session.count(), 0);
  } finally {
    await db.close();
  }
  const again = await openDatabase({ dataDir });
  const applied = await again.pool.query('SELECT count(*)::int AS n FROM "_prisma_migrations"');
  assert.equal(applied.rows[0].n, (await readMigrations()).length);
  await again.close();
});
