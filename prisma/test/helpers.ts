/**
 * The servers every database test runs against: the embedded PostgreSQL (started once per test
 * file in a temporary folder) and, when TEST_DATABASE_URL is set, that server too (CI: Debian's
 * PostgreSQL 15, see .ci/run). With CI=true a missing TEST_DATABASE_URL fails the run: a
 * prerequisite CI lacks must not turn into tests that silently ran against less.
 *
 * Each test gets a database of its own (`freshDatabase`), dropped when the file ends.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import { dropDatabase } from '../src/throwaway.ts';
import { startEmbeddedPostgres } from '../src/embedded.ts';
import type { EmbeddedServer } from '../src/embedded.ts';

export interface TestServer {
  readonly name: 'embedded' | 'TEST_DATABASE_URL';
  /** A database that may be used to create others (the role needs CREATEDB). */
  readonly url: string;
}

const env = process.env;

/** Throws (failing the test) under CI=true when TEST_DATABASE_URL is missing. */
export function externalServer(): TestServer | undefined {
  const url = env.TEST_DATABASE_URL;
  if (url !== undefined && url !== '') return { name: 'TEST_DATABASE_URL', url };
  if (env.CI === 'true') throw new Error('CI=true but TEST_DATABASE_URL is not set: .ci/run must start PostgreSQL and export it');
  return undefined;
}

let embedded: Promise<{ server: EmbeddedServer; dir: string }> | undefined;

export async function embeddedServer(): Promise<TestServer> {
  embedded ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailscope-db-test-'));
    const server = await startEmbeddedPostgres({ dataDir: dir });
    after(async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    });
    return { server, dir };
  })();
  return { name: 'embedded', url: (await embedded).server.url };
}

/** [embedded, external?]; see the module comment for CI. */
export async function testServers(): Promise<TestServer[]> {
  const external = externalServer();
  return external === undefined ? [await embeddedServer()] : [await embeddedServer(), external];
}

/** A new empty database on `server`, dropped after the test file. */
export async function freshDatabase(server: TestServer): Promise<string> {
  const name = `mailscope_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  after(async () => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      await dropDatabase(c, name);
    } finally {
      await c.end();
    }
  });
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
