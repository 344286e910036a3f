/**
 * The /agent gateway with a real socket.io client acting as an agent, against the API listening on
 * 127.0.0.1, on every test server (embedded PostgreSQL, and TEST_DATABASE_URL when set).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { BatchAck, BatchMail, BatchPayload, BatchSessionClosed, BatchSessionOpened, CommandAck, HelloAck, MailModuleSettings, UiStatsTick } from '@mailscope/shared';
import { DEFAULT_MAIL_SETTINGS, packBatch } from '@mailscope/shared';
import { AgentNotConnectedError } from '../src/services/agent-control.ts';
import type { AgentClient, TestApi } from './ingest-harness.ts';
import { connectAgent, connectUi, createAgent, createCapture, rowCounts, signIn, startApi, testServers } from './ingest-harness.ts';

const T0 = 1_700_000_000_000_000;
const CLIENT = { addr: '192.0.2.10', port: 50_123 };
const SERVER = { addr: '198.51.100.25', port: 25 };
const MAIL = new TextEncoder().encode('From: a@example.com\r\nTo: b@example.org\r\nSubject: Hello\r\n\r\nHi\r\n');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function frame(n: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (n * 31 + i) & 0xff;
  return b;
}

/** One SMTP session: opened, 6 packets, 5 timeline entries (one AUTH), one mail, closed. */
function smtpBatch(captureId: string, seq = 0): BatchPayload {
  const packets: BatchPayload['packets'] = [];
  for (let no = 1; no <= 6; no++) {
    const raw = frame(no, 60 + no * 100);
    packets.push({
      type: 'packet', no, ts: T0 + no * 1000, src: no % 2 ? CLIENT.addr : SERVER.addr, dst: no % 2 ? SERVER.addr : CLIENT.addr,
      srcPort: no % 2 ? CLIENT.port : SERVER.port, dstPort: no % 2 ? SERVER.port : CLIENT.port, protocol: no === 1 ? 'TCP' : 'SMTP',
      length: raw.length, capturedLength: raw.length, tcpFlags: no === 1 ? 2 : 24, seq: 4_294_000_000 + no, ack: no, payloadLength: raw.length - 54,
      info: no === 1 ? '[SYN] Seq=0' : `line ${no}`, sessionId: 1, dir: no % 2 ? 'client' : 'server', linkType: 1, raw,
      ...(no === 4 ? { tcpAnalysis: ['retransmission'] } : {}),
    });
  }
  packets.push({ type: 'packet', no: 7, ts: T0 + 7000, src: '203.0.113.1', dst: '203.0.113.2', protocol: 'UDP', length: 80, capturedLength: 3, info: 'UDP', linkType: 1, raw: new Uint8Array([7, 7, 7]) });
  return {
    captureId, batchId: `b-${seq}`, seq,
    packets,
    sessions: [
      { type: 'session-opened', sessionId: 1, protocol: 'smtp', client: CLIENT, server: SERVER, startTs: T0 + 1000, sawSyn: true, detectedBy: 'port' },
      {
        type: 'session-closed', sessionId: 1, protocol: 'smtp', client: CLIENT, server: SERVER, startTs: T0 + 1000, endTs: T0 + 7000,
        closeReason: 'fin', outcome: 'delivered', authUser: 'alice', authMechanism: 'PLAIN', authSuccess: true, encrypted: false,
        helo: 'client.example.com', greeting: '220 mx ESMTP', mails: 1, packets: { client: 3, server: 3 }, bytes: { client: 900, server: 1200 },
        retransmissions: 1, gaps: 0, gapBytes: 0, anomalies: 0,
      },
    ],
    timeline: [
      { type: 'timeline', sessionId: 1, seq: 1, ts: T0 + 2000, dir: 'server', kind: 'reply', verb: '220', arg: 'mx ESMTP', frames: [2] },
      { type: 'timeline', sessionId: 1, seq: 2, ts: T0 + 3000, dir: 'client', kind: 'command', verb: 'EHLO', arg: 'client.example.com', frames: [3] },
      { type: 'timeline', sessionId: 1, seq: 3, ts: T0 + 4000, dir: 'server', kind: 'reply', verb: '250', arg: 'mx\nPIPELINING', frames: [4, 5], latencyUs: 1000 },
      { type: 'timeline', sessionId: 1, seq: 4, ts: T0 + 5000, dir: 'client', kind: 'auth', verb: 'AUTH', arg: 'PLAIN', frames: [5], auth: { mechanism: 'PLAIN', user: 'alice', password: 's3cret', success: true } },
      { type: 'timeline', sessionId: 1, seq: 5, ts: T0 + 6000, dir: 'client', kind: 'data', verb: 'DATA', arg: '', frames: [] },
    ],
    mails: [{
      type: 'mail', sessionId: 1, index: 1, direction: 'sent', command: 'DATA',
      envelope: { mailFrom: 'a@example.com', mailParams: ['SIZE=60'], rcptTo: ['b@example.org', 'c@example.org'] },
      size: MAIL.length, sha256: sha(MAIL), complete: true, finalReply: '250 OK', startTs: T0 + 5500, endTs: T0 + 6500, frames: [5, 6], raw: MAIL,
      summary: { subject: 'Hello', from: 'a@example.com', to: ['b@example.org'], cc: [], attachments: [{ filename: 'x.txt', contentType: 'text/plain', size: 2, sha256: sha(new Uint8Array([1, 2])) }] },
    }],
  };
}

async function hello(agent: AgentClient): Promise<HelloAck> {
  return agent.timeout(5000).emitWithAck('hello', { name: 'probe-1', host: 'probe.example', version: '0.1.0', interfaces: [{ name: 'eth0', description: 'uplink', addresses: ['192.0.2.10'] }] });
}

/** Sends a batch in its wire form (packBatch), or `payload` as it is. */
function send(agent: AgentClient, payload: BatchPayload | unknown): Promise<BatchAck> {
  const isBatch = typeof payload === 'object' && payload !== null && !('mailBytes' in payload) && Array.isArray((payload as BatchPayload).packets);
  return agent.timeout(10_000).emitWithAck('batch', (isBatch ? packBatch(payload as BatchPayload) : payload) as never);
}

async function ready(api: TestApi): Promise<{ agent: AgentClient; agentId: string; captureId: string }> {
  const { id, token } = await createAgent(api.db);
  const captureId = await createCapture(api.db, id);
  const agent = await connectAgent(api, token);
  const ack = await hello(agent);
  assert.equal(ack.ok, true);
  return { agent, agentId: id, captureId };
}

for (const server of await testServers()) {
  describe(`/agent gateway (${server.name})`, () => {
    test('hello, then a batch is stored with its values', async () => {
      const api = await startApi(server);
      const { id, token } = await createAgent(api.db, 'probe-1');
      const captureId = await createCapture(api.db, id);
      const agent = await connectAgent(api, token);
      const helloAck = await hello(agent);
      assert.deepEqual(helloAck, { ok: true, agentId: id, settings: DEFAULT_MAIL_SETTINGS });
      const row = await api.db.prisma.agent.findUniqueOrThrow({ where: { id } });
      assert.equal(row.host, 'probe.example');
      assert.equal(row.version, '0.1.0');
      assert.deepEqual(row.interfaces, [{ name: 'eth0', description: 'uplink', addresses: ['192.0.2.10'] }]);
      assert.ok(row.lastSeen !== null);

      const batch = smtpBatch(captureId);
      const ack = await send(agent, batch);
      assert.deepEqual(ack, { ok: true, stored: { packets: 7, sessions: 1, timeline: 5, mails: 1 } });

      const s = await api.db.prisma.session.findUniqueOrThrow({ where: { captureId_engineSessionId: { captureId, engineSessionId: 1 } } });
      assert.equal(s.protocol, 'smtp');
      assert.equal(s.clientAddr, CLIENT.addr);
      assert.equal(s.serverPort, 25);
      assert.equal(s.startTs, BigInt(T0 + 1000));
      assert.equal(s.endTs, BigInt(T0 + 7000));
      assert.equal(s.state, 'closed');
      assert.equal(s.outcome, 'delivered');
      assert.equal(s.authUser, 'alice');
      assert.equal(s.helo, 'client.example.com');
      assert.equal(s.mails, 1);
      assert.equal(s.bytesServer, 1200n);
      assert.equal(s.retransmissions, 1);

      const packets = await api.db.prisma.packet.findMany({ where: { captureId }, orderBy: { frameNo: 'asc' } });
      assert.equal(packets.length, 7);
      for (const p of packets.slice(0, 6)) {
        const sent = batch.packets[p.frameNo - 1]!;
        assert.equal(p.sessionId, s.id);
        assert.deepEqual(new Uint8Array(p.raw), sent.raw, `raw of frame ${p.frameNo}`);
        assert.equal(p.ts, BigInt(sent.ts));
        assert.equal(p.seq, BigInt(sent.seq!));
        assert.equal(p.dir, sent.dir);
        assert.equal(p.info, sent.info);
        assert.equal(p.linkType, 1);
      }
      assert.deepEqual(packets[3]!.tcpAnalysis, ['retransmission']);
      assert.equal(packets[6]!.sessionId, null);
      assert.equal(packets[6]!.srcPort, null);

      const timeline = await api.db.prisma.timelineEntry.findMany({ where: { sessionId: s.id }, orderBy: { seq: 'asc' }, omit: { authPassword: false } });
      assert.deepEqual(timeline.map((t) => [t.seq, t.kind, t.verb, t.arg, t.frames]), [
        [1, 'reply', '220', 'mx ESMTP', [2]], [2, 'command', 'EHLO', 'client.example.com', [3]], [3, 'reply', '250', 'mx\nPIPELINING', [4, 5]],
        [4, 'auth', 'AUTH', 'PLAIN', [5]], [5, 'data', 'DATA', '', []],
      ]);
      assert.equal(timeline[2]!.latencyUs, 1000n);
      assert.equal(timeline[3]!.authPassword, 's3cret');
      assert.equal(timeline[3]!.authSuccess, true);

      const mail = await api.db.prisma.mail.findFirstOrThrow({ where: { sessionId: s.id }, include: { attachments: true } });
      assert.equal(mail.sha256, sha(MAIL));
      assert.equal(mail.subject, 'Hello');
      assert.deepEqual(mail.rcptTo, ['b@example.org', 'c@example.org']);
      assert.deepEqual(
        [mail.index, mail.direction, mail.command, mail.messageNumber, mail.mailFrom, mail.mailParams, mail.from, mail.to, mail.cc, mail.size, mail.complete, mail.finalReply, mail.startTs, mail.endTs, mail.frames],
        [1, 'sent', 'DATA', null, 'a@example.com', ['SIZE=60'], 'a@example.com', ['b@example.org'], [], MAIL.length, true, '250 OK', BigInt(T0 + 5500), BigInt(T0 + 6500), [5, 6]],
      );
      assert.equal(mail.raw, null, 'Save Mail is off: summary only');
      assert.equal(mail.savedPath, null);
      assert.equal(mail.attachments.length, 1);
      assert.equal(mail.attachments[0]!.filename, 'x.txt');

      const capture = await api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId } });
      assert.equal(capture.packets, 7n);
      assert.equal(capture.sessions, 1);
      assert.equal(capture.mails, 1);
      assert.equal(capture.bytes, BigInt(batch.packets.reduce((n, p) => n + p.length, 0)));
    });

    test('a session opened and closed in one batch is stored once with what both said; one closed later too', async () => {
      const api = await startApi(server);
      const ui = await connectUi(api, await signIn(api.db, 'viewer'));
      const { agent, captureId } = await ready(api);
      const seen: [string, number][] = [];
      for (const e of ['session:opened', 'session:closed'] as const) ui.on(e, (m: { engineSessionId: number }) => seen.push([e, m.engineSessionId]));
      const base = smtpBatch(captureId);
      const [open1, close1] = base.sessions as [BatchSessionOpened, BatchSessionClosed];
      const open2: BatchSessionOpened = { ...open1, sessionId: 2, client: { addr: '198.51.100.9', port: 40001 }, sawSyn: false, detectedBy: 'content' };
      const close2: BatchSessionClosed = { ...close1, sessionId: 2, client: open2.client, outcome: 'no-mail', mails: 0, authUser: undefined };
      // Batch 0: session 1 opens and closes (no SYN seen, found by content); session 2 only opens.
      const ack = await send(agent, { ...base, sessions: [{ ...open1, sawSyn: false, detectedBy: 'content' }, open2, close1] });
      assert.deepEqual(ack, { ok: true, stored: { packets: 7, sessions: 2, timeline: 5, mails: 1 } });
      // Batch 1: session 2 closes.
      const ack2 = await send(agent, { ...base, batchId: 'b-1', seq: 1, packets: [], timeline: [], mails: [], sessions: [close2] });
      assert.deepEqual(ack2, { ok: true, stored: { packets: 0, sessions: 0, timeline: 0, mails: 0 } });
      const rows = await api.db.prisma.session.findMany({ where: { captureId }, orderBy: { engineSessionId: 'asc' }, select: { engineSessionId: true, state: true, sawSyn: true, detectedBy: true, outcome: true, authUser: true, clientPort: true } });
      assert.deepEqual(rows, [
        { engineSessionId: 1, state: 'closed', sawSyn: false, detectedBy: 'content', outcome: 'delivered', authUser: 'alice', clientPort: CLIENT.port },
        { engineSessionId: 2, state: 'closed', sawSyn: false, detectedBy: 'content', outcome: 'no-mail', authUser: null, clientPort: 40001 },
      ]);
      assert.equal((await api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId } })).sessions, 2);
      await waitFor(() => seen.length === 4);
      assert.deepEqual(seen, [['session:opened', 2], ['session:opened', 1], ['session:closed', 1], ['session:closed', 2]]);
      // A replay of batch 0 changes nothing and announces nothing.
      assert.deepEqual(await send(agent, { ...base, sessions: [{ ...open1, sawSyn: false, detectedBy: 'content' }, open2, close1] }), { ok: true, stored: { packets: 0, sessions: 0, timeline: 0, mails: 0 } });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(seen.length, 4);
      assert.equal((await api.db.prisma.session.findFirstOrThrow({ where: { captureId, engineSessionId: 2 } })).state, 'closed');
    });

    test('several mails in one batch: each row with its own envelope, lists, frames and attachments, awkward characters kept', async () => {
      const api = await startApi(server);
      const { agent, captureId } = await ready(api);
      const base = smtpBatch(captureId);
      const [open1, close1] = base.sessions as [BatchSessionOpened, BatchSessionClosed];
      const mail0 = base.mails[0]!;
      const odd = ['"quoted"@example.org', 'a,b@example.org', '{braces}@example.org', 'back\\slash@example.org', 'NULL', '', 'Grüße 😀 <x@example.org>'];
      const mails: BatchMail[] = [
        { ...mail0, index: 1, envelope: { mailFrom: '', mailParams: [], rcptTo: odd }, summary: { to: odd.slice(0, 3), cc: ['c@example.org'], attachments: [] }, frames: [] },
        { ...mail0, sessionId: 2, index: 1, direction: 'retrieved', command: 'RETR', messageNumber: 3, envelope: undefined, finalReply: undefined, frames: [1, 2, 3],
          summary: { subject: 'Two', to: [], cc: [], attachments: [mail0.summary.attachments[0]!, { contentType: 'application/pdf', size: 9, sha256: 'b'.repeat(64) }] } },
        { ...mail0, index: 2, frames: [6], summary: { subject: 'Three', to: ['z@example.org'], cc: [], attachments: [{ filename: 'three.txt', contentType: 'text/plain', size: 3, sha256: 'c'.repeat(64) }] } },
      ];
      const batch: BatchPayload = { ...base, sessions: [open1, { ...open1, sessionId: 2, client: { addr: '198.51.100.9', port: 40002 } }, close1], mails };
      assert.deepEqual(await send(agent, batch), { ok: true, stored: { packets: 7, sessions: 2, timeline: 5, mails: 3 } });
      const rows = await api.db.prisma.mail.findMany({
        where: { session: { captureId } }, include: { attachments: { orderBy: { id: 'asc' } }, session: { select: { engineSessionId: true } } },
        orderBy: [{ session: { engineSessionId: 'asc' } }, { index: 'asc' }],
      });
      assert.deepEqual(rows.map((m) => [m.session.engineSessionId, m.index, m.subject, m.direction, m.messageNumber, m.mailFrom, m.rcptTo, m.to, m.cc, m.frames, m.finalReply]), [
        [1, 1, null, 'sent', null, '', odd, odd.slice(0, 3), ['c@example.org'], [], '250 OK'],
        [1, 2, 'Three', 'sent', null, 'a@example.com', ['b@example.org', 'c@example.org'], ['z@example.org'], [], [6], '250 OK'],
        [2, 1, 'Two', 'retrieved', 3, null, [], [], [], [1, 2, 3], null],
      ]);
      assert.deepEqual(rows.map((m) => m.attachments.map((a) => [a.filename, a.contentType, a.size])), [
        [],
        [['three.txt', 'text/plain', 3]],
        [['x.txt', 'text/plain', 2], [null, 'application/pdf', 9]],
      ]);
      // Sent again: nothing more, not even attachments.
      assert.deepEqual(await send(agent, batch), { ok: true, stored: { packets: 0, sessions: 0, timeline: 0, mails: 0 } });
      assert.equal((await rowCounts(api.db)).attachments, 3);
    });

    test('batches sent without waiting: stored, answered and announced in the order sent, a session closed in the batch after its opening', async () => {
      const api = await startApi(server);
      const ui = await connectUi(api, await signIn(api.db, 'viewer'));
      const { agent, captureId } = await ready(api);
      const seen: string[] = [];
      for (const e of ['session:opened', 'session:updated', 'session:closed'] as const) ui.on(e, (m: { engineSessionId: number }) => seen.push(`${e} ${m.engineSessionId}`));
      const base = smtpBatch(captureId);
      const [open1, close1] = base.sessions as [BatchSessionOpened, BatchSessionClosed];
      const packet = base.packets[1]!;
      // Batch k opens session k+1 and closes session k; each carries a packet and a timeline entry of both.
      const N = 6;
      const batches = Array.from({ length: N }, (_, k): BatchPayload => ({
        ...base, batchId: `b-${k}`, seq: k, mails: [],
        sessions: [
          { ...open1, sessionId: k + 1, client: { addr: CLIENT.addr, port: 41000 + k } },
          ...(k === 0 ? [] : [{ ...close1, sessionId: k, client: { addr: CLIENT.addr, port: 41000 + k - 1 }, mails: 0, outcome: 'no-mail' as const }]),
        ],
        packets: [
          { ...packet, no: 2 * k + 1, sessionId: k + 1 }, ...(k === 0 ? [] : [{ ...packet, no: 2 * k + 2, sessionId: k }]),
          // The first batch is the largest, so that its records take longest to store.
          ...(k === 0 ? Array.from({ length: 4000 }, (_, i) => ({ ...base.packets[6]!, no: 1000 + i })) : []),
        ],
        timeline: [{ ...base.timeline[0]!, sessionId: k + 1, seq: 1 }, ...(k === 0 ? [] : [{ ...base.timeline[1]!, sessionId: k, seq: 2 }])],
      }));
      const acks: number[] = [];
      await Promise.all(batches.map((b, k) => send(agent, b).then((ack) => {
        assert.equal(ack.ok, true, JSON.stringify(ack));
        acks.push(k);
      })));
      assert.deepEqual(acks, [0, 1, 2, 3, 4, 5], 'answered in the order sent');
      const expected: string[] = [];
      for (let k = 0; k < N; k++) {
        expected.push(`session:opened ${k + 1}`, `session:updated ${k + 1}`);
        if (k > 0) expected.push(`session:closed ${k}`);
      }
      await waitFor(() => seen.length >= expected.length);
      assert.deepEqual(seen, expected);
      const rows = await api.db.prisma.session.findMany({ where: { captureId }, orderBy: { engineSessionId: 'asc' }, select: { id: true, engineSessionId: true, state: true } });
      assert.deepEqual(rows.map((r) => [r.engineSessionId, r.state]), [[1, 'closed'], [2, 'closed'], [3, 'closed'], [4, 'closed'], [5, 'closed'], [6, 'open']]);
      const packets = await api.db.prisma.packet.findMany({ where: { captureId }, orderBy: { frameNo: 'asc' }, select: { frameNo: true, sessionId: true } });
      const idOf = new Map(rows.map((r) => [r.engineSessionId, r.id]));
      assert.deepEqual(packets.map((p) => [p.frameNo, p.sessionId]), batches.flatMap((b) => b.packets.map((p) => [p.no, p.sessionId === undefined ? null : idOf.get(p.sessionId)])).sort((a, b) => Number(a[0]) - Number(b[0])));
      assert.equal(await api.db.prisma.timelineEntry.count({ where: { sessionId: { in: rows.map((r) => r.id) } } }), 2 * N - 1);
      const capture = await api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId } });
      assert.deepEqual([capture.sessions, Number(capture.packets)], [N, 2 * N - 1 + 4000]);
    });

    test('a batch whose records fail to store: its sessions are stored and announced, the batch sent again stores the rest', async () => {
      const api = await startApi(server);
      const ui = await connectUi(api, await signIn(api.db, 'viewer'));
      const { agent, captureId } = await ready(api);
      const seen: string[] = [];
      for (const e of ['session:opened', 'session:closed', 'mail'] as const) ui.on(e, () => seen.push(e));
      await api.db.pool.query(`
        CREATE FUNCTION refuse_packet() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$;
        CREATE TRIGGER refuse_packet BEFORE INSERT ON "Packet" FOR EACH ROW EXECUTE FUNCTION refuse_packet();`);
      const batch = smtpBatch(captureId);
      const failed = await send(agent, batch);
      assert.deepEqual(failed, { ok: false, error: 'could not store the batch; see the API log', retry: true }, 'the agent is told to send it again');
      const counts = await rowCounts(api.db);
      assert.deepEqual([counts.sessions, counts.packets, counts.timeline, counts.mails], [1, 0, 0, 0]);
      await waitFor(() => seen.length === 2);
      assert.deepEqual(seen, ['session:opened', 'session:closed']);
      await api.db.pool.query('DROP TRIGGER refuse_packet ON "Packet"');
      assert.deepEqual(await send(agent, batch), { ok: true, stored: { packets: 7, sessions: 0, timeline: 5, mails: 1 } });
      const capture = await api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId } });
      assert.deepEqual([capture.sessions, Number(capture.packets), capture.mails], [1, 7, 1]);
      await waitFor(() => seen.length === 3);
      assert.deepEqual(seen, ['session:opened', 'session:closed', 'mail']);
    });

    test('a replayed batch stores nothing twice; an overlapping one only its new rows', async () => {
      const api = await startApi(server);
      const { agent, captureId } = await ready(api);
      const batch = smtpBatch(captureId);
      assert.equal((await send(agent, batch)).ok, true);
      const before = await rowCounts(api.db);
      const captureBefore = await api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId } });
      const again = await send(agent, batch);
      assert.deepEqual(again, { ok: true, stored: { packets: 0, sessions: 0, timeline: 0, mails: 0 } });
      assert.deepEqual(await rowCounts(api.db), before);
      assert.deepEqual(await api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId } }), captureBefore);

      // Frames 6-7 again plus 8-9 new, timeline 5 again plus 6 new: only the new rows are added.
      const overlap: BatchPayload = {
        captureId, batchId: 'b-1', seq: 1, sessions: [], mails: [],
        packets: [...batch.packets.slice(5), ...[8, 9].map((no) => ({ ...batch.packets[1]!, no, raw: frame(no, 300), capturedLength: 300, length: 300 }))],
        timeline: [batch.timeline[4]!, { ...batch.timeline[4]!, seq: 6, verb: 'QUIT' }],
      };
      assert.deepEqual(await send(agent, overlap), { ok: true, stored: { packets: 2, sessions: 0, timeline: 1, mails: 0 } });
      const after = await rowCounts(api.db);
      assert.equal(after.packets, before.packets + 2);
      assert.equal(after.timeline, before.timeline + 1);
      const p9 = await api.db.prisma.packet.findUniqueOrThrow({ where: { captureId_frameNo: { captureId, frameNo: 9 } } });
      assert.deepEqual(new Uint8Array(p9.raw), frame(9, 300));
      assert.notEqual(p9.sessionId, null, 'a session opened by an earlier batch is found');
      assert.equal((await api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId } })).packets, 9n);
    });

    test('malformed batches are refused with a reason and store nothing', async () => {
      const api = await startApi(server);
      const { agent, captureId } = await ready(api);
      const other = await createAgent(api.db);
      const otherCapture = await createCapture(api.db, other.id);
      const good = (): BatchPayload => smtpBatch(captureId);
      const cases: [string, unknown, RegExp][] = [
        ['not an object', 'hello', /^invalid batch: \(payload\): must be object/],
        ['packets as base64 text', { ...packBatch(good()), packets: 'AAEC' }, /packets: must be binary/],
        ['packet records as objects (not the wire form)', { ...packBatch(good()), packets: good().packets }, /packets: must be binary/],
        ['a frame byte missing', (() => { const b = packBatch(good()); return { ...b, packets: b.packets.subarray(0, b.packets.byteLength - 1) }; })(), /packets: the frames take \d+ bytes but the packets' capturedLength add up to/],
        ['unknown timeline kind', (() => { const b = good() as unknown as { timeline: Record<string, unknown>[] }; b.timeline[0]!.kind = 'chat'; return b; })(), /timeline\/0\/kind: must be one of/],
        ['string too long', (() => { const b = good() as unknown as { packets: Record<string, unknown>[] }; b.packets[0]!.src = 'x'.repeat(65); return b; })(), /packets\/0\/src: must be at most 64 characters/],
        ['extra field', { ...packBatch(good()), sql: 'DROP TABLE' }, /unknown field sql/],
        ['records that are not JSON', { ...packBatch(good()), records: Buffer.from('{"sessions":') }, /records: not JSON/],
        ['missing mail summary', (() => { const b = good() as unknown as { mails: Record<string, unknown>[] }; delete b.mails[0]!.summary; return b; })(), /mails\/0: must have required propert/],
        ['another agent\'s capture', { ...good(), captureId: otherCapture }, /is not a capture of this agent/],
        ['unknown capture', { ...good(), captureId: '00000000-0000-4000-8000-000000000000' }, /is not a capture of this agent/],
      ];
      for (const [name, payload, reason] of cases) {
        const ack = await send(agent, payload);
        assert.equal(ack.ok, false, name);
        assert.match(ack.ok ? '' : ack.error, reason, name);
      }
      assert.deepEqual(await rowCounts(api.db), { sessions: 0, packets: 0, timeline: 0, mails: 0, attachments: 0 });
      assert.ok(api.logs.some((l) => l.includes('batch refused')), 'refusals are logged');

      // A batch before hello is refused too.
      const { token } = await createAgent(api.db);
      const fresh = await connectAgent(api, token);
      const early = await send(fresh, good());
      assert.equal(early.ok, false);
      assert.equal((await rowCounts(api.db)).packets, 0);
    });

    test('a wrong or missing token is refused at connect, and logged', async () => {
      const api = await startApi(server);
      await createAgent(api.db);
      await assert.rejects(connectAgent(api, 'not-a-token'), { message: 'invalid agent token' });
      await assert.rejects(connectAgent(api, undefined), { message: 'invalid agent token' });
      assert.ok(api.logs.some((l) => l.includes('invalid agent token')));
    });

    test('settings are pushed to connected agents when they change; the ingest follows Save Mail', async () => {
      const api = await startApi(server);
      const { agent, captureId } = await ready(api);
      const folder = join(api.dataDir, 'saved-mail');
      const settings: MailModuleSettings = { ...DEFAULT_MAIL_SETTINGS, saveMail: true, saveLocation: folder, pop3Ports: [110, 1110] };
      await api.db.prisma.setting.upsert({ where: { id: 1 }, create: { ...settings, smtpPorts: [25, 587], pop3Ports: [110, 1110] }, update: { saveMail: true, saveLocation: folder, pop3Ports: [110, 1110] } });
      const pushed = new Promise<MailModuleSettings>((resolve) => agent.once('settings', resolve));
      api.events.emit('settings-changed', settings);
      assert.deepEqual(await pushed, settings);

      assert.equal((await send(agent, smtpBatch(captureId))).ok, true);
      const mail = await api.db.prisma.mail.findFirstOrThrow({});
      assert.deepEqual(new Uint8Array(mail.raw!), MAIL);
      const expectedPath = join(folder, `${captureId}-1-1.eml`);
      assert.equal(mail.savedPath, expectedPath);
      assert.deepEqual(new Uint8Array(await readFile(expectedPath)), MAIL);
    });

    test('start and stop round trip; the capture follows capture:status', async () => {
      const api = await startApi(server);
      const { agent, agentId, captureId } = await ready(api);
      const control = api.gateway.agentControl;
      assert.equal(control.connected(agentId), true);
      const starts: unknown[] = [];
      agent.on('capture:start', (payload, ack: (r: CommandAck) => void) => {
        starts.push(payload);
        ack(payload.interface === 'eth0' ? { ok: true } : { ok: false, error: `no interface ${payload.interface}` });
      });
      agent.on('capture:stop', (payload, ack: (r: CommandAck) => void) => {
        agent.emit('capture:status', { captureId: payload.captureId, state: 'stopped', received: 100, dropped: 3, queued: 0 });
        ack({ ok: true });
      });
      await control.start(agentId, { captureId, interface: 'eth0', filter: 'tcp port 25' });
      assert.deepEqual(starts, [{ captureId, interface: 'eth0', filter: 'tcp port 25' }]);
      await assert.rejects(control.start(agentId, { captureId, interface: 'wlan9', filter: '' }), /agent refused capture:start: no interface wlan9/);

      agent.emit('capture:status', { captureId, state: 'running', received: 10, dropped: 1, queued: 0 });
      await waitFor(async () => (await api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId } })).drops === 1n);

      await control.stop(captureId);
      await waitFor(async () => (await api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId } })).status === 'stopped');
      const c = await api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId } });
      assert.equal(c.drops, 3n);
      assert.ok(c.stoppedAt !== null);

      // An agent that does not answer: the command times out with a message.
      agent.off('capture:start');
      agent.on('capture:start', () => undefined);
      await assert.rejects(control.start(agentId, { captureId, interface: 'eth0', filter: '' }), /did not answer capture:start within 2 s/);

      agent.disconnect();
      await waitFor(() => !control.connected(agentId));
      await assert.rejects(control.stop(captureId), AgentNotConnectedError);
    });

    test('POST /api/captures and /stop: an agent\'s refusal reaches the user as a 502 with its words; the capture is failed', async () => {
      const api = await startApi(server);
      const { id, token } = await createAgent(api.db, 'probe-7');
      const agent = await connectAgent(api, token);
      assert.equal((await hello(agent)).ok, true);
      const admin = await signIn(api.db, 'admin');
      agent.on('capture:start', (payload, ack: (r: CommandAck) => void) => {
        ack(payload.filter.includes('bogus') ? { ok: false, error: `the capture filter '${payload.filter}' does not compile: syntax error` } : { ok: true });
      });
      agent.on('capture:stop', (_payload, ack: (r: CommandAck) => void) => ack({ ok: false, error: 'device went away' }));
      const post = (path: string, body?: unknown) =>
        fetch(`${api.base}/api${path}`, {
          method: 'POST',
          headers: { cookie: admin, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });

      const refused = await post('/captures', { agentId: id, interface: 'eth0', filter: 'bogus and (' });
      assert.equal(refused.status, 502);
      const body = (await refused.json()) as { message: string; statusCode: number };
      assert.equal(body.statusCode, 502);
      assert.match(body.message, /^agent 'probe-7' could not start the capture: .*the capture filter '.*bogus and \('.* does not compile: syntax error$/);
      const failed = await api.db.prisma.capture.findFirstOrThrow({ where: { agentId: id } });
      assert.equal(failed.status, 'failed');
      assert.match(failed.error ?? '', /does not compile: syntax error/);

      const started = await post('/captures', { agentId: id, interface: 'eth0', filter: '' });
      assert.equal(started.status, 201);
      const { id: captureId } = (await started.json()) as { id: string };
      const stop = await post(`/captures/${captureId}/stop`);
      assert.equal(stop.status, 502);
      assert.match(((await stop.json()) as { message: string }).message, /^the agent could not stop the capture: .*device went away$/);
      agent.disconnect();
    });

    test('a hello listing the running captures stops the others (the agent restarted); without the list nothing changes', async () => {
      const api = await startApi(server);
      const { id, token } = await createAgent(api.db, 'probe-1');
      const live = await createCapture(api.db, id);
      const lost = await createCapture(api.db, id);
      const done = await api.db.prisma.capture.create({ data: { agentId: id, source: 'live', status: 'stopped', interface: 'eth0', stoppedAt: new Date() } });
      const upload = await api.db.prisma.capture.create({ data: { agentId: id, source: 'upload', status: 'running', fileName: 'x.pcap' } });
      const { id: otherAgent } = await createAgent(api.db, 'probe-2');
      const others = await createCapture(api.db, otherAgent);
      const ui = await connectUi(api, await signIn(api.db, 'viewer'));
      const announced: { captureId: string; status: string; error: string | null }[] = [];
      ui.on('capture:status', (c) => announced.push(c));

      // An older agent (no list) changes nothing.
      const old = await connectAgent(api, token);
      assert.equal((await hello(old)).ok, true);
      const status = async (captureId: string) => api.db.prisma.capture.findUniqueOrThrow({ where: { id: captureId }, select: { status: true, error: true, stoppedAt: true } });
      assert.equal((await status(lost)).status, 'running');
      old.disconnect();

      const agent = await connectAgent(api, token);
      const ack = await agent.timeout(5000).emitWithAck('hello', { name: 'probe-1', host: 'probe.example', version: '0.1.0', interfaces: [], captures: [live] });
      assert.equal(ack.ok, true);
      const stopped = await status(lost);
      assert.equal(stopped.status, 'stopped');
      assert.equal(stopped.error, 'agent restarted: capture interrupted');
      assert.ok(stopped.stoppedAt !== null);
      assert.deepEqual(await status(live), { status: 'running', error: null, stoppedAt: null }, 'a capture the agent still runs goes on');
      assert.equal((await status(done.id)).error, null, 'an ended capture is left as it was');
      assert.equal((await status(upload.id)).status, 'running', 'an import is not a live capture');
      assert.equal((await status(others)).status, 'running', "another agent's capture is not touched");
      await waitFor(() => announced.some((c) => c.captureId === lost));
      assert.deepEqual(announced.map((c) => [c.captureId, c.status, c.error]), [[lost, 'stopped', 'agent restarted: capture interrupted']]);

      // Its spooled batches are still taken.
      assert.equal((await send(agent, smtpBatch(lost))).ok, true);
      // A reconnect (network blip) that lists the capture keeps it running.
      const again = await agent.timeout(5000).emitWithAck('hello', { name: 'probe-1', host: 'probe.example', version: '0.1.0', interfaces: [], captures: [live] });
      assert.equal(again.ok, true);
      assert.equal((await status(live)).status, 'running');
    });

    test('/ui: refused without a login; a signed-in browser sees sessions, mails and stats', async () => {
      const api = await startApi(server);
      await assert.rejects(connectUi(api, undefined), { message: 'not signed in' });
      await assert.rejects(connectUi(api, 'mailscope_session=forged'), { message: 'not signed in' });
      const ui = await connectUi(api, await signIn(api.db, 'viewer'));
      const seen: string[] = [];
      ui.onAny((event: string) => seen.push(event));
      // A stats event is the delta stored since the previous tick (1 s), so the two batches may land in
      // one tick or in two: the sum is what is asserted.
      const ticks: UiStatsTick[] = [];
      ui.on('stats', (s) => ticks.push(s));
      const total = () =>
        ticks.reduce((t, s) => ({ packets: t.packets + s.packets, sessions: t.sessions + s.sessions, timeline: t.timeline + s.timeline, mails: t.mails + s.mails, bytes: t.bytes + s.bytes }), { packets: 0, sessions: 0, timeline: 0, mails: 0, bytes: 0 });
      const { agent, captureId } = await ready(api);
      const first = smtpBatch(captureId);
      // Open the session in one batch and close it in the next, so that an update is announced between.
      await send(agent, { ...first, sessions: [first.sessions[0]!], mails: [], timeline: first.timeline.slice(0, 2) });
      await send(agent, { ...first, batchId: 'b-1', seq: 1, sessions: [first.sessions[1]!], packets: [], timeline: first.timeline.slice(2) });
      await waitFor(() => total().mails > 0 && total().timeline >= 5);
      await new Promise((r) => setTimeout(r, 1200)); // one more tick: nothing is counted twice
      assert.deepEqual(total(), { packets: 7, sessions: 1, timeline: 5, mails: 1, bytes: first.packets.reduce((n, p) => n + p.length, 0) });
      assert.ok(ticks.every((t) => typeof t.at === 'number' && t.at > 0));
      assert.deepEqual(seen.filter((e) => e !== 'stats'), ['session:opened', 'session:updated', 'mail', 'session:closed']);
    });
  });
}

async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
