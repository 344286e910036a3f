/** Sessions list filters and cursor paging, .pcap export, data flow, .eml download - on every test server. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { insertPackets } from '@mailscope/db';
import type { Database, PacketRow } from '@mailscope/db';
import { CaptureReader } from '@mailscope/protocols/capture-reader';
import type { Frame } from '@mailscope/protocols';
import { T0, createUser, login, tcpFrame, testApp, testDatabases } from './helpers.ts';

const SESSIONS = 300;

/** 300 sessions one second apart: every 3rd POP3 (port 110), the rest SMTP (25); every 5th from 192.0.2.5. */
async function seed(db: Database): Promise<string> {
  const capture = await db.prisma.capture.create({ data: { source: 'upload', status: 'done', fileName: 'seed.pcap' } });
  await db.prisma.session.createMany({
    data: Array.from({ length: SESSIONS }, (_, i) => ({
      captureId: capture.id,
      engineSessionId: i + 1,
      protocol: i % 3 === 0 ? ('pop3' as const) : ('smtp' as const),
      clientAddr: i % 5 === 0 ? '192.0.2.5' : '192.0.2.9',
      clientPort: 40000 + i,
      serverAddr: '198.51.100.7',
      serverPort: i % 3 === 0 ? 110 : 25,
      // Pairs of sessions share a start time, so paging must also order by id.
      startTs: BigInt(T0 + Math.floor(i / 2) * 1_000_000),
      state: 'closed',
      outcome: i % 7 === 0 ? 'auth-failed' : 'delivered',
      helo: i === 42 ? 'mx.example.org' : 'client.example.net',
    })),
  });
  return capture.id;
}

for (const server of testDatabases()) {
  describe(`sessions (${server.name})`, () => {
    test('cursor paging over 300 sessions: pages distinct, complete, newest first; filters', async () => {
      const db = await server.open();
      const captureId = await seed(db);
      const app = await testApp(db);
      const cookie = await login(app, await createUser(db, 'viewer'));
      const get = async (qs: string) => {
        const res = await app.inject({ method: 'GET', url: `/api/sessions?captureId=${captureId}&${qs}`, headers: { cookie } });
        assert.equal(res.statusCode, 200, res.body);
        return res.json() as { sessions: { id: string; startTs: number; protocol: string; client: { addr: string }; server: { port: number } }[]; next: string | null };
      };
      const seen: { id: string; startTs: number }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await get(`limit=70${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
        assert.ok(page.sessions.length <= 70);
        seen.push(...page.sessions);
        cursor = page.next;
        pages++;
      } while (cursor !== null);
      assert.equal(pages, 5);
      assert.equal(seen.length, SESSIONS);
      assert.equal(new Set(seen.map((s) => s.id)).size, SESSIONS);
      for (let i = 1; i < seen.length; i++) {
        const a = seen[i - 1]!;
        const b = seen[i]!;
        assert.ok(a.startTs > b.startTs || (a.startTs === b.startTs && BigInt(a.id) > BigInt(b.id)), `order at ${i}`);
      }
      assert.equal(seen[0]!.startTs, T0 + 149 * 1_000_000);

      assert.equal((await get('protocol=pop3&limit=500')).sessions.length, 100);
      assert.ok((await get('protocol=pop3&limit=500')).sessions.every((s) => s.protocol === 'pop3' && s.server.port === 110));
      assert.equal((await get('address=192.0.2.5&limit=500')).sessions.length, 60);
      assert.equal((await get('port=110&limit=500')).sessions.length, 100);
      assert.equal((await get('outcome=auth-failed&limit=500')).sessions.length, 43);
      assert.equal((await get('text=MX.EXAMPLE&limit=500')).sessions.length, 1);
      assert.equal((await get('text=%25&limit=500')).sessions.length, 0, '% is a character, not a wildcard');
      // from/to: µs and ISO give the same window (10 s = 20 sessions).
      const us = await get(`from=${T0}&to=${T0 + 9_999_999}&limit=500`);
      const iso = await get('from=2024-05-01T10:00:00Z&to=2024-05-01T10:00:09.999999Z&limit=500');
      assert.equal(us.sessions.length, 20);
      assert.deepEqual(iso.sessions.map((s) => s.id), us.sessions.map((s) => s.id));

      // ids: the sessions live events announced, with the page's filters still applied.
      const pick = [seen[0]!.id, seen[1]!.id, seen[200]!.id];
      const byIds = await get(`ids=${pick.join(',')}&limit=500`);
      assert.deepEqual(byIds.sessions.map((s) => s.id), pick, 'only those, newest first');
      const filtered = await get(`ids=${pick.join(',')}&protocol=${byIds.sessions[0]!.protocol}&limit=500`);
      assert.ok(filtered.sessions.length >= 1 && filtered.sessions.every((s) => s.protocol === byIds.sessions[0]!.protocol));
      const tooMany = await app.inject({ method: 'GET', url: `/api/sessions?ids=${Array.from({ length: 101 }, (_, i) => i + 1).join(',')}`, headers: { cookie } });
      assert.equal(tooMany.statusCode, 400);

      const badCursor = await app.inject({ method: 'GET', url: '/api/sessions?cursor=nonsense', headers: { cookie } });
      assert.equal(badCursor.statusCode, 400);
      const badTime = await app.inject({ method: 'GET', url: '/api/sessions?from=yesterday', headers: { cookie } });
      assert.equal(badTime.statusCode, 400);
      assert.match(badTime.json().message, /^from: 'yesterday' is not a time/);
    });

    test('an open session shows the packets and bytes stored so far; a closed one the counts the engine gave at close', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const cookie = await login(app, await createUser(db, 'viewer'));
      const capture = await db.prisma.capture.create({ data: { source: 'live', status: 'running', interface: 'lo' } });
      const base = { captureId: capture.id, protocol: 'smtp' as const, clientAddr: '192.0.2.1', serverAddr: '198.51.100.1', serverPort: 25 };
      const open = await db.prisma.session.create({ data: { ...base, engineSessionId: 1, clientPort: 40001, startTs: BigInt(T0) } });
      const closed = await db.prisma.session.create({
        data: { ...base, engineSessionId: 2, clientPort: 40002, startTs: BigInt(T0 + 1), state: 'closed', endTs: BigInt(T0 + 9), outcome: 'delivered', packetsClient: 9, packetsServer: 8, bytesClient: 900n, bytesServer: 800n },
      });
      const row = (no: number, sessionId: number, dir: 'client' | 'server', payloadLength: number): PacketRow => ({
        no, ts: T0 + no, src: '', dst: '', protocol: 'SMTP', length: 54 + payloadLength, capturedLength: 54 + payloadLength, info: '', sessionId, dir, payloadLength, linkType: 1, raw: new Uint8Array(54 + payloadLength),
      });
      await insertPackets(db.pool, capture.id, [
        row(1, 1, 'client', 0), row(2, 1, 'server', 0), row(3, 1, 'client', 0), row(4, 1, 'server', 14), row(5, 1, 'client', 8), row(6, 1, 'server', 100),
        row(7, 2, 'client', 5),
      ]);
      const list = await app.inject({ method: 'GET', url: `/api/sessions?captureId=${capture.id}`, headers: { cookie } });
      assert.equal(list.statusCode, 200, list.body);
      const counts = (list.json() as { sessions: { id: string; state: string; packets: unknown; bytes: unknown }[] }).sessions.map((x) => [x.id, x.state, x.packets, x.bytes]);
      assert.deepEqual(counts, [
        [String(closed.id), 'closed', { client: 9, server: 8 }, { client: 900, server: 800 }],
        [String(open.id), 'open', { client: 3, server: 3 }, { client: 8, server: 114 }],
      ]);
      const detail = await app.inject({ method: 'GET', url: `/api/sessions/${open.id}`, headers: { cookie } });
      assert.equal(detail.statusCode, 200, detail.body);
      const d = (detail.json() as { session: { packets: unknown; bytes: unknown } }).session;
      assert.deepEqual([d.packets, d.bytes], [{ client: 3, server: 3 }, { client: 8, server: 114 }]);
    });

    test('.pcap export has the session\'s frames and parses back; the data flow is rebuilt from them', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const cookie = await login(app, await createUser(db, 'admin'));
      const capture = await db.prisma.capture.create({ data: { source: 'upload', status: 'done' } });
      const session = await db.prisma.session.create({
        data: { captureId: capture.id, engineSessionId: 1, protocol: 'smtp', clientAddr: '192.0.2.1', clientPort: 40001, serverAddr: '198.51.100.1', serverPort: 25, startTs: BigInt(T0) },
      });
      await db.prisma.session.create({
        data: { captureId: capture.id, engineSessionId: 2, protocol: 'smtp', clientAddr: '192.0.2.2', clientPort: 40002, serverAddr: '198.51.100.1', serverPort: 25, startTs: BigInt(T0) },
      });
      const C = ['192.0.2.1', 40001] as const;
      const S = ['198.51.100.1', 25] as const;
      const frames = [
        tcpFrame(C[0], C[1], S[0], S[1], 1000, 0, 0x02),
        tcpFrame(S[0], S[1], C[0], C[1], 5000, 1001, 0x12),
        tcpFrame(C[0], C[1], S[0], S[1], 1001, 5001, 0x10),
        tcpFrame(S[0], S[1], C[0], C[1], 5001, 1001, 0x18, '220 mx ready\r\n'),
        tcpFrame(C[0], C[1], S[0], S[1], 1001, 5015, 0x18, 'EHLO a\r\n'),
        tcpFrame(S[0], S[1], C[0], C[1], 5015, 1009, 0x18, '250 hi\r\n'),
      ];
      const rows: PacketRow[] = frames.map((raw, i) => ({
        no: i + 1, ts: T0 + i * 1000, src: '', dst: '', protocol: 'SMTP', length: raw.length, capturedLength: raw.length, info: '', sessionId: 1, linkType: 1, raw,
      }));
      // A frame of the other session, between them: must not be exported.
      rows.push({ ...rows[0]!, no: 7, ts: T0 + 7000, sessionId: 2, raw: tcpFrame('192.0.2.2', 40002, S[0], S[1], 1, 0, 0x02) });
      assert.equal((await insertPackets(db.pool, capture.id, rows)).inserted, 7);

      const res = await app.inject({ method: 'GET', url: `/api/sessions/${session.id}/pcap`, headers: { cookie } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-disposition'], `attachment; filename="session-${session.id}.pcap"`);
      const got: { ts: number; data: Uint8Array; linkType: number }[] = [];
      const reader = new CaptureReader();
      reader.push(res.rawPayload, (f: Frame) => got.push({ ts: f.ts, data: Uint8Array.from(f.data), linkType: f.linkType }));
      assert.equal(reader.end(), undefined);
      assert.equal(got.length, 6);
      got.forEach((f, i) => {
        assert.equal(f.ts, T0 + i * 1000);
        assert.equal(f.linkType, 1);
        assert.deepEqual(f.data, frames[i]);
      });

      const flow = await app.inject({ method: 'GET', url: `/api/sessions/${session.id}/flow`, headers: { cookie } });
      assert.equal(flow.statusCode, 200, flow.body);
      assert.deepEqual(flow.json(), {
        chunks: [
          { dir: 'server', ts: T0 + 3000, frames: [4], text: '220 mx ready\r\n', bytes: 14 },
          { dir: 'client', ts: T0 + 4000, frames: [5], text: 'EHLO a\r\n', bytes: 8 },
          { dir: 'server', ts: T0 + 5000, frames: [6], text: '250 hi\r\n', bytes: 8 },
        ],
        bytes: { client: 8, server: 22 },
        truncated: false,
      });
      const packets = await app.inject({ method: 'GET', url: `/api/sessions/${session.id}/packets?limit=4`, headers: { cookie } });
      assert.deepEqual(packets.json().packets.map((p: { frameNo: number }) => p.frameNo), [1, 2, 3, 4]);
      assert.notEqual(packets.json().next, null);
    });

    test('.eml download equals the stored raw bytes with the right headers; without raw, 404 says why', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const admin = await login(app, await createUser(db, 'admin'));
      const capture = await db.prisma.capture.create({ data: { source: 'upload', status: 'done' } });
      const session = await db.prisma.session.create({
        data: { captureId: capture.id, engineSessionId: 1, protocol: 'smtp', clientAddr: '192.0.2.1', clientPort: 40001, serverAddr: '198.51.100.1', serverPort: 25, startTs: BigInt(T0) },
      });
      // Not valid UTF-8 on purpose: the download must be the bytes, not a re-encoded text.
      const raw = Buffer.concat([Buffer.from('From: a@example.org\r\nSubject: caf'), Buffer.from([0xe9, 0xff]), Buffer.from('\r\n\r\nbody\r\n')]);
      const common = { direction: 'sent' as const, command: 'DATA', size: raw.length, sha256: 'x', complete: true, startTs: BigInt(T0), endTs: BigInt(T0) };
      const saved = await db.prisma.mail.create({ data: { ...common, sessionId: session.id, index: 1, subject: 'café', raw } });
      const notSaved = await db.prisma.mail.create({ data: { ...common, sessionId: session.id, index: 2 } });

      const res = await app.inject({ method: 'GET', url: `/api/mails/${saved.id}/raw`, headers: { cookie: admin } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'message/rfc822');
      assert.equal(res.headers['content-disposition'], `attachment; filename="${saved.id}.eml"`);
      assert.ok(res.rawPayload.equals(raw));

      const missing = await app.inject({ method: 'GET', url: `/api/mails/${notSaved.id}/raw`, headers: { cookie: admin } });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().message, 'Save Mail was off when this mail was captured');

      const list = await app.inject({ method: 'GET', url: `/api/mails?sessionId=${session.id}`, headers: { cookie: admin } });
      assert.deepEqual(list.json().mails.map((m: { id: string; hasRaw: boolean }) => [m.id, m.hasRaw]), [[String(notSaved.id), false], [String(saved.id), true]].sort((a, b) => Number(BigInt(b[0] as string) - BigInt(a[0] as string))));
      const detail = await app.inject({ method: 'GET', url: `/api/mails/${saved.id}`, headers: { cookie: admin } });
      assert.equal(detail.statusCode, 200);
      assert.equal(detail.json().body.text, 'body\n');
    });

    test('stats count sessions per bucket by protocol in SQL', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const cookie = await login(app, await createUser(db, 'viewer'));
      const res = await app.inject({ method: 'GET', url: `/api/stats?from=${T0}&to=${T0 + 60_000_000}&bucketSeconds=60`, headers: { cookie } });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { sessions: { t: number; key: string; count: number }[] };
      // From the 300 seeded sessions (2 per second, first 60 s = 120: 40 pop3, 80 smtp) plus the
      // 2 + 2 + 1 sessions the other tests made at T0.
      const smtp = body.sessions.find((s) => s.key === 'smtp' && s.t === T0)?.count;
      const pop3 = body.sessions.find((s) => s.key === 'pop3' && s.t === T0)?.count;
      assert.equal(pop3, 40);
      assert.equal(smtp, 80 + 5);
    });

    test('stats: buckets cuts the range into that many; extent spans every session, even outside the range', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const cookie = await login(app, await createUser(db, 'viewer'));
      type Body = { from: number; to: number; bucketUs: number; sessions: { t: number; key: string; count: number }[]; extent: { first: number; last: number } | null };
      const get = async (qs: string): Promise<Body> => {
        const res = await app.inject({ method: 'GET', url: `/api/stats?${qs}`, headers: { cookie } });
        assert.equal(res.statusCode, 200, res.body);
        return res.json() as Body;
      };
      const body = await get(`from=${T0}&to=${T0 + 150_000_000}&buckets=3`);
      assert.equal(body.bucketUs, 50_000_000);
      const perBucket = new Map<number, number>();
      for (const s of body.sessions) perBucket.set(s.t, (perBucket.get(s.t) ?? 0) + s.count);
      // 100 seeded sessions per 50 s, and the 5 other tests' sessions at T0.
      assert.deepEqual([...perBucket], [[T0, 105], [T0 + 50_000_000, 100], [T0 + 100_000_000, 100]]);
      assert.deepEqual(body.extent, { first: T0, last: T0 + 149_000_000 });

      // A range with nothing in it (the last hour of the test's clock) still says where the data is.
      const now = Date.now() * 1000;
      const empty = await get(`from=${now - 3_600_000_000}&to=${now}&buckets=60`);
      assert.deepEqual(empty.sessions, []);
      assert.equal(empty.bucketUs, 60_000_000);
      assert.deepEqual(empty.extent, { first: T0, last: T0 + 149_000_000 });

      const bad = await app.inject({ method: 'GET', url: `/api/stats?buckets=0`, headers: { cookie } });
      assert.equal(bad.statusCode, 400);

      // Buckets whose start has fewer digits (before 2001-09-09) still come first: sorted as numbers.
      const old = await db.prisma.capture.create({ data: { source: 'upload', status: 'done', fileName: 'old.pcap' } });
      await db.prisma.session.create({
        data: { captureId: old.id, engineSessionId: 1, protocol: 'pop3', clientAddr: '192.0.2.1', clientPort: 40001, serverAddr: '198.51.100.1', serverPort: 110, startTs: 999_000_000_000_000n },
      });
      const all = await get('from=0&buckets=1440');
      assert.deepEqual(all.extent, { first: 999_000_000_000_000, last: T0 + 149_000_000 });
      const ts = all.sessions.map((s) => s.t);
      assert.ok(ts.length >= 2 && ts[0]! < 1e15, ts.join());
      assert.deepEqual(ts, [...ts].sort((a, b) => a - b));
    });
  });
}
