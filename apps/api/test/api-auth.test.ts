/** Login, roles, settings validation, credential reveal audit, OpenAPI - on every test server. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LoginRateLimiter } from '../src/auth/rate-limit.ts';
import { hashToken } from '../src/auth/tokens.ts';
import { authenticateCookieHeader } from '../src/auth/login-sessions.ts';
import { loadConfig, ConfigError } from '../src/env.ts';
import { AppEvents } from '../src/services/app-events.ts';
import type { MailModuleSettings } from '@mailscope/shared';
import { T0, createUser, login, testApp, testDatabases } from './helpers.ts';

test('loadConfig: defaults, and every bad variable reported at once', () => {
  const c = loadConfig({});
  assert.equal(c.port, 3001);
  assert.equal(c.uploadLimitBytes, 512 * 1024 * 1024);
  assert.equal(c.databaseUrl, undefined);
  assert.match(c.dataDir, /\/data$/);
  assert.throws(() => loadConfig({ PORT: '70000', UPLOAD_LIMIT_MB: 'lots', LOG_LEVEL: 'loud', COOKIE_SECURE: 'maybe', DATABASE_URL: 'mysql://x' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.problems.length, 5);
    assert.match(e.message, /PORT="70000": must be a whole number 1-65535/);
    return true;
  });
});

for (const server of testDatabases()) {
  describe(`auth and roles (${server.name})`, () => {
    test('login sets an httpOnly SameSite=Lax cookie whose token is stored only as sha256; me; logout ends it', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const user = await createUser(db, 'viewer');
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: user.password } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { user: { id: user.id, username: user.username, role: 'viewer' } });
      const cookie = res.cookies.find((c) => c.name === 'mailscope_session');
      assert.ok(cookie);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Lax');
      assert.equal(cookie.path, '/');
      assert.equal((await db.prisma.loginSession.count({ where: { tokenHash: cookie.value } })), 0, 'the token itself is not stored');
      assert.equal((await db.prisma.loginSession.count({ where: { tokenHash: hashToken(cookie.value), userId: user.id } })), 1);

      const header = `mailscope_session=${cookie.value}`;
      const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: header } });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().user.username, user.username);
      assert.equal((await authenticateCookieHeader(db, `other=1; ${header}`))?.id, user.id);

      const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: header } });
      assert.equal(out.statusCode, 204);
      assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: header } })).statusCode, 401);
      assert.equal(await authenticateCookieHeader(db, header), null);
      assert.equal((await app.inject({ method: 'GET', url: '/api/sessions' })).statusCode, 401);
    });

    test('unknown user and wrong password get the same answer; repeated failures are rate limited', async () => {
      const db = await server.open();
      const app = await testApp(db, { loginRateLimiter: new LoginRateLimiter({ maxFailures: 3, windowMs: 60_000, maxAddresses: 100 }) });
      const user = await createUser(db, 'viewer');
      const wrong = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: 'not the password' } });
      const unknown = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'nobody-here', password: 'not the password' } });
      assert.equal(wrong.statusCode, 401);
      assert.equal(unknown.statusCode, 401);
      assert.deepEqual(wrong.json(), unknown.json());
      assert.equal(wrong.json().message, 'wrong user name or password');
      await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: 'again wrong' } });
      const limited = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: user.password } });
      assert.equal(limited.statusCode, 429);
      assert.match(limited.json().message, /too many failed sign-ins/);
      assert.ok(Number(limited.headers['retry-after']) > 0);
    });

    test('a viewer cannot change settings, download a mail or a session\'s frames, or reveal a password; an admin can, and the reveal is audited', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const viewer = await login(app, await createUser(db, 'viewer'));
      const adminUser = await createUser(db, 'admin');
      const admin = await login(app, adminUser);

      const capture = await db.prisma.capture.create({ data: { source: 'upload', status: 'done', fileName: 'x.pcap' } });
      const session = await db.prisma.session.create({
        data: { captureId: capture.id, engineSessionId: 1, protocol: 'pop3', clientAddr: '192.0.2.1', clientPort: 40000, serverAddr: '198.51.100.1', serverPort: 110, startTs: BigInt(T0) },
      });
      await db.prisma.timelineEntry.create({
        data: { sessionId: session.id, seq: 3, ts: BigInt(T0 + 10), dir: 'client', kind: 'auth', verb: 'PASS', arg: '', frames: [5], authMechanism: 'USER', authUser: 'alice', authPassword: 's3cret!', authSuccess: true },
      });
      const mail = await db.prisma.mail.create({
        data: { sessionId: session.id, index: 1, direction: 'retrieved', command: 'RETR', size: 10, sha256: 'x', complete: true, startTs: BigInt(T0), endTs: BigInt(T0), raw: Buffer.from('Subject: a\r\n\r\nhi\r\n') },
      });
      const settings = { saveMail: true, saveLocation: null, smtpPorts: '25;587', pop3Ports: '110;1110', captureFilter: '', anyPort: false };

      const checks = [
        { method: 'PUT' as const, url: '/api/settings', payload: settings },
        { method: 'GET' as const, url: `/api/mails/${mail.id}/raw` },
        // The frames carry the mails and the passwords in clear: the same rule as the .eml.
        { method: 'GET' as const, url: `/api/sessions/${session.id}/pcap` },
        { method: 'POST' as const, url: `/api/sessions/${session.id}/timeline/3/reveal` },
        { method: 'GET' as const, url: '/api/users' },
        { method: 'POST' as const, url: '/api/agents', payload: { name: 'edge-1' } },
      ];
      for (const c of checks) {
        const res = await app.inject({ ...c, headers: { cookie: viewer } });
        assert.equal(res.statusCode, 403, `${c.method} ${c.url} as viewer`);
        assert.equal(res.json().message, 'this needs the admin role');
      }
      assert.equal(await db.prisma.auditLog.count({ where: { action: 'credential.reveal' } }), 0);

      const detail = await app.inject({ method: 'GET', url: `/api/sessions/${session.id}`, headers: { cookie: viewer } });
      assert.equal(detail.statusCode, 200, detail.body);
      assert.equal(detail.json().timeline[0].auth.password, '****');
      assert.ok(!detail.body.includes('s3cret!'));

      const reveal = await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/timeline/3/reveal`, headers: { cookie: admin } });
      assert.equal(reveal.statusCode, 200);
      assert.deepEqual(reveal.json(), { user: 'alice', mechanism: 'USER', password: 's3cret!' });
      const logged = await db.prisma.auditLog.findMany({ where: { action: 'credential.reveal' } });
      assert.equal(logged.length, 1);
      assert.equal(logged[0]?.userId, adminUser.id);
      assert.equal(logged[0]?.target, `timeline:${session.id}:3`);
      assert.deepEqual(logged[0]?.details, { user: 'alice', mechanism: 'USER' });
      const auditList = await app.inject({ method: 'GET', url: '/api/audit-log?action=credential.reveal', headers: { cookie: admin } });
      assert.equal(auditList.json().entries[0].username, adminUser.username);

      const put = await app.inject({ method: 'PUT', url: '/api/settings', headers: { cookie: admin }, payload: settings });
      assert.equal(put.statusCode, 200);
      const eml = await app.inject({ method: 'GET', url: `/api/mails/${mail.id}/raw`, headers: { cookie: admin } });
      assert.equal(eml.statusCode, 200);
      assert.equal(eml.body, 'Subject: a\r\n\r\nhi\r\n');
    });

    test('settings: 110;1110 accepted and pushed to listeners, 110;70000 refused with its message, a port in both lists refused', async () => {
      const db = await server.open();
      const events = new AppEvents();
      const pushed: MailModuleSettings[] = [];
      events.on('settings-changed', (s) => pushed.push(s));
      const app = await testApp(db, { events });
      const admin = await login(app, await createUser(db, 'admin'));
      const viewer = await login(app, await createUser(db, 'viewer'));
      const base = { saveMail: false, saveLocation: '', smtpPorts: '25;587', captureFilter: ' host 192.0.2.10 ', anyPort: false };

      const ok = await app.inject({ method: 'PUT', url: '/api/settings', headers: { cookie: admin }, payload: { ...base, pop3Ports: '110;1110' } });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json().settings, { saveMail: false, saveLocation: null, smtpPorts: [25, 587], pop3Ports: [110, 1110], captureFilter: 'host 192.0.2.10', anyPort: false });
      assert.deepEqual(ok.json().text, { smtpPorts: '25;587', pop3Ports: '110;1110' });
      assert.equal(pushed.length, 1);
      assert.deepEqual(pushed[0]?.pop3Ports, [110, 1110]);
      const read = await app.inject({ method: 'GET', url: '/api/settings', headers: { cookie: viewer } });
      assert.equal(read.statusCode, 200);
      assert.deepEqual(read.json().settings.pop3Ports, [110, 1110]);

      const bad = await app.inject({ method: 'PUT', url: '/api/settings', headers: { cookie: admin }, payload: { ...base, pop3Ports: '110;70000' } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().message, "pop3Ports: '70000' is not a port: ports are 1-65535");
      assert.deepEqual(bad.json().fields, { pop3Ports: "'70000' is not a port: ports are 1-65535" });

      const both = await app.inject({ method: 'PUT', url: '/api/settings', headers: { cookie: admin }, payload: { ...base, pop3Ports: '110;587' } });
      assert.equal(both.statusCode, 400);
      assert.equal(both.json().message, 'pop3Ports: port 587 is also listed as SMTP: a port may belong to one protocol only');

      const schemaBad = await app.inject({ method: 'PUT', url: '/api/settings', headers: { cookie: admin }, payload: { ...base, pop3Ports: '110', saveMail: 'perhaps' } });
      assert.equal(schemaBad.statusCode, 400);
      assert.match(schemaBad.json().message, /saveMail/);
      assert.equal(pushed.length, 1, 'refused settings are not pushed');
      assert.deepEqual((await db.prisma.setting.findUniqueOrThrow({ where: { id: 1 } })).pop3Ports, [110, 1110]);
    });

    test('users: not the last admin; agent token shown once and stored as sha256', async () => {
      const db = await server.open();
      const app = await testApp(db);
      await db.prisma.user.deleteMany({ where: { role: 'admin' } });
      const adminUser = await createUser(db, 'admin');
      const admin = await login(app, adminUser);
      const demote = await app.inject({ method: 'PATCH', url: `/api/users/${adminUser.id}`, headers: { cookie: admin }, payload: { role: 'viewer' } });
      assert.equal(demote.statusCode, 409);
      assert.match(demote.json().message, /last admin/);
      const del = await app.inject({ method: 'DELETE', url: `/api/users/${adminUser.id}`, headers: { cookie: admin } });
      assert.equal(del.statusCode, 409);
      const created = await app.inject({ method: 'POST', url: '/api/users', headers: { cookie: admin }, payload: { username: 'carol', password: 'long enough pw', role: 'viewer' } });
      assert.equal(created.statusCode, 201);
      const carol = await login(app, { username: 'carol', password: 'long enough pw' });
      assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: carol } })).json().user.role, 'viewer');

      const agent = await app.inject({ method: 'POST', url: '/api/agents', headers: { cookie: admin }, payload: { name: 'edge-1' } });
      assert.equal(agent.statusCode, 201);
      const { token, agent: row } = agent.json() as { token: string; agent: { id: string; connected: boolean } };
      // Never starts with '-': a command line would read it as an option (mailscope-agent run --token).
      assert.match(token, /^ms_[A-Za-z0-9_-]{43}$/);
      assert.equal(row.connected, false);
      const stored = await db.prisma.agent.findUniqueOrThrow({ where: { id: row.id } });
      assert.equal(stored.tokenHash, hashToken(token));
      const list = await app.inject({ method: 'GET', url: '/api/agents', headers: { cookie: admin } });
      assert.ok(!list.body.includes(token));
      assert.ok(!list.body.includes(stored.tokenHash));

      const start = await app.inject({ method: 'POST', url: '/api/captures', headers: { cookie: admin }, payload: { agentId: row.id, interface: 'eth0', filter: '' } });
      assert.equal(start.statusCode, 409);
      assert.equal(start.json().message, "agent 'edge-1' is not connected");
    });

    test('OpenAPI at /docs/json lists the routes', async () => {
      const db = await server.open();
      const app = await testApp(db);
      const res = await app.inject({ method: 'GET', url: '/docs/json' });
      assert.equal(res.statusCode, 200);
      const paths = Object.keys(res.json().paths as Record<string, unknown>);
      for (const p of ['/api/auth/login', '/api/settings', '/api/sessions', '/api/sessions/{id}', '/api/sessions/{id}/pcap', '/api/sessions/{id}/flow',
        '/api/sessions/{id}/timeline/{seq}/reveal', '/api/packets', '/api/mails', '/api/mails/{id}/raw', '/api/stats', '/api/captures', '/api/agents', '/api/users', '/api/audit-log']) {
        assert.ok(paths.includes(p), `${p} in ${paths.join(' ')}`);
      }
    });
  });
}
