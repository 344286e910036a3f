/**
 * The API side of ingest-bench.ts, in a process of its own so that its peak RSS is the API's
 * alone: embedded PostgreSQL in a temporary folder, the app with its gateways listening on
 * 127.0.0.1 and a free port, an agent token and a live capture. Talks to the parent over IPC:
 * sends `{ port, token, captureId }` when ready; on `measure` times the first page of the session
 * list (GET /api/sessions through inject, as a signed-in browser would ask) and answers with it and
 * the process's peak RSS; on `close` stops everything.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '@mailscope/db';
import { Server } from 'socket.io';
import { buildApp } from '../src/app.ts';
import { createLoginSession } from '../src/auth/login-sessions.ts';
import { hashPassword } from '../src/auth/password.ts';
import { loadConfig } from '../src/env.ts';
import { disconnectedAgentControl } from '../src/services/agent-control.ts';
import { AppEvents } from '../src/services/app-events.ts';
import { forwardingAgentControl } from '../src/services/gateway.ts';
import { SOCKET_MAX_MESSAGE_BYTES, attachSockets } from '../src/socket/index.ts';

export type ServerMessage =
  | { readonly type: 'ready'; readonly port: number; readonly token: string; readonly captureId: string }
  | { readonly type: 'measured'; readonly peakRssBytes: number; readonly firstPageMs: number[]; readonly sessionsInList: number; readonly rows: Record<string, number> };

const send = (m: ServerMessage): void => {
  process.send?.(m);
};

const dir = await mkdtemp(join(tmpdir(), 'mailscope-ingest-bench-'));
// Its own folder: the embedded server runs as the postgres user, which cannot enter a mode-700 parent.
const pgDir = await mkdtemp(join(tmpdir(), 'mailscope-ingest-bench-pg-'));
const db = await openDatabase({ dataDir: pgDir });
const config = loadConfig({ MAILSCOPE_DATA_DIR: dir, LOG_LEVEL: 'warn', MAILSCOPE_ADMIN_PASSWORD: 'bench-password' });
const events = new AppEvents();
const agentControl = forwardingAgentControl(disconnectedAgentControl);
const app = await buildApp({ db, config, events, agentControl });
const io = new Server(app.server, { maxHttpBufferSize: SOCKET_MAX_MESSAGE_BYTES, serveClient: false });
const gateway = await attachSockets(io, { app, db, config, events });
agentControl.set(gateway.agentControl);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();

const token = randomBytes(32).toString('base64url');
const agent = await db.prisma.agent.create({ data: { name: 'bench', host: '', version: '', tokenHash: createHash('sha256').update(token).digest('hex') } });
const capture = await db.prisma.capture.create({ data: { agentId: agent.id, source: 'live', status: 'running', interface: 'bench0' } });
const user = await db.prisma.user.create({ data: { username: 'bench', passwordHash: await hashPassword('bench-password'), role: 'viewer' } });
const cookie = `mailscope_session=${(await createLoginSession(db, user.id)).token}`;

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'measure') void measure();
  if (msg.type === 'close') void close();
});

async function measure(): Promise<void> {
  await db.pool.query('ANALYZE');
  const times: number[] = [];
  let count = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const r = await app.inject({ method: 'GET', url: '/api/sessions?limit=50', headers: { cookie } });
    times.push(performance.now() - t);
    if (r.statusCode !== 200) throw new Error(`GET /api/sessions: ${r.statusCode} ${r.body}`);
    count = (r.json() as { sessions: unknown[] }).sessions.length;
  }
  const c = await db.pool.query<Record<string, string>>(`SELECT (SELECT count(*) FROM "Session") AS sessions, (SELECT count(*) FROM "Packet") AS packets,
    (SELECT count(*) FROM "TimelineEntry") AS timeline`);
  const rows = Object.fromEntries(Object.entries(c.rows[0]!).map(([k, v]) => [k, Number(v)]));
  send({ type: 'measured', peakRssBytes: process.resourceUsage().maxRSS * 1024, firstPageMs: times, sessionsInList: count, rows });
}

async function close(): Promise<void> {
  await gateway.close();
  await new Promise<void>((resolve) => void io.close(() => resolve()));
  await app.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
  await rm(pgDir, { recursive: true, force: true });
  process.exit(0);
}

send({ type: 'ready', port: typeof address === 'object' && address !== null ? address.port : 0, token, captureId: capture.id });
