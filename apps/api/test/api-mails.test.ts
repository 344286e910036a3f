/** Mails list filters the dashboard uses (direction, ids of live events) and the detail's header fields - on every test server. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Database } from '@mailscope/db';
import { T0, createUser, login, testApp, testDatabases } from './helpers.ts';

async function seedSession(db: Database): Promise<bigint> {
  const capture = await db.prisma.capture.create({ data: { source: 'upload', status: 'done' } });
  const session = await db.prisma.session.create({
    data: { captureId: capture.id, engineSessionId: 1, protocol: 'smtp', clientAddr: '192.0.2.1', clientPort: 40001, serverAddr: '198.51.100.1', serverPort: 25, startTs: BigInt(T0) },
  });
  return session.id;
}

for (const server of testDatabases()) {
  describe(`mails (${server.name})`, () => {
    test('list: direction and ids filter, combined with q', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const cookie = await login(app, await createUser(db, 'viewer'));
      const sessionId = await seedSession(db);
      const mails = [];
      for (let i = 0; i < 4; i++) {
        mails.push(await db.prisma.mail.create({
          data: {
            sessionId, index: i + 1, direction: i % 2 === 0 ? 'sent' : 'retrieved', command: i % 2 === 0 ? 'DATA' : 'RETR', subject: i < 2 ? `alpha ${i}` : `beta ${i}`,
            size: 10, sha256: 'x', complete: true, startTs: BigInt(T0 + i), endTs: BigInt(T0 + i),
          },
        }));
      }
      const ids = async (qs: string) => {
        const res = await app.inject({ method: 'GET', url: `/api/mails?sessionId=${sessionId}&${qs}`, headers: { cookie } });
        assert.equal(res.statusCode, 200, res.body);
        return (res.json() as { mails: { id: string }[] }).mails.map((m) => m.id);
      };
      const [m0, m1, m2, m3] = mails.map((m) => String(m.id)) as [string, string, string, string];
      assert.deepEqual(await ids('direction=sent'), [m2, m0]);
      assert.deepEqual(await ids('direction=retrieved'), [m3, m1]);
      assert.deepEqual(await ids(`ids=${m0},${m3}`), [m3, m0]);
      assert.deepEqual(await ids(`ids=${m0},${m1},${m3}&q=alpha`), [m1, m0], 'ids does not bypass the search');
      assert.deepEqual(await ids('ids=999999999'), []);

      for (const bad of ['direction=both', 'ids=', 'ids=1,,2', 'ids=abc', `ids=${Array.from({ length: 101 }, (_, i) => i + 1).join(',')}`]) {
        const res = await app.inject({ method: 'GET', url: `/api/mails?${bad}`, headers: { cookie } });
        assert.equal(res.statusCode, 400, bad);
      }
    });

    test('detail: header fields in mail order with names as written; none without raw', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const cookie = await login(app, await createUser(db, 'viewer'));
      const sessionId = await seedSession(db);
      const raw = Buffer.from('Received: from a\r\n  by b\r\nFrom: a@example.org\r\nX-Custom-Thing: 1\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody\r\n');
      const common = { sessionId, direction: 'sent' as const, command: 'DATA', size: raw.length, sha256: 'x', complete: true, startTs: BigInt(T0), endTs: BigInt(T0) };
      const saved = await db.prisma.mail.create({ data: { ...common, index: 1, raw } });
      const notSaved = await db.prisma.mail.create({ data: { ...common, index: 2 } });

      const res = await app.inject({ method: 'GET', url: `/api/mails/${saved.id}`, headers: { cookie } });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json().body as { headers: { name: string; value: string }[]; headersTruncated: boolean; text: string };
      assert.deepEqual(body.headers, [
        { name: 'Received', value: 'from a  by b' },
        { name: 'From', value: 'a@example.org' },
        { name: 'X-Custom-Thing', value: '1' },
        { name: 'Subject', value: '=?utf-8?q?caf=C3=A9?=' },
      ]);
      assert.equal(body.headersTruncated, false);
      assert.equal(body.text, 'body\n');

      const none = await app.inject({ method: 'GET', url: `/api/mails/${notSaved.id}`, headers: { cookie } });
      assert.equal(none.json().body, null);
    });
  });
}
