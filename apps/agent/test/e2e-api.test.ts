/**
 * End to end against the REAL API (apps/api in this process, socket.io on 127.0.0.1, the embedded
 * PostgreSQL and TEST_DATABASE_URL when set; under CI=true a missing TEST_DATABASE_URL fails): an
 * admin signs in, creates an agent token and sets the ports through REST, the agent runner connects
 * with that token, a capture on lo is started and stopped through POST /api/captures (the API's
 * AgentControl path), real SMTP (nodemailer -> smtp-server, AUTH LOGIN) and POP3 traffic crosses lo,
 * and what the dashboard would show is read back through the REST routes. Then the API is closed
 * mid-capture and started again on the same database: every session arrives exactly once. And the
 * agent process killed (SIGKILL) with batches in its spool, a new process on the same spool: the
 * old batches arrive once, the old capture ends stopped, a new capture works.
 *
 * The agent never imports the API (ARCHITECTURE.md); only this test does, to run the two together.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import type { App } from '../../api/src/app.ts';
import { freshDatabase, testServers } from '../../api/test/ingest-harness.ts';
import { AgentRunner } from '../src/agent-runner.ts';
import { decodeBatch } from '../src/spool/batch-codec.ts';
import { Spool } from '../src/spool/spool.ts';
import { curlRetr, pop3Message, sendMail, sleep, startPop3Server, startSmtpServer } from './helpers/mail-servers.ts';
import { requireLiveCapture } from './helpers/prereq.ts';
import { ADMIN_PASSWORD, startRealApi, type RealApi } from './helpers/real-api.ts';

requireLiveCapture();
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../bin/mailscope-agent.js');


/** An admin session cookie (POST /api/auth/login). */
export async function adminCookie(app: App): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
  assert.equal(res.statusCode, 200, res.body);
  const cookie = res.cookies.find((c) => c.name === 'mailscope_session');
  assert.ok(cookie !== undefined);
  return `mailscope_session=${cookie.value}`;
}

/** A JSON REST call as the admin; asserts the status. */
export async function rest<T>(app: App, cookie: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: object, status = 200): Promise<T> {
  const res = await app.inject({ method, url, headers: { cookie }, ...(payload === undefined ? {} : { payload }) });
  assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
  return res.json<T>();
}

export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface SessionRow {
  id: string;
  protocol: 'smtp' | 'pop3';
  outcome: string | null;
  authUser: string | null;
  authMechanism: string | null;
  endTs: number | null;
  mails: number;
  client: { addr: string; port: number };
}
interface TimelineRow {
  seq: number;
  dir: string;
  kind: string;
  verb: string;
  arg: string;
  auth: { mechanism: string | null; user: string | null; password: string | null; success: boolean | null } | null;
}
interface SessionDetail {
  session: SessionRow & { engineSessionId: number };
  timeline: TimelineRow[];
  mails: { id: string; index: number; subject: string | null; size: number; hasRaw: boolean }[];
}

/** Sets ports (2525 SMTP, 1110 POP3) and Save Mail on, creates an agent and runs it until connected. */
async function agentOn(api: RealApi, cookie: string, spoolDir: string, name: string): Promise<{ agentId: string; token: string; runner: AgentRunner; exited: Promise<number>; spool: Spool; logs: string[] }> {
  const current = await rest<{ settings: Record<string, unknown> }>(api.app, cookie, 'GET', '/api/settings');
  await rest(api.app, cookie, 'PUT', '/api/settings', { ...current.settings, saveMail: true, smtpPorts: '25;587;2525', pop3Ports: '110;1110' });
  const created = await rest<{ agent: { id: string }; token: string }>(api.app, cookie, 'POST', '/api/agents', { name }, 201);
  const logs: string[] = [];
  const spool = new Spool(spoolDir);
  const runner = new AgentRunner({ api: api.base, token: created.token, name, spool, log: (l) => logs.push(l), statusIntervalMs: 200, drainMs: 5_000 });
  const exited = runner.run();
  await waitGreeted(api, cookie, created.agent.id);
  return { agentId: created.agent.id, token: created.token, runner, exited, spool, logs };
}

/** Connected and its hello recorded (the host is filled in by the hello). */
async function waitGreeted(api: RealApi, cookie: string, agentId: string): Promise<void> {
  await until('the agent to connect and say hello', async () => {
    const { agents } = await rest<{ agents: { id: string; connected: boolean; host: string }[] }>(api.app, cookie, 'GET', '/api/agents');
    const a = agents.find((x) => x.id === agentId);
    return a !== undefined && a.connected && a.host !== '';
  });
  await sleep(100); // the hello's ack (settings) reaches the agent after the row is written
}

async function sessionsOf(api: RealApi, cookie: string, captureId: string): Promise<SessionRow[]> {
  return (await rest<{ sessions: SessionRow[] }>(api.app, cookie, 'GET', `/api/sessions?captureId=${captureId}&limit=200`)).sessions;
}

async function rawMail(api: RealApi, cookie: string, mailId: string): Promise<Buffer> {
  const res = await api.app.inject({ method: 'GET', url: `/api/mails/${mailId}/raw`, headers: { cookie } });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'message/rfc822');
  return res.rawPayload;
}

/** `mailscope-agent run` as a process of its own; its output is kept for failure messages. */
function spawnAgent(api: RealApi, token: string, spoolDir: string): { child: ChildProcess; output: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'run', '--api', api.base, '--token', token, '--spool-dir', spoolDir, '--name', 'e2e-crash'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output, exited };
}

/** The batches waiting in a spool folder, read without opening it as a Spool (the agent owns it). */
function spooled(dir: string): ReturnType<typeof decodeBatch>[] {
  const out: ReturnType<typeof decodeBatch>[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.batch')).sort()) {
    try {
      out.push(decodeBatch(readFileSync(join(dir, name))));
    } catch {
      // sent and removed meanwhile
    }
  }
  return out;
}

for (const server of await testServers()) {
  describe(`agent -> real API (${server.name})`, () => {
    test('capture on lo started through POST /api/captures: SMTP with AUTH LOGIN and POP3 arrive as sessions, timeline and the mail byte for byte', async (t) => {
      const smtp = await startSmtpServer(2525);
      t.after(() => smtp.close());
      const pop3 = await startPop3Server(1110, [pop3Message('Fetched over POP3')]);
      t.after(() => pop3.close());
      const api = await startRealApi(await freshDatabase(server), tempDir('mailscope-e2e-data-'));
      const cookie = await adminCookie(api.app);
      const agent = await agentOn(api, cookie, tempDir('mailscope-e2e-spool-'), 'e2e-agent');

      const capture = await rest<{ id: string; status: string }>(api.app, cookie, 'POST', '/api/captures', { agentId: agent.agentId, interface: 'lo', filter: '' }, 201);
      assert.equal(capture.status, 'running');
      await sendMail(2525, 'End to end', 'Hello Bob,\r\n.a dot line\r\nbye\r\n');
      const retrieved = await curlRetr(1110, 1);
      assert.match(retrieved.toString(), /Fetched over POP3/);
      await sleep(300);
      await rest(api.app, cookie, 'POST', `/api/captures/${capture.id}/stop`);
      await until('both sessions closed in the API', async () => {
        const s = await sessionsOf(api, cookie, capture.id);
        return s.length === 2 && s.every((x) => x.endTs !== null);
      });
      await until('the spool to drain', () => agent.spool.length === 0);

      const sessions = await sessionsOf(api, cookie, capture.id);
      const smtpRow = sessions.find((s) => s.protocol === 'smtp');
      const pop3Row = sessions.find((s) => s.protocol === 'pop3');
      assert.ok(smtpRow !== undefined && pop3Row !== undefined, JSON.stringify(sessions));
      assert.equal(smtpRow.outcome, 'delivered');
      assert.equal(smtpRow.authUser, 'alice');
      assert.equal(smtpRow.authMechanism, 'LOGIN');
      assert.equal(smtpRow.mails, 1);
      assert.equal(pop3Row.outcome, 'retrieved');
      assert.equal(pop3Row.authUser, 'alice');

      const res = await api.app.inject({ method: 'GET', url: `/api/sessions/${smtpRow.id}`, headers: { cookie } });
      assert.equal(res.statusCode, 200);
      assert.ok(!res.body.includes('s3cret') && !res.body.includes(Buffer.from('s3cret').toString('base64')), 'the password appears nowhere in the session, neither plain nor Base64');
      const detail = res.json<SessionDetail>();
      const commands = detail.timeline.filter((e) => e.dir === 'client' && (e.kind === 'command' || e.kind === 'auth' || e.kind === 'data')).map((e) => e.verb);
      for (const verb of ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT']) assert.ok(commands.includes(verb), `${verb} in the timeline: ${commands.join(' ')}`);
      const order = ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'].map((v) => commands.indexOf(v));
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `in wire order: ${commands.join(' ')}`);
      const auth = detail.timeline.find((e) => e.kind === 'auth');
      assert.ok(auth?.auth !== undefined && auth.auth !== null, 'an auth entry');
      assert.equal(auth.auth.mechanism, 'LOGIN');
      assert.equal(auth.auth.user, 'alice', 'the user decoded from Base64');
      assert.equal(auth.auth.password, '****', 'the password masked');

      assert.equal(detail.mails.length, 1);
      assert.equal(detail.mails[0]!.subject, 'End to end');
      assert.ok(detail.mails[0]!.hasRaw, 'Save Mail on: the raw bytes are stored');
      assert.equal(smtp.received.length, 1);
      const eml = await rawMail(api, cookie, detail.mails[0]!.id);
      assert.ok(eml.equals(smtp.received[0]!), `the .eml is what smtp-server received (${eml.length} vs ${smtp.received[0]!.length} bytes)`);

      const captureRow = await rest<{ status: string; sessions: number; mails: number }>(api.app, cookie, 'GET', `/api/captures/${capture.id}`);
      assert.equal(captureRow.status, 'stopped');
      await agent.runner.shutdown(0);
      assert.equal(await agent.exited, 0);
    });

    test('the API closed mid-capture and started again on the same database: every session arrives exactly once', async (t) => {
      const smtp = await startSmtpServer(2525);
      t.after(() => smtp.close());
      const pop3 = await startPop3Server(1110, [pop3Message('During the outage')]);
      t.after(() => pop3.close());
      const url = await freshDatabase(server);
      const dataDir = tempDir('mailscope-e2e-data-');
      let api = await startRealApi(url, dataDir);
      const cookie = await adminCookie(api.app);
      const agent = await agentOn(api, cookie, tempDir('mailscope-e2e-spool-'), 'e2e-restart');
      const capture = await rest<{ id: string }>(api.app, cookie, 'POST', '/api/captures', { agentId: agent.agentId, interface: 'lo', filter: '' }, 201);

      await sendMail(2525, 'Before the outage', 'one\r\n');
      await until('the first session in the API', async () => (await sessionsOf(api, cookie, capture.id)).some((s) => s.endTs !== null));

      const port = api.port;
      await api.close();
      await sendMail(2525, 'During the outage', 'two\r\n');
      await sendMail(2525, 'Also during', 'three\r\n');
      await curlRetr(1110, 1);
      await until('batches spooled while the API is away', () => agent.spool.length > 0, 5_000);

      api = await startRealApi(url, dataDir, port);
      await waitGreeted(api, cookie, agent.agentId).catch((e: unknown) => assert.fail(`${String(e)}; agent log: ${agent.logs.join(' | ')}`));
      await sendMail(2525, 'After the outage', 'four\r\n');
      await sleep(300);
      await rest(api.app, cookie, 'POST', `/api/captures/${capture.id}/stop`);
      await until('the spool to drain', () => agent.spool.length === 0);
      await until('five closed sessions', async () => (await sessionsOf(api, cookie, capture.id)).filter((s) => s.endTs !== null).length >= 5);

      const sessions = await sessionsOf(api, cookie, capture.id);
      assert.equal(sessions.length, 5, 'each session once');
      assert.equal(new Set(sessions.map((s) => `${s.client.addr}:${s.client.port}`)).size, 5);
      assert.deepEqual(sessions.map((s) => `${s.protocol}:${s.outcome}`).sort(), ['pop3:retrieved', 'smtp:delivered', 'smtp:delivered', 'smtp:delivered', 'smtp:delivered']);
      const mails: SessionDetail['mails'] = [];
      for (const row of sessions) mails.push(...(await rest<SessionDetail>(api.app, cookie, 'GET', `/api/sessions/${row.id}`)).mails);
      assert.equal(mails.length, 5, 'four sent, one retrieved, each once');
      const subjects = smtp.received.map((r) => r.toString().match(/^Subject: (.*)$/m)?.[1]?.trim());
      assert.deepEqual(subjects, ['Before the outage', 'During the outage', 'Also during', 'After the outage']);
      for (const [i, received] of smtp.received.entries()) {
        const candidates = mails.filter((m) => m.subject === subjects[i]);
        const bodies = await Promise.all(candidates.map((m) => rawMail(api, cookie, m.id)));
        assert.ok(bodies.some((b) => b.equals(received)), `'${subjects[i]}' stored byte for byte`);
      }
      const captureRow = await rest<{ packets: number }>(api.app, cookie, 'GET', `/api/captures/${capture.id}`);
      const nos: number[] = [];
      for (let cursor: string | null = ''; cursor !== null;) {
        const page: { packets: { frameNo: number }[]; next: string | null } = await rest(api.app, cookie, 'GET', `/api/packets?captureId=${capture.id}&limit=500${cursor === '' ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
        nos.push(...page.packets.map((p) => p.frameNo));
        cursor = page.next;
      }
      nos.sort((a, b) => a - b);
      assert.deepEqual(nos, nos.map((_, i) => i + 1), 'every frame stored once, none missing');
      assert.equal(captureRow.packets, nos.length);
      assert.ok(agent.logs.some((l) => /lost the API|cannot reach/.test(l)), agent.logs.join('\n'));
      await agent.runner.shutdown(0);
      assert.equal(await agent.exited, 0);
    });

    test('the agent process killed with batches in its spool, a new one on the same spool: the session arrives once, the old capture ends stopped', async (t) => {
      const smtp = await startSmtpServer(2525);
      t.after(() => smtp.close());
      const url = await freshDatabase(server);
      const dataDir = tempDir('mailscope-e2e-data-');
      const spoolDir = tempDir('mailscope-e2e-spool-');
      let api = await startRealApi(url, dataDir);
      const cookie = await adminCookie(api.app);
      const current = await rest<{ settings: Record<string, unknown> }>(api.app, cookie, 'GET', '/api/settings');
      await rest(api.app, cookie, 'PUT', '/api/settings', { ...current.settings, saveMail: true, smtpPorts: '25;587;2525', pop3Ports: '110;1110' });
      const created = await rest<{ agent: { id: string }; token: string }>(api.app, cookie, 'POST', '/api/agents', { name: 'e2e-crash' }, 201);
      const agentId = created.agent.id;
      const first = spawnAgent(api, created.token, spoolDir);
      await waitGreeted(api, cookie, agentId).catch((e: unknown) => assert.fail(`${String(e)}; agent output: ${first.output.join('')}`));
      const old = await rest<{ id: string; status: string }>(api.app, cookie, 'POST', '/api/captures', { agentId, interface: 'lo', filter: '' }, 201);
      assert.equal(old.status, 'running');

      // The API goes away, the mail is captured and spooled, then the agent is killed.
      const port = api.port;
      await api.close();
      await sendMail(2525, 'Across the crash', 'spooled, then the agent killed\r\n');
      await until('the whole session in the spool', () => {
        const batches = spooled(spoolDir);
        return batches.some((b) => b.mails.some((m) => m.summary.subject === 'Across the crash')) && batches.some((b) => b.sessions.some((e) => e.type === 'session-closed'));
      }, 10_000);
      first.child.kill('SIGKILL');
      await first.exited;
      const left = spooled(spoolDir);
      assert.ok(left.length > 0 && left.every((b) => b.captureId === old.id), 'batches of the old capture left unacknowledged');

      api = await startRealApi(url, dataDir, port);
      assert.equal((await rest<{ status: string }>(api.app, cookie, 'GET', `/api/captures/${old.id}`)).status, 'running', 'nothing told the API yet');
      const second = spawnAgent(api, created.token, spoolDir);
      await waitGreeted(api, cookie, agentId).catch((e: unknown) => assert.fail(`${String(e)}; agent output: ${second.output.join('')}`));
      await until('the spool to drain', () => spooled(spoolDir).length === 0 && readdirSync(spoolDir).every((n) => !n.endsWith('.batch')));
      await until('the session in the API', async () => (await sessionsOf(api, cookie, old.id)).some((s) => s.endTs !== null));

      const oldRow = await rest<{ status: string; error: string | null; stoppedAt: string | null }>(api.app, cookie, 'GET', `/api/captures/${old.id}`);
      assert.equal(oldRow.status, 'stopped', 'the interrupted capture ends stopped');
      assert.equal(oldRow.error, 'agent restarted: capture interrupted');
      const sessions = await sessionsOf(api, cookie, old.id);
      assert.equal(sessions.length, 1, `the session exactly once: ${JSON.stringify(sessions)}`);
      assert.equal(sessions[0]!.outcome, 'delivered');
      const detail = await rest<SessionDetail>(api.app, cookie, 'GET', `/api/sessions/${sessions[0]!.id}`);
      assert.deepEqual(detail.mails.map((m) => m.subject), ['Across the crash']);
      assert.ok((await rawMail(api, cookie, detail.mails[0]!.id)).equals(smtp.received[0]!), 'stored byte for byte');
      assert.ok(!existsSync(join(spoolDir, 'rejected')), 'no batch refused');

      // The new process captures under a new id.
      const next = await rest<{ id: string }>(api.app, cookie, 'POST', '/api/captures', { agentId, interface: 'lo', filter: '' }, 201);
      await sendMail(2525, 'After the crash', 'two\r\n');
      await until('the new capture\'s session', async () => (await sessionsOf(api, cookie, next.id)).some((s) => s.endTs !== null));
      await rest(api.app, cookie, 'POST', `/api/captures/${next.id}/stop`);
      assert.equal((await sessionsOf(api, cookie, old.id)).length, 1, 'nothing new under the old capture');
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0, second.output.join(''));
    });
  });
}
