/**
 * What the socket, ingest and upload tests share: the PostgreSQL servers they run against (the
 * embedded one, started once per test file in a temporary folder, and TEST_DATABASE_URL when set;
 * with CI=true it must be set - the approach of prisma/test/helpers.ts), a fresh database per API,
 * the API listening on 127.0.0.1 port 0 with the gateways attached (sockets need a real port),
 * agents with tokens, signed-in users, and a socket.io client acting as an agent.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { dropDatabase } from '@mailscope/db/throwaway';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openDatabase } from '@mailscope/db';
import type { Database } from '@mailscope/db';
import { startEmbeddedPostgres } from '@mailscope/db/embedded';
import type { AgentToServerEvents, ServerToAgentEvents, ServerToUiEvents } from '@mailscope/shared';
import pg from 'pg';
import type { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { startApiServer } from '../src/api-server.ts';
import type { App } from '../src/app.ts';
import { createLoginSession } from '../src/auth/login-sessions.ts';
import { hashPassword } from '../src/auth/password.ts';
import { loadConfig } from '../src/env.ts';
import type { AppEvents } from '../src/services/app-events.ts';
import type { AttachedGateway } from '../src/socket/index.ts';

export interface TestServer {
  readonly name: 'embedded' | 'TEST_DATABASE_URL';
  readonly url: string;
}

let embedded: Promise<string> | undefined;

/** [embedded, TEST_DATABASE_URL?]; throws under CI=true without TEST_DATABASE_URL. */
export async function testServers(): Promise<TestServer[]> {
  const external = process.env.TEST_DATABASE_URL;
  if ((external === undefined || external === '') && process.env.CI === 'true') {
    throw new Error('CI=true but TEST_DATABASE_URL is not set: .ci/run must start PostgreSQL and export it');
  }
  embedded ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailscope-api-test-'));
    const server = await startEmbeddedPostgres({ dataDir: dir });
    after(async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    });
    return server.url;
  })();
  const servers: TestServer[] = [{ name: 'embedded', url: await embedded }];
  if (external !== undefined && external !== '') servers.push({ name: 'TEST_DATABASE_URL', url: external });
  return servers;
}

/** A new empty database on `server`, dropped when the file ends. */
export async function freshDatabase(server: TestServer): Promise<string> {
  const name = `mailscope_api_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end());
  after(async () => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    await dropDatabase(c, name).finally(() => c.end());
  });
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestApi {
  readonly app: App;
  readonly db: Database;
  readonly events: AppEvents;
  readonly gateway: AttachedGateway;
  readonly io: Server;
  /** http://127.0.0.1:<port> */
  readonly base: string;
  readonly dataDir: string;
  /** Log lines (JSON) at warn and above. */
  readonly logs: string[];
  close(): Promise<void>;
}

/** The API on a fresh database of `server`, listening on 127.0.0.1 and a free port. */
export async function startApi(server: TestServer, env: Record<string, string> = {}): Promise<TestApi> {
  return startApiOn(await freshDatabase(server), { env });
}

/**
 * The API on database `url`, listening on 127.0.0.1 and a free port; stopped when the file ends.
 * `cluster`: one instance of several, as server.ts starts it with MAILSCOPE_CLUSTER=postgres, with
 * short heartbeats (the instances know each other within a second of starting).
 */
export async function startApiOn(url: string, opts: { readonly env?: Record<string, string>; readonly cluster?: boolean } = {}): Promise<TestApi> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailscope-api-data-'));
  const db = await openDatabase({ url });
  const config = loadConfig({
    MAILSCOPE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', MAILSCOPE_ADMIN_PASSWORD: 'test-password',
    ...(opts.cluster === true ? { DATABASE_URL: url, MAILSCOPE_CLUSTER: 'postgres' } : {}), ...opts.env,
  });
  if (opts.cluster === true) assert.equal(config.cluster, 'postgres');
  const server = await startApiServer({
    db, config, keepLogs: true,
    ...(opts.cluster === true
      ? { sockets: { commandTimeoutMs: 3_000, tickMs: 200, presenceRefreshMs: 1000 }, clusterHeartbeat: { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000 } }
      : { sockets: { commandTimeoutMs: 2_000, tickMs: 200 } }),
  });
  const { app } = server;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let closed = false;
  const api: TestApi = {
    ...server, db, base: `http://127.0.0.1:${port}`, dataDir,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  after(() => api.close());
  return api;
}

/** An Agent row with a fresh token (only its sha256 stored). */
export async function createAgent(db: Database, name = `agent-${randomBytes(3).toString('hex')}`): Promise<{ id: string; token: string }> {
  const token = randomBytes(32).toString('base64url');
  const agent = await db.prisma.agent.create({
    data: { name, host: '', version: '', tokenHash: createHash('sha256').update(token).digest('hex') },
  });
  return { id: agent.id, token };
}

/** A live Capture row of `agentId`, status 'running'. */
export async function createCapture(db: Database, agentId: string | null): Promise<string> {
  const c = await db.prisma.capture.create({ data: { agentId, source: 'live', status: 'running', interface: 'eth0' } });
  return c.id;
}

/** A signed-in user's Cookie header. */
export async function signIn(db: Database, role: 'admin' | 'viewer' = 'admin'): Promise<string> {
  const user = await db.prisma.user.create({
    data: { username: `u-${randomBytes(4).toString('hex')}`, passwordHash: await hashPassword('a-long-password'), role },
  });
  const { token } = await createLoginSession(db, user.id);
  return `mailscope_session=${token}`;
}

export type AgentClient = ClientSocket<ServerToAgentEvents, AgentToServerEvents>;
export type UiClient = ClientSocket<ServerToUiEvents, Record<string, never>>;

/** A socket.io client on /agent; resolves once connected, rejects with the connect_error. */
export async function connectAgent(api: TestApi, token: string | undefined): Promise<AgentClient> {
  const socket: AgentClient = connect(`${api.base}/agent`, {
    transports: ['websocket'],
    reconnection: false,
    ...(token === undefined ? {} : { auth: { token } }),
  });
  after(() => socket.disconnect());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (e) => reject(e));
  });
  return socket;
}

export async function connectUi(api: TestApi, cookie: string | undefined): Promise<UiClient> {
  const socket: UiClient = connect(`${api.base}/ui`, {
    transports: ['websocket'],
    reconnection: false,
    // Its own connection: socket.io-client otherwise reuses an agent's (multiplexing), without the cookie.
    forceNew: true,
    ...(cookie === undefined ? {} : { extraHeaders: { cookie } }),
  });
  after(() => socket.disconnect());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (e) => reject(e));
  });
  return socket;
}

/** Rows of the ingest tables (to prove that something stored nothing, or nothing twice). */
export async function rowCounts(db: Database): Promise<{ sessions: number; packets: number; timeline: number; mails: number; attachments: number }> {
  const r = await db.pool.query<{ s: string; p: string; t: string; m: string; a: string }>(`SELECT
    (SELECT count(*) FROM "Session") AS s, (SELECT count(*) FROM "Packet") AS p, (SELECT count(*) FROM "TimelineEntry") AS t,
    (SELECT count(*) FROM "Mail") AS m, (SELECT count(*) FROM "Attachment") AS a`);
  const row = r.rows[0]!;
  return { sessions: Number(row.s), packets: Number(row.p), timeline: Number(row.t), mails: Number(row.m), attachments: Number(row.a) };
}
