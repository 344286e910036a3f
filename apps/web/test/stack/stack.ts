/**
 * The real Mailscope stack the browser tests and the page benchmark run against:
 * 1. a throwaway PostgreSQL database: on TEST_DATABASE_URL's server when set (CI sets it; under
 *    CI=true it must be), otherwise on an embedded PostgreSQL in a fixed temporary folder (fixed, so
 *    that a postmaster a killed run left there is found and stopped by the next start);
 * 2. the API as a child process (`node --import tsx apps/api/src/server.ts`);
 * 3. the web built for that API (Next bakes its rewrites at build time) into its own dist dir,
 *    then `next start`;
 * 4. optionally a real capture agent (`mailscope-agent run`) with a token made through the API.
 *
 * Every child runs in a process group of its own, recorded in `<stateDir>/pids.json`; a new start
 * first stops what an earlier, killed run left there or on the stack's ports.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dropDatabase } from '@mailscope/db/throwaway';
import { startEmbeddedPostgres } from '@mailscope/db/embedded';
import type { EmbeddedServer } from '@mailscope/db/embedded';
import pg from 'pg';
import { freePort, stopGroup, stopRecorded, tail, writePids, spawnLogged } from './processes.ts';
import type { PidRecord, Spawned } from './processes.ts';

/** apps/web */
export const WEB_DIR = resolve(__dirname, '..', '..');
export const REPO_ROOT = resolve(WEB_DIR, '..', '..');
/** The shared corpus lives beside the repository: `<repo>/../shared/corpus`. */
export const CORPUS_DIR = resolve(REPO_ROOT, '..', 'shared', 'corpus');
export const ADMIN_USERNAME = 'admin';

export interface StackOptions {
  /** Names the state folder and the database prefix: 'e2e' or 'bench'. */
  readonly name: string;
  readonly webPort: number;
  readonly apiPort: number;
  /** Next's dist dir for this stack's build, relative to apps/web (e.g. '.next-test'). */
  readonly distDir: string;
  readonly adminPassword: string;
  /** Start a capture agent too. */
  readonly agent: boolean;
  /** Reuse an existing build in distDir (MAILSCOPE_E2E_REUSE_BUILD=1 while iterating on specs). */
  readonly reuseBuild?: boolean;
  /** Called between the database and the API: fill the database before anyone reads it. */
  readonly seed?: (databaseUrl: string, log: (line: string) => void) => Promise<void>;
  readonly log?: (line: string) => void;
}

/** What the specs read (written to `<stateDir>/stack.json`). */
export interface StackState {
  readonly web: string;
  /** The `next start` process (its server runs in it). */
  readonly webPid: number;
  readonly api: string;
  readonly admin: { readonly username: string; readonly password: string };
  readonly agent: { readonly id: string; readonly name: string } | null;
  readonly corpusDir: string;
  readonly logsDir: string;
  readonly smtpPort: number;
  readonly pop3Port: number;
}

export interface Stack {
  readonly state: StackState;
  readonly stateDir: string;
  readonly databaseUrl: string;
  stop(): Promise<void>;
}

export function stateDirOf(name: string): string {
  return join(tmpdir(), `mailscope-web-${name}`);
}

export function stateFileOf(name: string): string {
  return join(stateDirOf(name), 'stack.json');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Why live capture on lo cannot run on this machine (root or CAP_NET_RAW, libpcap's `cap` module
 * built, curl for the POP3 client), or undefined.
 */
export async function liveCaptureProblem(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) {
    const { readFileSync } = await import('node:fs');
    const status = readFileSync(`/proc/${process.pid}/status`, 'utf8');
    const eff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/i.exec(status)?.[1] ?? '0'}`);
    if ((eff & (1n << 13n)) === 0n) return 'live capture needs root or CAP_NET_RAW';
  }
  const { networkInterfaces } = await import('node:os');
  if (networkInterfaces().lo === undefined) return 'no loopback interface lo';
  const { spawnSync } = await import('node:child_process');
  const cap = spawnSync(process.execPath, ['-e', "require('cap')"], { cwd: join(REPO_ROOT, 'apps', 'agent'), encoding: 'utf8' });
  if (cap.status !== 0) return `libpcap's cap module does not load (is libpcap-dev installed and npm ci run?): ${cap.stderr.split('\n').slice(0, 3).join(' ')}`;
  return undefined;
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

/** A fresh database `<prefix>_<hex>` on `serverUrl`; databases of the prefix left by killed runs are dropped first. */
async function createThrowaway(serverUrl: string, prefix: string, log: (l: string) => void): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withClient(serverUrl, async (c) => {
    const old = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}\\_%`]);
    for (const row of old.rows) {
      log(`dropping the database ${row.datname} an earlier run left`);
      await dropDatabase(c, row.datname);
    }
    await c.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => withClient(serverUrl, (c) => dropDatabase(c, name)) };
}

async function waitFor(what: string, child: Spawned | undefined, ms: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child?.hasExited() === true) throw new Error(`${what}: ${child.name} exited (${await child.exited}); its log ${child.logFile} ends with:\n${tail(child.logFile)}`);
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what}: not within ${ms / 1000} s${child === undefined ? '' : `; ${child.logFile} ends with:\n${tail(child.logFile)}`}`);
}

/** Signs in as `username` through the API; returns the Cookie header. */
export async function apiLogin(api: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${api}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!res.ok) throw new Error(`sign-in as ${username}: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('mailscope_session='));
  if (cookie === undefined) throw new Error('sign-in: no mailscope_session cookie');
  return cookie;
}

/** A JSON call to the API with a cookie; throws on an unexpected status. */
export async function apiJson<T>(api: string, cookie: string, method: string, path: string, body?: unknown, expect: number[] = [200, 201, 202]): Promise<T> {
  const res = await fetch(`${api}/api${path}`, {
    method,
    headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) throw new Error(`${method} /api${path}: ${res.status} ${text}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** Starts the whole stack; on failure whatever was started is stopped again before the error is thrown. */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? ((l: string) => console.log(`[${opts.name}] ${l}`));
  const stateDir = stateDirOf(opts.name);
  const logsDir = join(stateDir, 'logs');
  const pidsFile = join(stateDir, 'pids.json');
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });

  // 0. Leftovers of a killed run: its process groups, then anything of ours on our ports.
  for (const s of await stopRecorded(pidsFile)) log(`stopped ${s}, left by an earlier run`);
  for (const port of [opts.webPort, opts.apiPort]) {
    const stopped = await freePort(port);
    if (stopped !== undefined) log(`stopped ${stopped}, left on port ${port} by an earlier run`);
  }
  for (const dir of [logsDir, join(stateDir, 'api-data'), join(stateDir, 'spool')]) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }

  const pids: PidRecord[] = [];
  const children: Spawned[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const track = (child: Spawned, marker: string): Spawned => {
    children.push(child);
    pids.push({ name: child.name, pid: child.pid, marker });
    writePids(pidsFile, pids);
    cleanups.push(() => stopGroup(child.pid));
    return child;
  };
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      await c().catch((e: unknown) => log(`cleanup: ${e instanceof Error ? e.message : String(e)}`));
    }
    writePids(pidsFile, []);
  };

  try {
    // 1. The database.
    const external = process.env.TEST_DATABASE_URL;
    let serverUrl: string;
    if (external !== undefined && external !== '') {
      serverUrl = external;
      log('database: a throwaway database on TEST_DATABASE_URL');
    } else {
      if (process.env.CI === 'true') throw new Error('CI=true but TEST_DATABASE_URL is not set: .ci/run must start PostgreSQL and export it');
      const pgDir = join(stateDir, 'pg');
      log(`database: embedded PostgreSQL in ${pgDir}`);
      const server: EmbeddedServer = await startEmbeddedPostgres({ dataDir: pgDir });
      cleanups.push(async () => {
        await server.stop();
        rmSync(pgDir, { recursive: true, force: true });
      });
      serverUrl = server.url;
    }
    const db = await createThrowaway(serverUrl, `mailscope_web_${opts.name}`, log);
    cleanups.push(db.drop);
    if (opts.seed !== undefined) await opts.seed(db.url, log);

    // 2. The API.
    const api = `http://127.0.0.1:${opts.apiPort}`;
    const apiChild = track(
      spawnLogged('api', process.execPath, ['--import', 'tsx', 'apps/api/src/server.ts'], {
        cwd: REPO_ROOT,
        logFile: join(logsDir, 'api.log'),
        env: {
          ...withoutAgentEnv(process.env),
          PORT: String(opts.apiPort),
          HOST: '127.0.0.1',
          DATABASE_URL: db.url,
          MAILSCOPE_DATA_DIR: join(stateDir, 'api-data'),
          MAILSCOPE_ADMIN_PASSWORD: opts.adminPassword,
          LOG_LEVEL: 'warn',
        },
      }),
      'apps/api/src/server.ts',
    );
    const build = buildWeb(opts, api, logsDir, track, log);
    await waitFor('the API to answer GET /api/auth/me', apiChild, 120_000, async () => (await fetch(`${api}/api/auth/me`)).status === 401);
    log(`API ready on ${api}`);

    // 3. The web.
    await build;
    const web = `http://127.0.0.1:${opts.webPort}`;
    const webChild = track(
      spawnLogged('web', process.execPath, [nextBin(), 'start', '--port', String(opts.webPort), '--hostname', '127.0.0.1'], {
        cwd: WEB_DIR,
        logFile: join(logsDir, 'web.log'),
        env: webEnv(opts, api),
      }),
      'next',
    );
    await waitFor('the web to answer GET /login', webChild, 60_000, async () => (await fetch(`${web}/login`)).status === 200);
    log(`web ready on ${web}`);

    // 4. The agent.
    let agent: StackState['agent'] = null;
    if (opts.agent) {
      // A missing prerequisite fails the run with its reason; a skipped spec would hide it.
      const problem = await liveCaptureProblem();
      if (problem !== undefined) throw new Error(`the live-capture browser tests need: ${problem}`);
      const cookie = await apiLogin(api, ADMIN_USERNAME, opts.adminPassword);
      const name = `${opts.name}-agent`;
      const created = await apiJson<{ agent: { id: string }; token: string }>(api, cookie, 'POST', '/agents', { name });
      const agentChild = track(
        spawnLogged('agent', process.execPath, ['--import', 'tsx', 'apps/agent/src/cli.ts', 'run', '--api', api, '--token', created.token, '--name', name, '--spool-dir', join(stateDir, 'spool')], {
          cwd: REPO_ROOT,
          logFile: join(logsDir, 'agent.log'),
          env: withoutAgentEnv(process.env),
        }),
        'apps/agent/src/cli.ts',
      );
      await waitFor('the agent to connect and say hello', agentChild, 60_000, async () => {
        const { agents } = await apiJson<{ agents: { id: string; connected: boolean; host: string }[] }>(api, cookie, 'GET', '/agents');
        const a = agents.find((x) => x.id === created.agent.id);
        return a !== undefined && a.connected && a.host !== '';
      });
      agent = { id: created.agent.id, name };
      log(`agent ${name} connected`);
    }

    const state: StackState = {
      web,
      webPid: webChild.pid,
      api,
      admin: { username: ADMIN_USERNAME, password: opts.adminPassword },
      agent,
      corpusDir: CORPUS_DIR,
      logsDir,
      smtpPort: 2525,
      pop3Port: 1110,
    };
    return { state, stateDir, databaseUrl: db.url, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The API registers an agent 'local' when MAILSCOPE_AGENT_TOKEN is set: not in the tests' stack. */
function withoutAgentEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { MAILSCOPE_AGENT_TOKEN: _token, MAILSCOPE_API: _api, ...rest } = env;
  return rest;
}

function nextBin(): string {
  return require.resolve('next/dist/bin/next', { paths: [WEB_DIR] });
}

function webEnv(opts: StackOptions, api: string): NodeJS.ProcessEnv {
  return { ...process.env, MAILSCOPE_API_URL: api, MAILSCOPE_WEB_DIST_DIR: opts.distDir, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' };
}

/** `next build` for this API into opts.distDir (the rewrites are baked in at build time). */
async function buildWeb(opts: StackOptions, api: string, logsDir: string, track: (c: Spawned, marker: string) => Spawned, log: (l: string) => void): Promise<void> {
  const buildId = join(WEB_DIR, opts.distDir, 'BUILD_ID');
  if (opts.reuseBuild === true && existsSync(buildId)) {
    log(`web: reusing the build in ${opts.distDir} from ${statSync(buildId).mtime.toISOString()} (MAILSCOPE_E2E_REUSE_BUILD)`);
    return;
  }
  const started = Date.now();
  const child = track(spawnLogged('web-build', process.execPath, [nextBin(), 'build'], { cwd: WEB_DIR, logFile: join(logsDir, 'web-build.log'), env: webEnv(opts, api) }), 'next');
  const code = await Promise.race([child.exited, sleep(600_000).then(() => 'timeout')]);
  if (code !== 0) throw new Error(`next build failed (${code}); ${child.logFile} ends with:\n${tail(child.logFile, 60)}`);
  log(`web built in ${((Date.now() - started) / 1000).toFixed(1)} s into ${opts.distDir}`);
}
