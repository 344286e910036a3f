/**
 * `mailscope-agent import FILE` end to end against the REAL API (apps/api in this process,
 * socket.io on 127.0.0.1, the embedded PostgreSQL and TEST_DATABASE_URL when set; under CI=true a
 * missing TEST_DATABASE_URL fails), without live capture: an admin creates an agent token through
 * REST, runImport runs in-process on a corpus pcap, and the API asks for nothing but the token: it
 * creates the capture on `capture:import`, takes the batches and closes the capture on the final
 * `capture:status`. What was stored is read back through REST and Prisma.
 *
 * The agent never imports the API (ARCHITECTURE.md); only this test does, to run the two together.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { openDatabase } from '@mailscope/db';
import type { AgentToServerEvents, ServerToAgentEvents } from '@mailscope/shared/agent-protocol';
import { io as connect } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import type { App } from '../../api/src/app.ts';
import { freshDatabase, testServers } from '../../api/test/ingest-harness.ts';
import type { CommandIo } from '../src/analyze-command.ts';
import { runImport } from '../src/run-command.ts';
import { ADMIN_PASSWORD, startRealApi } from './helpers/real-api.ts';

const here = dirname(fileURLToPath(import.meta.url));
const CORPUS = join(here, '..', '..', '..', '..', 'shared', 'corpus');
const PCAP = join(CORPUS, 'pcaps', 'zeek_smtp.pcap');
const MANIFEST = join(CORPUS, 'expected', 'zeek_smtp.pcap', 'helper_reassembly', 'manifest.tsv');

async function adminCookie(app: App): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
  assert.equal(res.statusCode, 200, res.body);
  const cookie = res.cookies.find((c) => c.name === 'mailscope_session');
  assert.ok(cookie !== undefined);
  return `mailscope_session=${cookie.value}`;
}

async function rest<T>(app: App, cookie: string, method: 'GET' | 'POST', url: string, payload?: object, status = 200): Promise<T> {
  const res = await app.inject({ method, url, headers: { cookie }, ...(payload === undefined ? {} : { payload }) });
  assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
  return res.json<T>();
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A CommandIo that keeps what is written (not a TTY: no progress bar escapes). */
function captureIo(): { io: CommandIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new Writable({ write(chunk: Buffer, _enc, cb) { into.push(chunk.toString()); cb(); } }) as unknown as NodeJS.WriteStream;
  return { io: { stdout: sink(out), stderr: sink(err) }, out, err };
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

for (const server of await testServers()) {
  describe(`mailscope-agent import -> real API (${server.name})`, () => {
    test('zeek_smtp.pcap: the API creates the capture, stores 2 delivered SMTP sessions and the mails, and the capture ends stopped', async () => {
      assert.ok(existsSync(PCAP), `the corpus is missing: ${PCAP}`);
      assert.ok(existsSync(MANIFEST), `the corpus is missing: ${MANIFEST}`);
      const [header = '', ...rows] = readFileSync(MANIFEST, 'utf8').split('\n').filter((l) => l !== '');
      const shaCol = header.split('\t').indexOf('sha256');
      assert.ok(shaCol >= 0, 'manifest.tsv has a sha256 column');
      const expectedSha = rows.map((r) => r.split('\t')[shaCol]!).sort();
      assert.equal(expectedSha.length, 2);

      const url = await freshDatabase(server);
      const api = await startRealApi(url, tempDir('mailscope-import-data-'));
      const cookie = await adminCookie(api.app);
      const created = await rest<{ agent: { id: string }; token: string }>(api.app, cookie, 'POST', '/api/agents', { name: 'e2e-import' }, 201);

      const { io, out, err } = captureIo();
      const code = await runImport([PCAP, '--api', api.base, '--token', created.token, '--spool-dir', tempDir('mailscope-import-spool-')], io, {});
      assert.equal(code, 0, err.join(''));
      const captureId = /as capture ([0-9a-f-]{36})/.exec(out.join(''))?.[1];
      assert.ok(captureId !== undefined, out.join(''));

      const db = await openDatabase({ url });
      after(() => db.close());
      await until('the capture to be stopped', async () => (await db.prisma.capture.findUnique({ where: { id: captureId } }))?.status === 'stopped');
      const captures = await db.prisma.capture.findMany();
      assert.equal(captures.length, 1, 'one capture');
      const capture = captures[0]!;
      assert.equal(capture.id, captureId);
      assert.equal(capture.source, 'upload');
      assert.equal(capture.status, 'stopped');
      assert.equal(capture.agentId, created.agent.id);
      assert.equal(capture.fileName, 'zeek_smtp.pcap');
      assert.ok(capture.stoppedAt !== null);

      const captureRest = await rest<{ status: string; source: string }>(api.app, cookie, 'GET', `/api/captures/${captureId}`);
      assert.equal(captureRest.status, 'stopped');

      const { sessions } = await rest<{ sessions: { protocol: string; outcome: string | null; authUser: string | null }[] }>(api.app, cookie, 'GET', `/api/sessions?captureId=${captureId}&limit=200`);
      assert.equal(sessions.length, 2, JSON.stringify(sessions));
      assert.deepEqual(sessions.map((s) => `${s.protocol}:${s.outcome}`), ['smtp:delivered', 'smtp:delivered']);
      assert.ok(sessions.some((s) => s.authUser === 'gurpartap@patriots.in'), JSON.stringify(sessions.map((s) => s.authUser)));

      const mails = await db.prisma.mail.findMany({ where: { session: { captureId } }, select: { sha256: true } });
      assert.deepEqual(mails.map((m) => m.sha256).sort(), expectedSha);
    });

    test('capture:import is refused with a reason before hello and with an empty file name; nothing is created', async () => {
      const url = await freshDatabase(server);
      const api = await startRealApi(url, tempDir('mailscope-import-data-'));
      const cookie = await adminCookie(api.app);
      const created = await rest<{ token: string }>(api.app, cookie, 'POST', '/api/agents', { name: 'e2e-import-refused' }, 201);
      const socket: ClientSocket<ServerToAgentEvents, AgentToServerEvents> = connect(`${api.base}/agent`, { auth: { token: created.token }, transports: ['websocket'], reconnection: false });
      after(() => socket.disconnect());
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const early = await socket.timeout(5_000).emitWithAck('capture:import', { fileName: 'a.pcap', sizeBytes: 1 });
      assert.deepEqual(early, { ok: false, error: 'send hello before capture:import' });
      const hello = await socket.timeout(5_000).emitWithAck('hello', { name: 'refused', host: 'h', version: '0', interfaces: [] });
      assert.equal(hello.ok, true);
      const empty = await socket.timeout(5_000).emitWithAck('capture:import', { fileName: '', sizeBytes: 1 });
      assert.equal(empty.ok, false);
      assert.match(empty.ok ? '' : empty.error, /^invalid capture:import: fileName: /);
      const db = await openDatabase({ url });
      after(() => db.close());
      assert.equal(await db.prisma.capture.count(), 0);
    });
  });
}
