/** The global packet list: keyset paging merged over captures, every filter, credentials masked in the info column. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { insertPackets, insertTimelineEntries } from '@mailscope/db';
import type { Database, PacketRow } from '@mailscope/db';
import { maskCredentialInfo, parseFlagFilter } from '../src/repositories/packets-repository.ts';
import type { PacketItem } from '../src/repositories/packets-repository.ts';
import { T0, createUser, login, testApp, testDatabases } from './helpers.ts';

const PER_CAPTURE = 150;
const RAW = new Uint8Array(60);

type Packet = PacketItem;

/**
 * One capture of 150 packets, two per timestamp (so paging must order by frame too), starting
 * at the same time in every capture (so it must order by capture as well): every 10th is UDP
 * from 192.0.2.50, the others TCP between 192.0.2.9:4000x and 198.51.100.7:25; flags cycle
 * through SYN, SYN+ACK, ACK, PSH+ACK (with payload), FIN+ACK, RST; every 7th TCP packet is a
 * retransmission.
 */
function capturePackets(): PacketRow[] {
  return Array.from({ length: PER_CAPTURE }, (_, i): PacketRow => {
    const common = { no: i + 1, ts: T0 + Math.floor(i / 2) * 1000, length: 60, capturedLength: 60, linkType: 1, raw: RAW };
    if (i % 10 === 0) return { ...common, src: '192.0.2.50', dst: '198.51.100.7', protocol: 'UDP', info: 'UDP' };
    const flags = [0x02, 0x12, 0x10, 0x18, 0x11, 0x04][i % 6]!;
    const payload = flags === 0x18 ? 20 : 0;
    return {
      ...common,
      src: '192.0.2.9', dst: '198.51.100.7', srcPort: 40000 + (i % 4), dstPort: 25,
      protocol: payload > 0 ? 'SMTP' : 'TCP', tcpFlags: flags, seq: i, ack: i, payloadLength: payload,
      info: payload > 0 ? 'C: NOOP' : `${40000 + (i % 4)} → 25`,
      tcpAnalysis: i % 7 === 0 ? ['retransmission'] : [],
    };
  });
}

async function seedCaptures(db: Database): Promise<string[]> {
  const ids: string[] = [];
  for (let c = 0; c < 2; c++) {
    const capture = await db.prisma.capture.create({ data: { source: 'upload', status: 'done', fileName: `seed-${c}.pcap` } });
    assert.equal((await insertPackets(db.pool, capture.id, capturePackets())).inserted, PER_CAPTURE);
    ids.push(capture.id);
  }
  // An empty capture: the merge over captures must not trip on it.
  await db.prisma.capture.create({ data: { source: 'upload', status: 'done', fileName: 'empty.pcap' } });
  return ids;
}

for (const server of testDatabases()) {
  describe(`packets (${server.name})`, () => {
    test('cursor paging over two captures: pages distinct, complete, in (ts, capture, frame) order; every filter', async () => {
      const db = await server.open();
      const [a, b] = await seedCaptures(db) as [string, string];
      const app = await testApp(db);
      const cookie = await login(app, await createUser(db, 'viewer'));
      const get = async (qs: string): Promise<{ packets: Packet[]; next: string | null }> => {
        const res = await app.inject({ method: 'GET', url: `/api/packets?${qs}`, headers: { cookie } });
        assert.equal(res.statusCode, 200, res.body);
        return res.json();
      };
      const all = async (qs: string): Promise<Packet[]> => {
        const out: Packet[] = [];
        let cursor: string | null = null;
        do {
          const page = await get(`${qs}&limit=70${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
          assert.ok(page.packets.length <= 70);
          out.push(...page.packets);
          cursor = page.next;
        } while (cursor !== null);
        return out;
      };
      const seeded = new Set([a, b]);
      const mine = (p: Packet) => seeded.has(p.captureId);

      const seen = (await all('')).filter(mine);
      assert.equal(seen.length, 2 * PER_CAPTURE);
      assert.equal(new Set(seen.map((p) => `${p.captureId}:${p.frameNo}`)).size, 2 * PER_CAPTURE);
      const key = (p: Packet): [number, string, number] => [p.ts, p.captureId, p.frameNo];
      for (let i = 1; i < seen.length; i++) {
        const [t1, c1, f1] = key(seen[i - 1]!);
        const [t2, c2, f2] = key(seen[i]!);
        assert.ok(t1 < t2 || (t1 === t2 && (c1 < c2 || (c1 === c2 && f1 < f2))), `order at ${i}`);
      }
      // Both captures start at T0: the first four packets are frames 1-2 of the lower id, then of the other.
      const [lo, hi] = [a, b].sort();
      assert.deepEqual(seen.slice(0, 4).map((p) => [p.captureId, p.frameNo]), [[lo, 1], [lo, 2], [hi, 1], [hi, 2]]);

      const expect = (pred: (p: PacketRow) => boolean): number => 2 * capturePackets().filter(pred).length;
      const count = async (qs: string): Promise<Packet[]> => (await all(qs)).filter(mine);

      assert.equal((await count(`captureId=${a}`)).length, PER_CAPTURE);
      assert.ok((await count(`captureId=${a}`)).every((p) => p.captureId === a));
      assert.equal((await count('protocol=udp')).length, expect((p) => p.protocol === 'UDP'));
      assert.equal((await count('address=192.0.2.50')).length, expect((p) => p.src === '192.0.2.50'));
      assert.equal((await count('port=40001')).length, expect((p) => p.srcPort === 40001));
      const syn = await count('flags=SYN,!ACK');
      assert.equal(syn.length, expect((p) => p.tcpFlags === 0x02));
      assert.ok(syn.every((p) => p.tcpFlags === 0x02));
      assert.equal((await count('flags=SYN')).length, expect((p) => p.tcpFlags === 0x02 || p.tcpFlags === 0x12));
      assert.equal((await count('flags=RST')).length, expect((p) => p.tcpFlags === 0x04));
      assert.equal((await count('payload=true')).length, expect((p) => (p.payloadLength ?? 0) > 0));
      assert.equal((await count('payload=false')).length, expect((p) => (p.payloadLength ?? 0) === 0));
      assert.equal((await count('analysis=any')).length, expect((p) => (p.tcpAnalysis ?? []).length > 0));
      assert.equal((await count('analysis=retransmission&flags=PSH')).length, expect((p) => p.tcpFlags === 0x18 && (p.tcpAnalysis ?? []).includes('retransmission')));
      assert.equal((await count('analysis=overlap')).length, 0);
      // 10 ms = timestamps T0 .. T0 + 9 ms, two packets each, in both captures.
      assert.equal((await count(`from=${T0}&to=${T0 + 9_999}`)).length, 40);
      assert.equal((await count(`captureId=${b}&flags=FIN&port=40001`)).length, expect((p) => p.tcpFlags === 0x11 && p.srcPort === 40001) / 2);

      for (const bad of ['flags=SYNN', 'flags=SYN,!SYN', 'analysis=lost', 'payload=maybe', `from=${T0 + 5}&to=${T0}`, 'cursor=nonsense']) {
        const res = await app.inject({ method: 'GET', url: `/api/packets?${bad}`, headers: { cookie } });
        assert.equal(res.statusCode, 400, bad);
      }
    });

    test('credentials are masked in the info of client packets: SASL lines through the timeline, PASS / AUTH PLAIN by their verb', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const cookie = await login(app, await createUser(db, 'viewer'));
      const capture = await db.prisma.capture.create({ data: { source: 'upload', status: 'done', fileName: 'auth.pcap' } });
      const session = await db.prisma.session.create({
        data: { captureId: capture.id, engineSessionId: 1, protocol: 'smtp', clientAddr: '192.0.2.1', clientPort: 40001, serverAddr: '198.51.100.1', serverPort: 25, startTs: BigInt(T0) },
      });
      const lines: [dir: 'client' | 'server', info: string, analysis?: string[]][] = [
        ['client', 'C: AUTH LOGIN'],
        ['server', 'S: 334 VXNlcm5hbWU6'],
        ['client', 'C: Ym9i'],
        ['server', 'S: 334 UGFzc3dvcmQ6'],
        ['client', 'C: aHVudGVyMg=='],
        ['client', '[retransmission] C: aHVudGVyMg==', ['retransmission']],
        ['server', 'S: 235 ok'],
        ['client', 'C: AUTH PLAIN AGJvYgBodW50ZXIy'],
        ['client', 'C: PASS hunter2'],
        ['client', 'C: USER bob'],
        ['client', 'C: MAIL FROM:<bob@example.org>'],
        ['client', '40001 → 25 [ACK] Seq=1 Ack=1 Win=1 Len=0'],
      ];
      const rows: PacketRow[] = lines.map(([dir, info, analysis], i) => ({
        no: i + 1, ts: T0 + i, src: dir === 'client' ? '192.0.2.1' : '198.51.100.1', dst: dir === 'client' ? '198.51.100.1' : '192.0.2.1',
        protocol: 'SMTP', length: 60, capturedLength: 60, payloadLength: info.startsWith('4') ? 0 : 10, info, sessionId: 1, dir, tcpAnalysis: analysis, linkType: 1, raw: RAW,
      }));
      await insertPackets(db.pool, capture.id, rows);
      await insertTimelineEntries(db.pool, capture.id, [
        { sessionId: 1, seq: 1, ts: T0, dir: 'client', kind: 'command', verb: 'AUTH', arg: 'LOGIN', frames: [1] },
        { sessionId: 1, seq: 2, ts: T0 + 6, dir: 'client', kind: 'auth', verb: 'LOGIN', arg: 'user "bob", accepted', frames: [1, 3, 5, 6], auth: { mechanism: 'LOGIN', user: 'bob', password: 'hunter2', success: true } },
      ]);
      const expected = [
        'C: AUTH LOGIN', 'S: 334 VXNlcm5hbWU6', 'C: ****', 'S: 334 UGFzc3dvcmQ6', 'C: ****', '[retransmission] C: ****', 'S: 235 ok',
        'C: AUTH PLAIN ****', 'C: PASS ****', 'C: USER bob', 'C: MAIL FROM:<bob@example.org>', '40001 → 25 [ACK] Seq=1 Ack=1 Win=1 Len=0',
      ];
      for (const url of [`/api/packets?captureId=${capture.id}`, `/api/packets?sessionId=${session.id}`, `/api/sessions/${session.id}/packets`]) {
        const res = await app.inject({ method: 'GET', url: `${url}${url.includes('?') ? '&' : '?'}limit=100`, headers: { cookie } });
        assert.equal(res.statusCode, 200, res.body);
        const got = (res.json() as { packets: Packet[] }).packets.map((p) => p.info);
        assert.deepEqual(got, expected, url);
        assert.ok(!res.body.includes('hunter2') && !res.body.includes('aHVudGVyMg') && !res.body.includes('Ym9i'), url);
      }
    });

    test('maskCredentialInfo and parseFlagFilter', () => {
      assert.equal(maskCredentialInfo('C: APOP bob c4c9334bac560ecc979e58001b3e22fb'), 'C: APOP bob ****');
      assert.equal(maskCredentialInfo('C: pass hunter2'), 'C: pass ****');
      assert.equal(maskCredentialInfo('S: +OK'), 'S: +OK');
      assert.equal(maskCredentialInfo('C: AUTH XOAUTH2'), 'C: AUTH XOAUTH2');
      assert.deepEqual(parseFlagFilter('syn, !ack'), { set: 0x02, clear: 0x10 });
      assert.deepEqual(parseFlagFilter('FIN,PSH,URG,ECE,CWR,RST'), { set: 0xed, clear: 0 });
      assert.throws(() => parseFlagFilter('SYN,!SYN'), /both set and clear/);
    });
  });
}
