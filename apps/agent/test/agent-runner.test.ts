/**
 * The agent against a stand-in for the API's `/agent` namespace (socket.io server, the shared
 * validators, ingest idempotent by natural keys like the real one): token refused, capture
 * started and stopped on lo, the API killed during a capture and started again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import { DEFAULT_MAIL_SETTINGS, type MailModuleSettings } from '@mailscope/shared';
import { INVALID_AGENT_TOKEN, validateBatch, validateCaptureStatus, validateHello, type BatchPayload, type CaptureStatusPayload, type CommandAck } from '@mailscope/shared/agent-protocol';
import { AgentRunner } from '../src/agent-runner.ts';
import { Spool } from '../src/spool/spool.ts';
import { sendMail, sleep, startSmtpServer } from './helpers/mail-servers.ts';
import { requireLiveCapture } from './helpers/prereq.ts';

requireLiveCapture();
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../bin/mailscope-agent.js');
const TOKEN = 'agent-token-1';
const CAPTURE = '00000000-0000-4000-8000-0000000000c1';
const SETTINGS: MailModuleSettings = { ...DEFAULT_MAIL_SETTINGS, saveMail: true, smtpPorts: [2525], pop3Ports: [1110] };

/** What the stand-in API stored: keyed like the real ingest, so a resent batch adds nothing. */
class FakeApi {
  readonly packets = new Map<number, BatchPayload['packets'][number]>();
  readonly timeline = new Map<string, BatchPayload['timeline'][number]>();
  readonly sessions = new Map<string, BatchPayload['sessions'][number]>();
  readonly mails = new Map<string, BatchPayload['mails'][number]>();
  readonly statuses: CaptureStatusPayload[] = [];
  batchesReceived = 0;
  duplicateRecords = 0;
  http: HttpServer | undefined;
  io: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    this.http = createServer();
    // As the real API (server.ts): socket.io's default parser - at most 10 binary parts per event,
    // past that it closes the connection - and its message limit, so a batch the agent packs
    // wrongly fails here as it would there.
    const io = new Server(this.http, { maxHttpBufferSize: 64 * 1024 * 1024, serveClient: false });
    this.io = io;
    const nsp = io.of('/agent');
    nsp.use((socket, next) => next((socket.handshake.auth as { token?: string }).token === TOKEN ? undefined : new Error(INVALID_AGENT_TOKEN)));
    nsp.on('connection', (socket) => {
      socket.on('disconnect', (reason) => process.env.DEBUG_FAKE_API && console.error('fake api: disconnect', reason));
      socket.on('error', (e) => console.error('fake api: error', e));
      socket.on('hello', (payload: unknown, ack: (r: unknown) => void) => {
        const v = validateHello(payload);
        ack(v.ok ? { ok: true, agentId: 'a1', settings: SETTINGS } : { ok: false, error: v.error });
      });
      socket.on('capture:status', (payload: unknown) => {
        const v = validateCaptureStatus(payload);
        assert.ok(v.ok, v.ok ? '' : v.error);
        this.statuses.push(v.value);
      });
      socket.on('batch', (payload: unknown, ack: (r: unknown) => void) => {
        const v = validateBatch(payload);
        if (!v.ok) return ack({ ok: false, error: v.error });
        this.batchesReceived++;
        const b = v.value;
        const put = <T>(map: Map<string | number, T>, key: string | number, value: T): void => {
          if (map.has(key)) this.duplicateRecords++;
          else map.set(key, value);
        };
        for (const p of b.packets) put(this.packets as Map<string | number, unknown>, p.no, p);
        for (const s of b.sessions) put(this.sessions as Map<string | number, unknown>, `${s.type}:${s.sessionId}`, s);
        for (const t of b.timeline) put(this.timeline as Map<string | number, unknown>, `${t.sessionId}:${t.seq}`, t);
        for (const m of b.mails) put(this.mails as Map<string | number, unknown>, `${m.sessionId}:${m.index}`, m);
        ack({ ok: true, stored: { packets: b.packets.length, sessions: b.sessions.length, timeline: b.timeline.length, mails: b.mails.length } });
      });
    });
    await new Promise<void>((done) => this.http!.listen(port, '127.0.0.1', () => done()));
    const address = this.http.address();
    this.port = typeof address === 'object' && address !== null ? address.port : port;
  }

  async stop(): Promise<void> {
    this.io?.disconnectSockets(true);
    await new Promise<void>((done) => this.io!.close(() => done()));
  }

  async command(event: 'capture:start' | 'capture:stop', payload: object): Promise<CommandAck> {
    const [socket] = await this.io!.of('/agent').fetchSockets();
    assert.ok(socket !== undefined, 'the agent is connected');
    return (await socket.timeout(10_000).emitWithAck(event, payload)) as CommandAck;
  }

  async waitForAgent(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if ((await this.io!.of('/agent').fetchSockets()).length > 0) return;
      await sleep(25);
    }
    assert.fail('the agent did not connect');
  }
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-agent-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('run: the API refusing the token is a clear message and exit code 1', async (t) => {
  const api = new FakeApi();
  await api.start();
  t.after(() => api.stop());
  const child = spawn(process.execPath, [BIN, 'run', '--api', `http://127.0.0.1:${api.port}`, '--token', 'wrong', '--spool-dir', tempDir(t)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  assert.equal(code, 1);
  assert.match(stderr, /refused the agent token: check --token/);
});

test('run: capture started on lo from the API, sessions arrive; the API killed mid-capture and restarted: every record exactly once', async (t) => {
  const smtp = await startSmtpServer(2525);
  t.after(() => smtp.close());
  const api = new FakeApi();
  await api.start();
  const logs: string[] = [];
  const spool = new Spool(tempDir(t));
  const runner = new AgentRunner({ api: `http://127.0.0.1:${api.port}`, token: TOKEN, name: 'test', spool, log: (l) => logs.push(l), statusIntervalMs: 200 });
  const exited = runner.run();
  await api.waitForAgent();
  assert.deepEqual(await api.command('capture:start', { captureId: CAPTURE, interface: 'lo', filter: '' }), { ok: true });
  await sendMail(2525, 'Before the outage', 'one\r\n');
  await sleep(400);
  assert.ok(api.mails.size === 1, `the first mail reached the API (${api.batchesReceived} batches): ${logs.join('; ')}`);
  assert.ok(api.statuses.some((s) => s.state === 'running' && s.received > 0), 'status every interval with libpcap counters');

  // The API goes away: the capture goes on, batches wait in the spool.
  const port = api.port;
  await api.stop();
  await sendMail(2525, 'During the outage', 'two\r\n');
  await sendMail(2525, 'Also during', 'three\r\n');
  await sleep(400);
  assert.ok(spool.length > 0, 'batches spooled while the API is away');
  assert.equal(api.mails.size, 1);

  await api.start(port);
  await api.waitForAgent();
  await sendMail(2525, 'After the outage', 'four\r\n');
  await sleep(300);
  assert.deepEqual(await api.command('capture:stop', { captureId: CAPTURE }), { ok: true });
  for (let i = 0; i < 100 && spool.length > 0; i++) await sleep(50);
  assert.equal(spool.length, 0, 'the spool drained');

  assert.equal(api.duplicateRecords, 0, 'nothing arrived twice');
  assert.equal(smtp.received.length, 4);
  const mails = [...api.mails.values()].sort((a, b) => a.sessionId - b.sessionId);
  assert.deepEqual(mails.map((m) => m.summary.subject), ['Before the outage', 'During the outage', 'Also during', 'After the outage']);
  mails.forEach((m, i) => assert.ok(Buffer.from(m.raw!).equals(smtp.received[i]!), `mail ${i + 1} byte for byte`));
  const closed = [...api.sessions.values()].filter((s) => s.type === 'session-closed');
  assert.equal(closed.length, 4);
  assert.ok(closed.every((s) => s.type === 'session-closed' && s.outcome === 'delivered' && s.gaps === 0));
  const nos = [...api.packets.keys()].sort((a, b) => a - b);
  assert.deepEqual(nos, nos.map((_, i) => i + 1), 'every frame stored once, none missing');
  const auth = [...api.timeline.values()].filter((e) => e.kind === 'auth');
  assert.equal(auth.length, 4);
  assert.ok(auth.every((e) => e.auth?.user === 'alice' && e.auth.mechanism === 'LOGIN'));
  assert.ok(logs.some((l) => /lost the API|cannot reach/.test(l)), logs.join('\n'));

  await runner.shutdown(0);
  assert.equal(await exited, 0);
  await api.stop();
});

test('run: capture:start errors come back in the ack and the agent keeps running', async (t) => {
  const api = new FakeApi();
  await api.start();
  t.after(() => api.stop());
  const runner = new AgentRunner({ api: `http://127.0.0.1:${api.port}`, token: TOKEN, name: 'test', spool: new Spool(tempDir(t)), log: () => undefined });
  const exited = runner.run();
  await api.waitForAgent();
  const noDevice = await api.command('capture:start', { captureId: CAPTURE, interface: 'nosuch0', filter: '' });
  assert.equal(noDevice.ok, false);
  assert.match(noDevice.ok ? '' : noDevice.error, /unknown interface 'nosuch0'/);
  const badFilter = await api.command('capture:start', { captureId: CAPTURE, interface: 'lo', filter: 'tcp port and (' });
  assert.match(badFilter.ok ? '' : badFilter.error, /the capture filter 'tcp port and \(' does not compile/);
  await sleep(100);
  assert.ok(api.statuses.some((s) => s.state === 'error' && /does not compile/.test(s.error ?? '')));
  // Still running: a good capture starts.
  assert.deepEqual(await api.command('capture:start', { captureId: CAPTURE, interface: 'lo', filter: '' }), { ok: true });
  assert.deepEqual(await api.command('capture:stop', { captureId: CAPTURE }), { ok: true });
  await runner.shutdown(0);
  assert.equal(await exited, 0);
});

test('capture errors: no permission (CAP_NET_RAW dropped) and libpcap missing are named with the fix', async () => {
  const script = `import { LiveCapture } from ${JSON.stringify(join(dirname(fileURLToPath(import.meta.url)), '../src/capture/live-capture.ts'))};
try { LiveCapture.open({ device: 'lo', filter: 'tcp', onFrame: () => {} }).close(); console.log('opened'); } catch (e) { console.log(e.code + ': ' + e.message); }`;
  const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
    new Promise<string>((done) => {
      const c = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('exit', () => done(out));
    });
  const nodeArgs = ['--import', 'tsx', '--input-type=module', '-e', script];
  const perm = await run('capsh', ['--drop=cap_net_raw,cap_net_admin', '--', '-c', `${JSON.stringify(process.execPath)} ${nodeArgs.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`]);
  assert.match(perm, /^PERMISSION: no permission to capture on 'lo'.*setcap cap_net_raw,cap_net_admin=eip/m);
  const fake = mkdtempSync(join(tmpdir(), 'mailscope-nolibpcap-'));
  try {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(fake, 'libpcap.so.0.8'), '');
    const missing = await run(process.execPath, nodeArgs, { ...process.env, LD_LIBRARY_PATH: fake });
    assert.match(missing, /^NO_LIBPCAP: libpcap cannot be loaded .*apt-get install libpcap0\.8/m);
  } finally {
    rmSync(fake, { recursive: true, force: true });
  }
});
