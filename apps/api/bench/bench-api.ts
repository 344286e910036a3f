/**
 * The API as the benchmarks run it: a fresh embedded PostgreSQL and data folder in the OS temp
 * folder, the app with its sockets (/agent, /ui, and the upload routes that come with them), and
 * a signed-in user's cookie. `close` stops it all and deletes both folders.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@mailscope/db';
import type { Database } from '@mailscope/db';
import { startApiServer } from '../src/api-server.ts';
import type { App } from '../src/app.ts';
import { createLoginSession } from '../src/auth/login-sessions.ts';
import { hashPassword } from '../src/auth/password.ts';
import { loadConfig } from '../src/env.ts';

export interface BenchApi {
  readonly db: Database;
  readonly app: App;
  /** The embedded server's data folder (its postmaster's command line names it). */
  readonly pgDir: string;
  /** `mailscope_session=...` of the signed-in user. */
  readonly cookie: string;
  close(): Promise<void>;
}

export async function startBenchApi(name: string, opts: { readonly role: 'admin' | 'viewer'; readonly env?: Record<string, string> }): Promise<BenchApi> {
  const dir = await mkdtemp(join(tmpdir(), `mailscope-${name}-`));
  // Its own folder: the embedded server runs as the postgres user, which cannot enter a mode-700 parent.
  const pgDir = await mkdtemp(join(tmpdir(), `mailscope-${name}-pg-`));
  const db = await openDatabase({ dataDir: pgDir });
  const config = loadConfig({ MAILSCOPE_DATA_DIR: dir, LOG_LEVEL: 'warn', MAILSCOPE_ADMIN_PASSWORD: 'bench-password', ...opts.env });
  const server = await startApiServer({ db, config });
  const { app } = server;
  const user = await db.prisma.user.create({ data: { username: 'bench', passwordHash: await hashPassword('bench-password'), role: opts.role } });
  const cookie = `mailscope_session=${(await createLoginSession(db, user.id)).token}`;
  return {
    db, app, pgDir, cookie,
    async close() {
      await server.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
      await rm(pgDir, { recursive: true, force: true });
    },
  };
}
