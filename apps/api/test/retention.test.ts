/**
 * Issue 6: retention (MAILSCOPE_RETENTION_DAYS), the agent registered from MAILSCOPE_AGENT_TOKEN,
 * GET /api/health - against every test server (embedded PostgreSQL, TEST_DATABASE_URL).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Database } from '@mailscope/db';
import { ensureLocalAgent } from '../src/auth/agent-bootstrap.ts';
import { hashToken } from '../src/auth/tokens.ts';
import { ConfigError, loadConfig } from '../src/env.ts';
import { applyRetention, startRetention } from '../src/services/retention.ts';
import { testApp, testDatabases } from './helpers.ts';

const DAY_MS = 86_400_000;
/** "Now" of these tests; wire times are µs. */
const NOW = new Date('2026-06-30T12:00:00Z');
const us = (d: Date): bigint => BigInt(d.getTime()) * 1000n;
const daysAgo = (n: number): Date => new Date(NOW.getTime() - n * DAY_MS);

test('loadConfig: MAILSCOPE_RETENTION_DAYS and MAILSCOPE_AGENT_TOKEN', () => {
  assert.equal(loadConfig({}).retentionDays, undefined);
  assert.equal(loadConfig({ MAILSCOPE_RETENTION_DAYS: '0' }).retentionDays, undefined);
  assert.equal(loadConfig({ MAILSCOPE_RETENTION_DAYS: '30' }).retentionDays, 30);
  assert.equal(loadConfig({ MAILSCOPE_AGENT_TOKEN: 'ms_abcdefghijklmnopqrstuvwxyz' }).agentToken, 'ms_abcdefghijklmnopqrstuvwxyz');
  assert.throws(() => loadConfig({ MAILSCOPE_RETENTION_DAYS: '-1', MAILSCOPE_AGENT_TOKEN: '-starts-with-a-dash-and-is-long' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.problems.length, 2);
    assert.match(e.message, /MAILSCOPE_RETENTION_DAYS="-1": must be a whole number 0-36500/);
    assert.match(e.message, /MAILSCOPE_AGENT_TOKEN: must be 20-200 characters/);
    return true;
  });
  assert.throws(() => loadConfig({ MAILSCOPE_AGENT_TOKEN: 'short' }), ConfigError);
});

let counter = 0;

/** A capture with `sessions` sessions (wire start times given), 3 packets and 1 mail each, and one packet of no session. */
async function makeCapture(
  db: Database,
  data: { source: 'live' | 'upload'; status: string; startedAt: Date; stoppedAt?: Date | null },
  sessions: readonly { start: Date; end: Date | null }[],
): Promise<{ id: string; sessionIds: bigint[] }> {
  const capture = await db.prisma.capture.create({
    data: { source: data.source, status: data.status, startedAt: data.startedAt, stoppedAt: data.stoppedAt ?? null, fileName: `retention-${++counter}.pcap` },
  });
  const sessionIds: bigint[] = [];
  let frameNo = 0;
  for (const [i, s] of sessions.entries()) {
    const row = await db.prisma.session.create({
      data: {
        captureId: capture.id, engineSessionId: i + 1, protocol: 'smtp', clientAddr: '192.0.2.10', clientPort: 40000 + i,
        serverAddr: '198.51.100.20', serverPort: 25, startTs: us(s.start), endTs: s.end === null ? null : us(s.end),
        state: s.end === null ? 'open' : 'closed', outcome: s.end === null ? null : 'delivered', mails: 1,
      },
    });
    sessionIds.push(row.id);
    await db.prisma.timelineEntry.create({ data: { sessionId: row.id, seq: 1, ts: us(s.start), dir: 'server', kind: 'reply', verb: '220', arg: 'hi', frames: [1] } });
    await db.prisma.mail.create({
      data: { sessionId: row.id, index: 1, direction: 'sent', command: 'DATA', size: 10, sha256: 'a'.repeat(64), complete: true, startTs: us(s.start), endTs: us(s.start), frames: [2] },
    });
    for (let k = 0; k < 3; k++) {
      await db.prisma.packet.create({
        data: {
          captureId: capture.id, frameNo: ++frameNo, sessionId: row.id, ts: us(s.start) + BigInt(k), src: '192.0.2.10', dst: '198.51.100.20',
          protocol: 'TCP', length: 60, capturedLength: 60, info: 'x', linkType: 1, raw: new Uint8Array(60),
        },
      });
    }
  }
  // A packet of no session (a stray SYN), as old as the first session.
  const first = sessions[0]?.start ?? data.startedAt;
  await db.prisma.packet.create({
    data: { captureId: capture.id, frameNo: ++frameNo, ts: us(first), src: '192.0.2.99', dst: '198.51.100.20', protocol: 'TCP', length: 60, capturedLength: 60, info: 'stray', linkType: 1, raw: new Uint8Array(60) },
  });
  return { id: capture.id, sessionIds };
}

for (const server of testDatabases()) {
  describe(`retention, local agent, health (${server.name})`, () => {
    test('applyRetention deletes captures that ended before the cutoff and old sessions/packets of live captures, nothing else', async () => {
      const db = await server.open();
      // Over and old: deleted whole.
      const oldLive = await makeCapture(db, { source: 'live', status: 'stopped', startedAt: daysAgo(50), stoppedAt: daysAgo(40) }, [{ start: daysAgo(45), end: daysAgo(45) }]);
      const oldUpload = await makeCapture(db, { source: 'upload', status: 'done', startedAt: daysAgo(40) }, [{ start: new Date('2009-01-01T00:00:00Z'), end: new Date('2009-01-01T00:01:00Z') }]);
      const oldFailed = await makeCapture(db, { source: 'live', status: 'failed', startedAt: daysAgo(31) }, []);
      // Imported yesterday, wire times of 2009: kept whole (age is the import's, not the traffic's).
      const newUpload = await makeCapture(db, { source: 'upload', status: 'done', startedAt: daysAgo(1) }, [{ start: new Date('2009-01-01T00:00:00Z'), end: new Date('2009-01-01T00:01:00Z') }]);
      // An old upload still being analysed: kept until it is over.
      const analysing = await makeCapture(db, { source: 'upload', status: 'analysing', startedAt: daysAgo(40) }, []);
      // Running for 60 days: an old closed session goes, an old session still open stays, a recent one stays.
      const running = await makeCapture(db, { source: 'live', status: 'running', startedAt: daysAgo(60) }, [
        { start: daysAgo(59), end: daysAgo(59) },
        { start: daysAgo(58), end: null },
        { start: daysAgo(2), end: daysAgo(2) },
      ]);
      // Stopped 5 days ago after 60 days: the capture stays, its old sessions and packets go.
      const recentStop = await makeCapture(db, { source: 'live', status: 'stopped', startedAt: daysAgo(60), stoppedAt: daysAgo(5) }, [
        { start: daysAgo(40), end: daysAgo(40) },
        { start: daysAgo(6), end: daysAgo(6) },
      ]);

      // A frame of that old session timestamped after the cutoff (a clock step): it stays, without its session.
      await db.prisma.packet.create({
        data: { captureId: running.id, frameNo: 100, sessionId: running.sessionIds[0]!, ts: us(daysAgo(1)), src: '192.0.2.10', dst: '198.51.100.20', protocol: 'TCP', length: 60, capturedLength: 60, info: 'late', linkType: 1, raw: new Uint8Array(60) },
      });

      const result = await applyRetention(db, daysAgo(30));
      assert.deepEqual(result, { captures: 3, sessions: 2 + 2, packets: 4 + 4 + 1 + 3 + 1 + 3 + 1 });

      const captureIds = new Set((await db.prisma.capture.findMany({ select: { id: true } })).map((c) => c.id));
      for (const gone of [oldLive, oldUpload, oldFailed]) assert.ok(!captureIds.has(gone.id), 'an old finished capture is deleted');
      for (const kept of [newUpload, analysing, running, recentStop]) assert.ok(captureIds.has(kept.id));

      const sessionsOf = async (c: { id: string }) => (await db.prisma.session.findMany({ where: { captureId: c.id }, select: { id: true }, orderBy: { id: 'asc' } })).map((s) => s.id);
      const packetsOf = (c: { id: string }) => db.prisma.packet.count({ where: { captureId: c.id } });
      assert.deepEqual(await sessionsOf(newUpload), newUpload.sessionIds);
      assert.equal(await packetsOf(newUpload), 4);
      assert.deepEqual(await sessionsOf(running), running.sessionIds.slice(1), 'the old closed session went, the open one stayed');
      assert.equal(await packetsOf(running), 7, 'packets of kept sessions stay, the stray old one and the deleted session\'s go');
      const late = await db.prisma.packet.findUniqueOrThrow({ where: { captureId_frameNo: { captureId: running.id, frameNo: 100 } } });
      assert.equal(late.sessionId, null, 'a kept packet of a deleted session names no session');
      assert.deepEqual(await sessionsOf(recentStop), recentStop.sessionIds.slice(1));
      assert.equal(await packetsOf(recentStop), 3);
      // Timeline entries and mails of deleted sessions went with them.
      const deletedSessions = [...oldLive.sessionIds, ...oldUpload.sessionIds, running.sessionIds[0] as bigint, recentStop.sessionIds[0] as bigint];
      assert.equal(await db.prisma.timelineEntry.count({ where: { sessionId: { in: deletedSessions } } }), 0);
      assert.equal(await db.prisma.mail.count({ where: { sessionId: { in: deletedSessions } } }), 0);
      assert.equal(await db.prisma.packet.count({ where: { sessionId: { in: deletedSessions } } }), 0);
      assert.equal(await db.prisma.mail.count({ where: { sessionId: { in: running.sessionIds.slice(1) } } }), 2);
      const kept = [...newUpload.sessionIds, ...running.sessionIds.slice(1), ...recentStop.sessionIds.slice(1)];
      assert.equal(await db.prisma.timelineEntry.count({ where: { sessionId: { in: kept } } }), kept.length, 'kept sessions keep their timeline');

      assert.deepEqual(await applyRetention(db, daysAgo(30)), { captures: 0, sessions: 0, packets: 0 }, 'a second run finds nothing');
    });

    test('startRetention runs at start with the configured days, logs what it deleted, and stops', async () => {
      const db = await server.open();
      const old = await makeCapture(db, { source: 'upload', status: 'done', startedAt: daysAgo(10) }, [{ start: daysAgo(10), end: daysAgo(10) }]);
      const logged: string[] = [];
      const job = startRetention({ db, days: 7, now: () => NOW, intervalMs: 60_000, log: { info: (_o, m) => void logged.push(m), error: (_o, m) => void logged.push(`error: ${m}`) } });
      await job.firstRun;
      await job.stop();
      assert.equal(await db.prisma.capture.count({ where: { id: old.id } }), 0);
      assert.deepEqual(logged, ['retention (7 days): deleted old data']);
    });

    test('ensureLocalAgent registers agent "local" with the token, replaces a changed token, refuses another agent\'s token', async () => {
      const db = await server.open();
      const name = `local-${++counter}`;
      const token1 = 'ms_first-token-of-the-local-agent';
      const token2 = 'ms_second-token-of-the-local-agent';
      assert.equal(await ensureLocalAgent(db, name, token1), 'created');
      assert.equal((await db.prisma.agent.findUniqueOrThrow({ where: { name } })).tokenHash, hashToken(token1));
      assert.equal(await ensureLocalAgent(db, name, token1), 'unchanged');
      assert.equal(await ensureLocalAgent(db, name, token2), 'token-replaced');
      assert.equal((await db.prisma.agent.findUniqueOrThrow({ where: { name } })).tokenHash, hashToken(token2));
      const actions = (await db.prisma.auditLog.findMany({ where: { details: { path: ['name'], equals: name } }, orderBy: { id: 'asc' } })).map((a) => [a.action, a.userId]);
      assert.deepEqual(actions, [['agent.create', null], ['agent.rotate', null]]);
      await assert.rejects(ensureLocalAgent(db, `other-${counter}`, token2), /already the token of agent/);
    });

    test('GET /api/health answers without a sign-in', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const res = await app.inject({ method: 'GET', url: '/api/health' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    });
  });
}
