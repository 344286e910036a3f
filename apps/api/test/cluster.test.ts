/**
 * MAILSCOPE_CLUSTER=postgres: two API instances in this process (two Fastify + socket.io servers on
 * two ports, one database, the PostgreSQL adapter between them), on every test server (embedded
 * PostgreSQL, and TEST_DATABASE_URL when set). A real socket.io client acting as an agent is
 * connected to instance B, a browser's /ui client to instance A.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import type { BatchAck, BatchPayload, CaptureStartPayload, CommandAck, HelloAck } from '@mailscope/shared';
import { DEFAULT_MAIL_SETTINGS, packBatch } from '@mailscope/shared';
import { loadConfig } from '../src/env.ts';
import { AgentNotConnectedError } from '../src/services/agent-control.ts';
import { ATTACHMENTS_TABLE } from '../src/socket/cluster.ts';
import type { AgentClient, TestApi } from './ingest-harness.ts';
import { connectAgent, connectUi, createAgent, freshDatabase, signIn, startApi, startApiOn, testServers } from './ingest-harness.ts';

const T0 = 1_700_000_000_000_000;
const CLIENT = { addr: '192.0.2.10', port: 50_123 };
const SERVER = { addr: '198.51.100.25', port: 25 };

/** An API instance as server.ts starts it with MAILSCOPE_CLUSTER=postgres, on database `url`. */
const startInstance = (url: string): Promise<TestApi> => startApiOn(url, { cluster: true });

/** Polls `check` every 50 ms until it holds; fails with `what` after `ms`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Both instances see two servers on every namespace the test uses. */
async function clusterFormed(instances: readonly TestApi[]): Promise<void> {
  await waitFor('the instances to know each other', async () => {
    for (const i of instances) {
      for (const nsp of ['/agent', '/ui']) if ((await i.io.of(nsp).adapter.serverCount()) !== instances.length) return false;
    }
    return true;
  });
}

/** One SMTP session of capture `captureId`: opened and closed, two packets. */
function smtpBatch(captureId: string, seq: number): BatchPayload {
  const raw = new Uint8Array(80).fill(seq + 1);
  const packet = (no: number): BatchPayload['packets'][number] => ({
    type: 'packet', no, ts: T0 + no * 1000, src: CLIENT.addr, dst: SERVER.addr, srcPort: CLIENT.port, dstPort: SERVER.port,
    protocol: 'SMTP', length: raw.length, capturedLength: raw.length, info: `line ${no}`, sessionId: 1, dir: 'client', linkType: 1, raw,
  });
  return {
    captureId, batchId: `b-${seq}`, seq,
    packets: [packet(1), packet(2)],
    sessions: [
      { type: 'session-opened', sessionId: 1, protocol: 'smtp', client: CLIENT, server: SERVER, startTs: T0 + 1000, sawSyn: true, detectedBy: 'port' },
      {
        type: 'session-closed', sessionId: 1, protocol: 'smtp', client: CLIENT, server: SERVER, startTs: T0 + 1000, endTs: T0 + 2000,
        closeReason: 'fin', outcome: 'delivered', encrypted: false, mails: 0, packets: { client: 2, server: 0 }, bytes: { client: 160, server: 0 },
        retransmissions: 0, gaps: 0, gapBytes: 0, anomalies: 0,
      },
    ],
    timeline: [],
    mails: [],
  };
}

function hello(agent: AgentClient): Promise<HelloAck> {
  return agent.timeout(5000).emitWithAck('hello', { name: 'probe-b', host: 'probe.example', version: '0.1.0', interfaces: [{ name: 'eth0', addresses: ['192.0.2.10'] }] });
}

function sendBatch(agent: AgentClient, batch: BatchPayload): Promise<BatchAck> {
  return agent.timeout(10_000).emitWithAck('batch', packBatch(batch) as never);
}

/** GET /api/agents on `api` as `cookie`: the `connected` of agent `id`. */
async function connectedOn(api: TestApi, cookie: string, id: string): Promise<boolean> {
  const res = await api.app.inject({ method: 'GET', url: '/api/agents', headers: { cookie } });
  assert.equal(res.statusCode, 200, res.body);
  const agent = (res.json() as { agents: { id: string; connected: boolean }[] }).agents.find((a) => a.id === id);
  assert.ok(agent !== undefined);
  return agent.connected;
}

for (const server of await testServers()) {
  describe(`two API instances with MAILSCOPE_CLUSTER=postgres (${server.name})`, () => {
    test('live events, capture control and agent presence cross instances', { timeout: 60_000 }, async () => {
      const url = await freshDatabase(server);
      const a = await startInstance(url);
      const b = await startInstance(url);
      await clusterFormed([a, b]);
      assert.notEqual(a.base, b.base);
      const attachments = await a.db.pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [ATTACHMENTS_TABLE]);
      assert.equal(attachments.rows[0]!.t, ATTACHMENTS_TABLE);

      // A browser signed in on A; the agent connected to B, answering commands like the real one
      // (an interface it does not have is refused with its reason).
      const admin = await signIn(a.db, 'admin');
      const ui = await connectUi(a, admin);
      const seen: { event: string; captureId: unknown }[] = [];
      ui.onAny((event: string, payload: { captureId?: unknown }) => seen.push({ event, captureId: payload.captureId }));
      const { id: agentId, token } = await createAgent(b.db, 'probe-b');
      const agent = await connectAgent(b, token);
      const commands: { event: string; payload: unknown }[] = [];
      agent.on('capture:start', (payload: CaptureStartPayload, ack: (r: CommandAck) => void) => {
        commands.push({ event: 'capture:start', payload });
        ack(payload.interface === 'eth0' ? { ok: true } : { ok: false, error: `no such interface: ${payload.interface}` });
      });
      agent.on('capture:stop', (payload, ack) => {
        commands.push({ event: 'capture:stop', payload });
        ack({ ok: true });
      });
      assert.equal((await hello(agent)).ok, true);

      // (c) A says the agent of B is connected.
      assert.equal(a.gateway.agents.connected(agentId) || b.gateway.agents.connected(agentId), true);
      await waitFor('A to see the agent of B', () => connectedOn(a, admin, agentId));

      // (b) POST /api/captures on A reaches the agent on B, which captures.
      const started = await a.app.inject({ method: 'POST', url: '/api/captures', headers: { cookie: admin }, payload: { agentId, interface: 'eth0', filter: 'tcp' } });
      assert.equal(started.statusCode, 201, started.body);
      const captureId = (started.json() as { id: string; status: string }).id;
      assert.equal((started.json() as { status: string }).status, 'running');
      assert.deepEqual(commands, [{ event: 'capture:start', payload: { captureId, interface: 'eth0', filter: 'tcp' } }]);
      const statusAck = await agent.timeout(5000).emitWithAck('capture:status', { captureId, state: 'running', received: 0, dropped: 0, queued: 0 });
      assert.deepEqual(statusAck, { ok: true });

      // (a) A batch ingested through B: its session events reach the browser on A.
      const ack = await sendBatch(agent, smtpBatch(captureId, 0));
      assert.deepEqual(ack, { ok: true, stored: { packets: 2, sessions: 1, timeline: 0, mails: 0 } });
      await waitFor('the session events on A', () => seen.some((s) => s.event === 'session:closed'));
      const ofCapture = seen.filter((s) => s.event.startsWith('session:') && s.captureId === captureId).map((s) => s.event);
      assert.deepEqual(ofCapture.filter((e) => e !== 'session:updated'), ['session:opened', 'session:closed']);
      assert.ok(seen.some((s) => s.event === 'capture:status' && s.captureId === captureId), 'capture:status of the started capture on A');
      await waitFor('a stats tick from B on A', () => seen.some((s) => s.event === 'stats'));

      // Stop on A reaches the agent on B.
      const stopped = await a.app.inject({ method: 'POST', url: `/api/captures/${captureId}/stop`, headers: { cookie: admin } });
      assert.equal(stopped.statusCode, 200, stopped.body);
      assert.equal((stopped.json() as { status: string; error: string | null }).status, 'stopped');
      assert.equal((stopped.json() as { error: string | null }).error, null);
      assert.deepEqual(commands.at(-1), { event: 'capture:stop', payload: { captureId } });

      // The agent's refusal comes back through A with its words, and the capture is failed.
      const refused = await a.app.inject({ method: 'POST', url: '/api/captures', headers: { cookie: admin }, payload: { agentId, interface: 'wlan9' } });
      assert.equal(refused.statusCode, 502, refused.body);
      assert.match((refused.json() as { message: string }).message, /could not start the capture: agent refused capture:start: no such interface: wlan9$/);
      const failed = await a.db.prisma.capture.findFirstOrThrow({ where: { interface: 'wlan9' } });
      assert.equal(failed.status, 'failed');
      assert.match(failed.error ?? '', /no such interface: wlan9/);

      // No instance has the agent: refused at once, not left waiting.
      const nobody = await createAgent(a.db, 'probe-nowhere');
      const t = Date.now();
      await assert.rejects(a.gateway.agentControl.start(nobody.id, { captureId: captureId, interface: 'eth0', filter: '' }), AgentNotConnectedError);
      assert.ok(Date.now() - t < 3_000, 'answered before the command timeout');

      // Settings changed on A: pushed to the agent on B, and B's own copy (its hello acks) follows.
      const changed = { ...DEFAULT_MAIL_SETTINGS, smtpPorts: [25, 2525] };
      const pushed = new Promise<unknown>((resolve, reject) => {
        agent.once('settings', resolve);
        setTimeout(() => reject(new Error('no settings pushed to the agent on B')), 5000).unref();
      });
      a.events.emit('settings-changed', changed);
      assert.deepEqual(await pushed, changed);
      await waitFor('B to know the new settings', async () => {
        const again = await hello(agent);
        return again.ok && JSON.stringify(again.settings) === JSON.stringify(changed);
      });

      // The agent leaves B: A stops saying connected.
      agent.disconnect();
      await waitFor('A to see the agent gone', async () => !(await connectedOn(a, admin, agentId)));
      assert.deepEqual([...a.logs, ...b.logs].filter((l) => l.includes('"level":50')), []);
      // Before the database is dropped (an `after` of freshDatabase).
      await b.close();
      await a.close();
    });

    test('an agent that does not answer: the command times out on the other instance', { timeout: 60_000 }, async () => {
      const url = await freshDatabase(server);
      const a = await startInstance(url);
      const b = await startInstance(url);
      await clusterFormed([a, b]);
      const admin = await signIn(a.db, 'admin');
      const { id: agentId, token } = await createAgent(b.db);
      const agent = await connectAgent(b, token);
      agent.on('capture:start', () => undefined);
      assert.equal((await hello(agent)).ok, true);
      await waitFor('A to see the agent of B', () => connectedOn(a, admin, agentId));
      const res = await a.app.inject({ method: 'POST', url: '/api/captures', headers: { cookie: admin }, payload: { agentId, interface: 'eth0' } });
      assert.equal(res.statusCode, 502, res.body);
      assert.match((res.json() as { message: string }).message, /agent did not answer capture:start within 3 s/);
      await b.close();
      await a.close();
    });
  });
}

describe('MAILSCOPE_CLUSTER off (the default)', () => {
  test('the variable is validated', () => {
    assert.equal(loadConfig({}).cluster, undefined);
    assert.equal(loadConfig({ MAILSCOPE_CLUSTER: 'off' }).cluster, undefined);
    assert.equal(loadConfig({ MAILSCOPE_CLUSTER: 'postgres', DATABASE_URL: 'postgres://h/db' }).cluster, 'postgres');
    assert.throws(() => loadConfig({ MAILSCOPE_CLUSTER: 'redis' }), /MAILSCOPE_CLUSTER="redis": must be postgres or off/);
    assert.throws(() => loadConfig({ MAILSCOPE_CLUSTER: 'postgres' }), /MAILSCOPE_CLUSTER=postgres: needs DATABASE_URL/);
  });

  test('a single instance loads nothing of the adapter', async () => {
    // A fresh process that loads what server.ts loads without the variable (app, gateways, env).
    const here = fileURLToPath(new URL('.', import.meta.url));
    const script = `
      import { createRequire } from 'node:module';
      await import('../src/env.ts'); await import('../src/app.ts'); await import('../src/socket/index.ts');
      await import('../src/services/gateway.ts'); await import('socket.io');
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ adapter: loaded.filter((k) => k.includes('postgres-adapter')), socketIo: loaded.some((k) => k.includes('/socket.io/')) }));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: here, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { adapter: string[]; socketIo: boolean };
    assert.equal(out.socketIo, true, 'the check sees CommonJS packages loaded through import');
    assert.deepEqual(out.adapter, []);
  });

  test('startApi without the variable: no attachments table, only local agents', async () => {
    const [first] = await testServers();
    const api = await startApi(first!);
    const attachments = await api.db.pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [ATTACHMENTS_TABLE]);
    assert.equal(attachments.rows[0]!.t, null);
    assert.equal(api.gateway.agents.connected('00000000-0000-4000-8000-000000000000'), false);
  });
});
