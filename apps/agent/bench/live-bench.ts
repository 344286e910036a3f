/**
 * Live capture benchmark (issue 4), three processes as in a deployment: the real API in this
 * process on a temporary embedded PostgreSQL; the agent (live-agent.ts: the AgentRunner that
 * `mailscope-agent run` runs) in a child, capturing on `lo` (SMTP 2525, POP3 1110); and real
 * loopback traffic at rising rates from another child (live-traffic.ts): SMTP submissions to
 * smtp-server and POP3 retrievals against the test POP3 server, with a bounded concurrency. Until Nov 2026 all three shared this process: the traffic took its
 * event loop, and the agent's capture delayed every step of the API's ingest.
 *
 *   npm run bench:live [-- --rates 50,200,800 --seconds 5 --concurrency 256 --smtp-client raw|nodemailer
 *                          --buffer-mb N --agent-node-args '--cpu-prof ...']
 *
 * Needs root or CAP_NET_RAW for node (like `mailscope-agent run`). Per step it prints the frames
 * per second the agent received from libpcap, the frames the kernel dropped (the capture ring's
 * counters, as pcap_stats reads them; on lo they also count copies libpcap would have discarded),
 * the sessions the API stored against the sessions driven, and the latency from the
 * capture ts of a session's last frame (cap: the time it reached JavaScript) to its
 * session:closed broadcast on /ui (emitted once the ingest stored it).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { fork } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openDatabase } from '@mailscope/db';
import type { Database } from '@mailscope/db';
import { startEmbeddedPostgres } from '@mailscope/db/embedded';
import type { UiSessionClosed } from '@mailscope/shared';
import { cpuSeconds, machineUsage, postgresCpuSeconds } from '../../api/bench/cpu-time.ts';
import { startApiServer } from '../../api/src/api-server.ts';
import type { App } from '../../api/src/app.ts';
import { ensureFirstAdmin } from '../../api/src/auth/admin-bootstrap.ts';
import { loadConfig } from '../../api/src/env.ts';
import { sleep } from '../test/helpers/mail-servers.ts';
import type { AgentConfig, AgentMessage, AgentRequest } from './live-agent.ts';
import type { TrafficConfig, TrafficMessage, TrafficRequest } from './live-traffic.ts';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '50,200,800' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '256' },
    /** Share of the sessions that are POP3 retrievals (the rest SMTP). */
    'pop3-share': { type: 'string', default: '0.5' },
    /** libpcap's kernel buffer for the capture, MiB (the agent's --buffer-mb); default the agent's. */
    'buffer-mb': { type: 'string' },
    /** The SMTP client of the traffic: 'raw' (node:net) or 'nodemailer'. */
    'smtp-client': { type: 'string', default: 'raw' },
    /** Extra node options for the agent process, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'. */
    'agent-node-args': { type: 'string', default: '' },
    /**
     * Only the traffic, no agent, no API, no PostgreSQL: the loopback packets per second the
     * generator itself reaches on this machine, the ceiling of what any agent could be shown to
     * capture here.
     */
    'traffic-only': { type: 'boolean', default: false },
  },
});
const RATES = values.rates.split(',').map(Number).filter((n) => n > 0);
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const POP3_SHARE = Number(values['pop3-share']);
const SMTP_CLIENT = values['smtp-client'] === 'nodemailer' ? 'nodemailer' : 'raw';
const BUFFER_BYTES = values['buffer-mb'] === undefined ? undefined : Number(values['buffer-mb']) * 1024 * 1024;
const ADMIN_PASSWORD = 'bench-password';
const SMTP_PORT = 2525;
const POP3_PORT = 1110;
const TARGET_PPS = 50_000;
const TARGET_P99_MS = 1_000;

const cleanups: (() => Promise<void> | void)[] = [];
async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (e) {
      console.error('cleanup:', e instanceof Error ? e.message : e);
    }
  }
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function rest<T>(app: App, cookie: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: object): Promise<T> {
  const res = await app.inject({ method, url, headers: { cookie }, ...(payload === undefined ? {} : { payload }) });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json<T>();
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(50);
  }
  console.error(`  (timed out waiting for ${what})`);
  return false;
}

/**
 * A bench child process (a .ts file of this folder, run through tsx) given `config` in `envName`,
 * started and ready: `ask` sends a request and resolves with the next message.
 */
async function startChild<Req extends { type: string }, Msg extends { type: string }>(file: string, envName: string, config: object, closeRequest: Req, nodeArgs: string[] = []): Promise<{ ask: (m: Req) => Promise<Msg> }> {
  const child = fork(new URL(file, import.meta.url), [], { execArgv: [...nodeArgs, '--import', 'tsx'], env: { ...process.env, [envName]: JSON.stringify(config) } });
  const next = (): Promise<Msg> => new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`${file} exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (m: Msg) => {
      child.off('exit', onExit);
      resolve(m);
    });
  });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error(`${file} did not start: ${JSON.stringify(ready)}`);
  cleanups.push(() => new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.send(closeRequest);
    setTimeout(() => { child.kill(); resolve(); }, 10_000).unref();
  }));
  return {
    ask(m) {
      const answer = next();
      child.send(m);
      return answer;
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface StepResult {
  rate: number;
  driven: number;
  failed: number;
  skipped: number;
  seconds: number;
  frames: number;
  dropped: number;
  stored: number;
  latenciesMs: number[];
  /** Where the CPU went while the step's traffic ran. */
  cpuLine: string;
}

/** Packets the kernel passed over `lo` so far (each frame counted once, as it is received). */
function loopbackPackets(): number {
  return Number(readFileSync('/sys/class/net/lo/statistics/rx_packets', 'utf8'));
}

/** The traffic child (live-traffic.ts), started; `step` drives one step and answers with what it drove. */
async function startTraffic(): Promise<(rate: number, seconds: number) => Promise<Extract<TrafficMessage, { type: 'done' }>>> {
  const traffic = await startChild<TrafficRequest, TrafficMessage>('./live-traffic.ts', 'MAILSCOPE_BENCH_TRAFFIC',
    { smtpPort: SMTP_PORT, pop3Port: POP3_PORT, concurrency: CONCURRENCY, pop3Share: POP3_SHARE, smtpClient: SMTP_CLIENT } satisfies TrafficConfig, { type: 'close' });
  return async (rate, seconds) => {
    const m = await traffic.ask({ type: 'step', rate, seconds });
    if (m.type !== 'done') throw new Error(`traffic step ${rate}/s: ${m.type === 'error' ? m.message : m.type}`);
    return m;
  };
}

/** --traffic-only: the generator alone, per step its sessions/s, lo packets/s and where the CPU went. */
async function trafficOnly(): Promise<void> {
  const step = await startTraffic();
  console.log(`mailscope live bench, traffic only (no capture, no agent, no API): steps ${RATES.join(', ')} sessions/s x ${SECONDS} s, concurrency <= ${CONCURRENCY}, POP3 share ${POP3_SHARE}, SMTP client ${SMTP_CLIENT}; ${availableParallelism()} cores`);
  let best = 0;
  for (const rate of RATES) {
    const lo0 = loopbackPackets();
    const machine = machineUsage();
    const m = await step(rate, SECONDS);
    const packets = loopbackPackets() - lo0;
    const pps = packets / m.seconds;
    const { busyCores } = machine();
    best = Math.max(best, pps);
    const ok = m.driven - m.failed;
    console.log(
      `step ${rate} sessions/s: ${ok} sessions in ${m.seconds.toFixed(1)} s = ${(ok / m.seconds).toFixed(0)}/s (${m.failed} failed, ${m.skipped} skipped at the concurrency bound) | ` +
        `lo ${pps.toFixed(0)} packets/s, ${(packets / Math.max(1, ok)).toFixed(1)} per session | ` +
        `CPU cores: generator ${(m.cpuSeconds / m.seconds).toFixed(2)}, whole machine ${busyCores.toFixed(2)} of ${availableParallelism()}`,
    );
  }
  console.log(`peak: ${best.toFixed(0)} loopback packets/s of SMTP/POP3 sessions with nothing capturing (the agent target is ${TARGET_PPS})`);
}

async function main(): Promise<void> {
  if (values['traffic-only']) return trafficOnly();
  const pgDir = tempDir('mailscope-bench-live-pg-');
  const pgServer = await startEmbeddedPostgres({ dataDir: pgDir });
  cleanups.push(() => pgServer.stop());

  const step = await startTraffic();

  // The API as server.ts starts it.
  const db: Database = await openDatabase({ url: pgServer.url });
  cleanups.push(() => db.close());
  const config = loadConfig({ MAILSCOPE_DATA_DIR: tempDir('mailscope-bench-live-data-'), LOG_LEVEL: 'warn', MAILSCOPE_ADMIN_PASSWORD: ADMIN_PASSWORD });
  const server = await startApiServer({ db, config, keepLogs: true });
  cleanups.push(() => server.close());
  const { app, io, logs: apiLogs } = server;
  await ensureFirstAdmin(db, ADMIN_PASSWORD);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

  const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
  const sessionCookie = login.cookies.find((c) => c.name === 'mailscope_session');
  if (sessionCookie === undefined) throw new Error(`login failed: ${login.body}`);
  const cookie = `mailscope_session=${sessionCookie.value}`;

  const current = await rest<{ settings: Record<string, unknown> }>(app, cookie, 'GET', '/api/settings');
  await rest(app, cookie, 'PUT', '/api/settings', { ...current.settings, saveMail: true, smtpPorts: `25;587;${SMTP_PORT}`, pop3Ports: `110;${POP3_PORT}` });
  const created = await rest<{ agent: { id: string }; token: string }>(app, cookie, 'POST', '/api/agents', { name: 'bench-live' });

  const agent = await startChild<AgentRequest, AgentMessage>('./live-agent.ts', 'MAILSCOPE_BENCH_AGENT',
    { api: base, token: created.token, spoolDir: tempDir('mailscope-bench-live-spool-'), ...(BUFFER_BYTES === undefined ? {} : { bufferBytes: BUFFER_BYTES }) } satisfies AgentConfig, { type: 'close' },
    values['agent-node-args'].split(' ').filter((a) => a !== ''));
  const agentStats = async (): Promise<{ received: number; dropped: number; cpuSeconds: number; maxStallMs: number }> => {
    const m = await agent.ask({ type: 'stats' });
    if (m.type !== 'stats') throw new Error(`agent: ${m.type}`);
    return m;
  };
  await until('the agent to connect', async () => {
    const { agents } = await rest<{ agents: { id: string; connected: boolean; host: string }[] }>(app, cookie, 'GET', '/api/agents');
    return agents.some((a) => a.id === created.agent.id && a.connected && a.host !== '');
  });
  await sleep(200);

  // session:closed as the /ui namespace broadcasts it (the ingest emits it once the session is
  // stored), taken at the server's namespace: this process's socket.io-client resolves to its
  // browser build, whose WebSocket cannot send the login cookie.
  const closed: { event: UiSessionClosed; atMicros: number }[] = [];
  const uiNsp = io.of('/ui');
  const emit = uiNsp.emit.bind(uiNsp) as (event: string, ...args: unknown[]) => boolean;
  (uiNsp as unknown as { emit: (event: string, ...args: unknown[]) => boolean }).emit = (event: string, ...args: unknown[]) => {
    if (event === 'session:closed') closed.push({ event: args[0] as UiSessionClosed, atMicros: Math.round((performance.timeOrigin + performance.now()) * 1000) });
    return emit(event, ...args);
  };

  const filter = `tcp port ${SMTP_PORT} or tcp port ${POP3_PORT}`;
  const capture = await rest<{ id: string }>(app, cookie, 'POST', '/api/captures', { agentId: created.agent.id, interface: 'lo', filter });
  await sleep(500);

  console.log(`mailscope live bench: lo, filter '${filter}', steps ${RATES.join(', ')} sessions/s x ${SECONDS} s, concurrency <= ${CONCURRENCY}, POP3 share ${POP3_SHARE}, SMTP client ${SMTP_CLIENT}; the traffic and the agent in child processes, the API in this one`);
  console.log('note: drops are the kernel\'s counters of the capture ring (what pcap_stats reads); on lo they also count the sent copy of a frame, which libpcap discards anyway.');
  console.log('note: a frame\'s ts is when it reached JavaScript (cap passes no capture timestamp), so the latency below starts there.');

  const results: StepResult[] = [];
  for (const rate of RATES) {
    const before = closed.length;
    const agent0 = await agentStats();
    const api0 = cpuSeconds();
    const pg0 = postgresCpuSeconds(pgDir);
    const { driven, failed, skipped, seconds, cpuSeconds: trafficCpu } = await step(rate, SECONDS);
    const apiCpu = cpuSeconds() - api0;
    const pg1 = postgresCpuSeconds(pgDir);
    const agent1 = await agentStats();
    const cores = (s: number): string => (s / seconds).toFixed(2);
    const cpuLine = `agent's longest event-loop stall ${agent1.maxStallMs.toFixed(0)} ms | CPU cores: traffic ${cores(trafficCpu)}, agent ${cores(agent1.cpuSeconds - agent0.cpuSeconds)}, API ${cores(apiCpu)}, PostgreSQL ${pg0 === null || pg1 === null ? '?' : cores(pg1 - pg0)}`;
    const frames = agent1.received - agent0.received;
    const dropped = agent1.dropped - agent0.dropped;
    const ok = driven - failed;
    await until(`step ${rate}/s: ${ok} sessions closed in the API`, () => closed.length - before >= ok, 30_000);
    await sleep(500);
    const mine = closed.slice(before);
    const latenciesMs = mine.map((c) => (c.atMicros - c.event.endTs) / 1000).sort((a, b) => a - b);
    results.push({ rate, driven: ok, failed, skipped, seconds, frames, dropped, stored: mine.length, latenciesMs, cpuLine });
    const r = results[results.length - 1]!;
    console.log(
      `step ${rate} sessions/s: driven ${r.driven} (${(r.driven / r.seconds).toFixed(0)}/s, ${r.failed} failed, ${r.skipped} skipped at the concurrency bound) | ` +
        `captured ${r.frames} frames = ${(r.frames / r.seconds).toFixed(0)} packets/s (target >= ${TARGET_PPS}), kernel drops ${r.dropped} (target 0) | ` +
        `sessions stored ${r.stored}/${r.driven}, missing ${Math.max(0, r.driven - r.stored)} (target 0) | ` +
        `capture -> stored p50 ${percentile(latenciesMs, 50).toFixed(1)} ms, p99 ${percentile(latenciesMs, 99).toFixed(1)} ms, max ${percentile(latenciesMs, 100).toFixed(1)} ms (target p99 < ${TARGET_P99_MS} ms) | ` +
        r.cpuLine,
    );
  }

  const { received: totalFrames, dropped: totalDropped } = await agentStats();
  await rest(app, cookie, 'POST', `/api/captures/${capture.id}/stop`);
  await until('the capture to stop', async () => (await rest<{ status?: string; capture?: { status: string } }>(app, cookie, 'GET', `/api/captures/${capture.id}`).catch(() => ({ status: 'stopped' }))).status !== 'running', 10_000);
  const sessions = await db.prisma.session.aggregate({ where: { captureId: capture.id }, _count: true, _sum: { gaps: true, packetsClient: true, packetsServer: true } });
  const storedPackets = (sessions._sum.packetsClient ?? 0) + (sessions._sum.packetsServer ?? 0);
  console.log(
    `total: ${sessions._count} sessions stored, ${storedPackets} packets in them, ${sessions._sum.gaps ?? 0} TCP gaps (a gap is a lost frame), ` +
      `${totalFrames} frames received by the agent, ${totalDropped} dropped by the kernel`,
  );
  const worst = results.reduce((m, r) => Math.max(m, percentile(r.latenciesMs, 99)), 0);
  const best = results.reduce((m, r) => Math.max(m, r.frames / r.seconds), 0);
  const missing = results.reduce((m, r) => m + Math.max(0, r.driven - r.stored), 0);
  console.log(`targets: >= ${TARGET_PPS} packets/s with no drops: peak ${best.toFixed(0)} packets/s, ${totalDropped} kernel drops, ${missing} sessions missing, ${sessions._sum.gaps ?? 0} gaps -> ${best >= TARGET_PPS && missing === 0 && totalDropped === 0 ? 'met' : 'NOT met'}; p99 < ${TARGET_P99_MS} ms: worst step p99 ${worst.toFixed(1)} ms -> ${worst < TARGET_P99_MS ? 'met' : 'NOT met'}`);
  const warnings = apiLogs.filter((l) => l.includes('"level":50') || l.includes('"level":40'));
  if (warnings.length > 0) console.log(`API warnings/errors: ${warnings.length} (first: ${warnings[0]!.slice(0, 300)})`);
}

let code = 0;
try {
  await main();
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
