/**
 * What the API tests share: the PostgreSQL servers to run against (as prisma/test/helpers.ts: the
 * embedded server, one per test file in a temporary folder, and TEST_DATABASE_URL when set, a
 * throwaway database on it per file; under CI=true it must be set), an app built on one, users and
 * sign-in, and synthetic frames (RFC 5737 addresses, fixed times).
 */
import { randomBytes } from 'node:crypto';
import { dropDatabase } from '@mailscope/db/throwaway';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openDatabase } from '@mailscope/db';
import type { Database } from '@mailscope/db';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import type { AppDeps } from '../src/app.ts';
import { hashPassword } from '../src/auth/password.ts';
import type { Config } from '../src/env.ts';

export interface TestDb {
  readonly name: 'embedded' | 'TEST_DATABASE_URL';
  /** Opens (once per file) and migrates the database; closed and removed after the file. */
  open(): Promise<Database>;
}

const env = process.env;

/**
 * Opened on first use, cleaned up when the file ends. `testDatabases` must be called at the top
 * level of the file: an `after` registered inside a test would run when that test ends.
 */
function lazy(name: TestDb['name'], start: (cleanups: (() => Promise<void>)[]) => Promise<Database>): TestDb {
  let db: Promise<Database> | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  return { name, open: () => (db ??= start(cleanups)) };
}

/** [embedded, external?]; throws under CI=true without TEST_DATABASE_URL. */
export function testDatabases(): TestDb[] {
  const list: TestDb[] = [
    lazy('embedded', async (cleanups) => {
      const dir = await mkdtemp(join(tmpdir(), 'mailscope-api-test-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const db = await openDatabase({ dataDir: dir });
      cleanups.push(() => db.close());
      return db;
    }),
  ];
  const url = env.TEST_DATABASE_URL;
  if (url !== undefined && url !== '') {
    list.push(lazy('TEST_DATABASE_URL', async (cleanups) => {
      const name = `mailscope_api_test_${randomBytes(6).toString('hex')}`;
      await withClient(url, (c) => c.query(`CREATE DATABASE ${name}`));
      cleanups.push(() => withClient(url, (c) => dropDatabase(c, name)));
      const dbUrl = new URL(url);
      dbUrl.pathname = `/${name}`;
      const db = await openDatabase({ url: dbUrl.toString() });
      cleanups.push(() => db.close());
      return db;
    }));
  } else if (env.CI === 'true') {
    throw new Error('CI=true but TEST_DATABASE_URL is not set: .ci/run must start PostgreSQL and export it');
  }
  return list;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export const testConfig: Config = {
  host: '127.0.0.1',
  port: 0,
  databaseUrl: undefined,
  dataDir: tmpdir(),
  uploadLimitBytes: 1024 * 1024,
  adminPassword: undefined,
  logLevel: 'silent',
  cookieSecure: false,
};

export async function testApp(db: Database, deps: Partial<AppDeps> = {}): Promise<FastifyInstance> {
  const app = await buildApp({ db, config: testConfig, logger: false, ...deps });
  after(() => app.close());
  await app.ready();
  return app;
}

export async function createUser(db: Database, role: 'viewer' | 'admin', password = 'correct horse battery'): Promise<{ id: string; username: string; password: string }> {
  const username = `${role}-${randomBytes(4).toString('hex')}`;
  const u = await db.prisma.user.create({ data: { username, role, passwordHash: await hashPassword(password) } });
  return { id: u.id, username, password };
}

/** Signs in through the API; returns the `Cookie` header to send. */
export async function login(app: FastifyInstance, user: { username: string; password: string }): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: user.password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const c = res.cookies.find((x) => x.name === 'mailscope_session');
  if (c === undefined) throw new Error('no session cookie');
  return `mailscope_session=${c.value}`;
}

/**
 * An Ethernet / IPv4 / TCP frame (checksums zero: the decoder does not check them). Addresses are
 * dotted IPv4 text.
 */
export function tcpFrame(src: string, srcPort: number, dst: string, dstPort: number, seq: number, ack: number, flags: number, payload: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const frame = new Uint8Array(14 + 20 + 20 + data.length);
  const v = new DataView(frame.buffer);
  frame.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0);
  v.setUint16(12, 0x0800);
  frame[14] = 0x45;
  v.setUint16(16, 20 + 20 + data.length);
  frame[22] = 64;
  frame[23] = 6;
  frame.set(src.split('.').map(Number), 26);
  frame.set(dst.split('.').map(Number), 30);
  v.setUint16(34, srcPort);
  v.setUint16(36, dstPort);
  v.setUint32(38, seq >>> 0);
  v.setUint32(42, ack >>> 0);
  frame[46] = 5 << 4;
  frame[47] = flags;
  v.setUint16(48, 65535);
  frame.set(data, 54);
  return frame;
}

/** A fixed base time: 2024-05-01T10:00:00Z in µs. */
export const T0 = 1_714_557_600_000_000;
