/**
 * `npm start`: the whole product in one command (issue 6).
 *
 * Where this sits in the layout (ARCHITECTURE.md): `apps/launcher` (@mailscope/launcher) is a
 * fourth app beside agent, api and web. It holds no product logic: it starts the other three as
 * child processes, the way a user would by hand, and the root package.json's `start` script runs
 * this file (`node --import tsx apps/launcher/src/start.ts`). It also keeps what belongs to "run
 * the product" rather than to one app: the demo capture (demo/) and the tests of the Docker files
 * (docker/, checked without a Docker engine) and of the start command from a clean clone.
 *
 * What it does, in order:
 * 1. reads and validates the configuration (launcher's and API's variables at once: config.ts);
 * 2. checks that the two ports are free, finds or makes the local agent's token (data folder,
 *    mode 0600) unless MAILSCOPE_AGENT_TOKEN is given;
 * 3. starts the API (embedded PostgreSQL unless DATABASE_URL; the API registers agent `local`
 *    with the token) and meanwhile runs `next build` when the web UI's build is missing or stale
 *    (web-build.ts); waits for GET /api/health;
 * 4. starts the web server (`next start`) and the local agent (`mailscope-agent run`);
 * 5. with --demo, imports demo/mailscope-demo.pcap unless it is there already;
 * 6. prints the URL and how to sign in, then supervises: a child that dies stops the rest;
 *    Ctrl-C / SIGTERM stops agent, web, API in that order and waits for each.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIRST_ADMIN_USERNAME as ADMIN } from '@mailscope/api/src/auth/admin-bootstrap.ts';
import { newToken } from '@mailscope/api/src/auth/tokens.ts';
import { AGENT_TOKEN_PATTERN } from '@mailscope/api/src/env.ts';
import { ApiCallError, ApiSession, healthy } from './api-client.ts';
import { Child, describeExit, makePrinter, prettyLogLine } from './children.ts';
import type { ChildExit, ChildSpec } from './children.ts';
import { HELP, LauncherConfigError, loadLauncherConfig, wantsHelp } from './config.ts';
import type { LauncherConfig } from './config.ts';
import { rebuildReason, webSourceHash, writeStamp } from './web-build.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const GUARD = join(ROOT, 'apps', 'launcher', 'src', 'child-guard.mjs');
const DEMO_FILE = join(ROOT, 'apps', 'launcher', 'demo', 'mailscope-demo.pcap');
const DEMO_NAME = 'mailscope-demo.pcap';

/**
 * The order the children are stopped in - agent, demo import, web, build, API - and how long each
 * gets after SIGTERM before its process group is killed.
 */
const STOP_TIMEOUT_MS = { agent: 15_000, demo: 5_000, web: 10_000, build: 5_000, api: 60_000 } as const;
/** First start: initdb and migrations on a slow disk. */
const API_READY_TIMEOUT_MS = 180_000;
const WEB_READY_TIMEOUT_MS = 120_000;

const print = makePrinter();
const say = (text: string): void => print('start', text);

class Stopped extends Error {}

class Launcher {
  private readonly children = new Map<string, Child>();
  private stopping = false;
  private generatedPassword: string | undefined;
  private bannerShown = false;

  constructor(private readonly config: LauncherConfig) {}

  async run(): Promise<never> {
    const c = this.config;
    process.on('SIGINT', () => this.onSignal('SIGINT'));
    process.on('SIGTERM', () => this.onSignal('SIGTERM'));
    process.on('SIGHUP', () => this.onSignal('SIGHUP'));
    try {
      await this.checkPorts();
      mkdirSync(c.api.dataDir, { recursive: true });
      const token = c.agentToken ?? agentToken(join(c.api.dataDir, 'agent-token'));

      const api = this.start({
        name: 'api',
        command: process.execPath,
        args: tsxArgs(join(ROOT, 'apps', 'api', 'src', 'server.ts')),
        cwd: ROOT,
        env: { ...c.apiEnv, MAILSCOPE_AGENT_TOKEN: token },
        onLine: (line) => {
          const m = /^First run: created user '([^']+)' with password (\S+)$/.exec(line);
          if (m?.[1] === ADMIN) this.generatedPassword = m[2];
          return prettyLogLine(line);
        },
      });
      const built = this.buildWeb();
      await this.waitFor(api, `the API at ${c.apiUrl}`, () => healthy(c.apiUrl), API_READY_TIMEOUT_MS);
      await built;

      const web = this.start({
        name: 'web',
        command: process.execPath,
        args: ['--import', GUARD, nextBin(), 'start', '--port', String(c.webPort), ...(c.host === undefined ? [] : ['--hostname', c.host])],
        cwd: join(ROOT, 'apps', 'web'),
        env: this.webEnv(),
      });
      await this.waitFor(web, `the web UI at ${c.webUrl}`, () => answers(`${c.webUrl.replace('localhost', '127.0.0.1')}/login`), WEB_READY_TIMEOUT_MS);

      if (c.agent) {
        this.start(this.agentSpec('agent', ['run'], token));
        const hint = captureHint();
        if (hint !== null) say(hint);
      }
      if (c.demo) await this.importDemo(token);
      this.banner();
    } catch (e) {
      if (e instanceof Stopped || this.stopping) return new Promise<never>(() => undefined);
      say(`cannot start: ${e instanceof Error ? e.message : String(e)}`);
      return this.shutdown(1);
    }
    return new Promise<never>(() => undefined);
  }

  /** Starts a child and watches it: one that ends on its own (not asked to) stops the product. */
  private start(spec: ChildSpec, expectedToEnd = false): Child {
    const child = new Child(spec, print);
    this.children.set(spec.name, child);
    if (!expectedToEnd) {
      void child.exited.then((exit) => {
        if (this.stopping) return;
        say(`${spec.name} ${describeExit(exit)}: stopping everything (its last lines are above)`);
        void this.shutdown(1);
      });
    }
    return child;
  }

  /**
   * Runs a child meant to end (the web build, the demo import) and resolves to how it ended; throws
   * Stopped when the product is being stopped meanwhile.
   */
  private async runToEnd(spec: ChildSpec): Promise<ChildExit> {
    const exit = await this.start(spec, true).exited;
    this.children.delete(spec.name);
    if (this.stopping) throw new Stopped();
    return exit;
  }

  /** `mailscope-agent <args>` against the API with the local agent's token and spool. */
  private agentSpec(name: string, args: readonly string[], token: string): ChildSpec {
    const c = this.config;
    return {
      name,
      command: process.execPath,
      args: tsxArgs(join(ROOT, 'apps', 'agent', 'src', 'cli.ts'), ...args, '--api', c.apiUrl, '--spool-dir', join(c.api.dataDir, 'agent-spool')),
      cwd: ROOT,
      // The token goes by the environment, not the command line that `ps` shows.
      env: { ...process.env, MAILSCOPE_AGENT_TOKEN: token },
    };
  }

  private webEnv(): Record<string, string | undefined> {
    return { ...process.env, MAILSCOPE_API_URL: this.config.apiUrl, MAILSCOPE_WEB_DIST_DIR: this.config.webDistDir, NEXT_TELEMETRY_DISABLED: '1' };
  }

  /** `next build` when the build is missing, made for another API address, or older than the sources. */
  private async buildWeb(): Promise<void> {
    const c = this.config;
    const distDir = join(ROOT, 'apps', 'web', c.webDistDir);
    const stamp = { apiUrl: c.apiUrl, sources: webSourceHash(ROOT) };
    const reason = rebuildReason(distDir, stamp);
    if (reason === null) return;
    say(`${reason}: building it (next build, a minute or two)`);
    const started = Date.now();
    const exit = await this.runToEnd({ name: 'build', command: process.execPath, args: ['--import', GUARD, nextBin(), 'build'], cwd: join(ROOT, 'apps', 'web'), env: this.webEnv() });
    if (exit.code !== 0) throw new Error(`next build ${describeExit(exit)} (its output is above)`);
    writeStamp(distDir, stamp);
    say(`web UI built in ${Math.round((Date.now() - started) / 1000)} s`);
  }

  /** Polls `ready` until true; fails when the child ends first or after `timeoutMs`. */
  private async waitFor(child: Child, what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (this.stopping) throw new Stopped();
      if (!child.running) throw new Error(`${child.name} ${describeExit(await child.exited)} before ${what} answered`);
      if (await ready()) return;
      if (Date.now() > end) throw new Error(`${what} did not answer within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async checkPorts(): Promise<void> {
    const c = this.config;
    const inUse: string[] = [];
    for (const [what, port, variable] of [['web UI', c.webPort, 'MAILSCOPE_WEB_PORT'], ['API', c.apiPort, 'MAILSCOPE_API_PORT']] as const) {
      if (!(await portFree(port, c.host))) inUse.push(`port ${port} (${what}) is in use: stop what listens there, or choose another port with ${variable}`);
    }
    if (inUse.length > 0) throw new Error(inUse.join('; '));
  }

  /**
   * --demo: the demo capture through POST /api/uploads as admin, unless a capture of that name is
   * there already. Without the admin password (generated on an earlier run and not in
   * MAILSCOPE_ADMIN_PASSWORD), through the local agent's token (`mailscope-agent import`), once:
   * a marker in the data folder remembers it.
   */
  private async importDemo(token: string): Promise<void> {
    const c = this.config;
    const marker = join(c.api.dataDir, 'demo-imported');
    const password = this.generatedPassword ?? c.api.adminPassword;
    if (password !== undefined) {
      let session: ApiSession | undefined;
      try {
        session = await ApiSession.login(c.apiUrl, ADMIN, password);
      } catch (e) {
        if (!(e instanceof ApiCallError) || e.status !== 401) throw e;
        say(`--demo: cannot sign in as ${ADMIN} with MAILSCOPE_ADMIN_PASSWORD (changed since the first run?): importing through the agent token instead`);
      }
      if (session !== undefined) {
        if ((await session.uploadsNamed(DEMO_NAME)).length > 0) {
          say('--demo: the demo capture is there already');
          return;
        }
        if (await session.saveMailOnFreshInstall()) say('--demo: Save Mail turned on (a fresh install) so the demo mail can be opened and downloaded; Settings turns it off');
        say(`--demo: importing ${DEMO_NAME}`);
        const id = await session.upload(DEMO_FILE);
        const result = await session.waitForUpload(id, 120_000);
        if (result.status !== 'done') throw new Error(`the demo capture's analysis ended ${result.status}${result.error === null ? '' : `: ${result.error}`}`);
        writeFileSync(marker, `${id}\n`);
        say(`--demo: imported ${result.sessions} sessions and ${result.mails} mails`);
        return;
      }
    }
    if (existsSync(marker)) {
      say('--demo: the demo capture was imported on an earlier run');
      return;
    }
    say(`--demo: importing ${DEMO_NAME} with the local agent's token`);
    const exit = await this.runToEnd(this.agentSpec('demo', ['import', DEMO_FILE], token));
    if (exit.code !== 0) throw new Error(`importing the demo capture: mailscope-agent import ${describeExit(exit)}`);
    writeFileSync(marker, 'agent import\n');
  }

  private banner(): void {
    const c = this.config;
    this.bannerShown = true;
    const how = this.generatedPassword !== undefined
      ? `with the password ${this.generatedPassword}\n  (generated on this first run and shown only now: note it, change it after signing in)`
      : c.api.adminPassword !== undefined
        ? 'with the password in MAILSCOPE_ADMIN_PASSWORD (or the one you changed it to)'
        : 'with the password printed on the first run (or the one you changed it to)';
    say([
      '',
      'Mailscope is running.',
      `  Open ${c.webUrl} in your browser.`,
      `  Sign in as '${ADMIN}' ${how}.`,
      `  API ${c.apiUrl} (OpenAPI description at /docs), data in ${c.api.databaseUrl === undefined ? c.api.dataDir : `DATABASE_URL (uploads in ${c.api.dataDir})`}.`,
      `  ${c.agent ? 'The local agent captures when you start a capture on the dashboard.' : 'No local agent (MAILSCOPE_AGENT=false).'}`,
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'));
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.stopping) {
      say(`${signal} again: killing everything now`);
      for (const child of this.children.values()) child.kill();
      process.exit(130);
    }
    say(`${signal}: stopping (agent, web, API); ${signal === 'SIGINT' ? 'Ctrl-C again' : 'a second signal'} kills them at once`);
    void this.shutdown(0);
  }

  /** Stops the children in the order of STOP_TIMEOUT_MS and exits with `code`. */
  private async shutdown(code: number): Promise<never> {
    if (!this.stopping) {
      this.stopping = true;
      for (const [name, timeoutMs] of Object.entries(STOP_TIMEOUT_MS)) {
        const child = this.children.get(name);
        if (child === undefined || !child.running) continue;
        const exit = await child.stop('SIGTERM', timeoutMs);
        if (exit.signal === 'SIGKILL') say(`${name} did not stop within ${timeoutMs / 1000} s: killed`);
      }
      if (code !== 0 && !this.bannerShown && this.generatedPassword !== undefined) {
        // The first run made the admin and printed its password once: do not let it scroll away unseen.
        say(`note: this first run created user '${ADMIN}' with the password ${this.generatedPassword} - keep it, the next start will not show it`);
      }
      say(code === 0 ? 'stopped' : 'stopped after an error');
      process.exit(code);
    }
    return new Promise<never>(() => undefined);
  }
}

/** The local agent's token: read from `file`, or made and written there (0600) the first time. */
function agentToken(file: string): string {
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (!AGENT_TOKEN_PATTERN.test(token)) throw new Error(`${file} does not hold an agent token: delete it and a new one is made`);
    return token;
  }
  const token = newToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}

/** Node's arguments to run the TypeScript `script` with `args`, guarded (child-guard.mjs). */
function tsxArgs(script: string, ...args: string[]): string[] {
  return ['--import', GUARD, '--import', 'tsx', script, ...args];
}

/** Next's CLI, resolved from the web app (the version it was built against). */
function nextBin(): string {
  const require = createRequire(join(ROOT, 'apps', 'web', 'package.json'));
  return join(dirname(require.resolve('next/package.json')), 'dist', 'bin', 'next');
}

async function portFree(port: number, host: string | undefined): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen({ port, ...(host === undefined ? {} : { host }), exclusive: true }, () => server.close(() => resolvePort(true)));
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    return res.status < 500;
  } catch {
    return false;
  }
}

/**
 * Capture needs CAP_NET_RAW (root has it, unless a container took it away). Without it the product
 * runs all the same and a capture started on the dashboard fails with the agent's explanation.
 */
function captureHint(): string | null {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return null;
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (m === null || (BigInt(`0x${m[1]}`) & (1n << 13n)) !== 0n) return null;
  return 'note: this process may not capture (no root, no CAP_NET_RAW): the dashboard works, but live capture fails until you run npm start as root or give node the capabilities: setcap cap_net_raw,cap_net_admin=eip "$(readlink -f "$(command -v node)")"';
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    process.stdout.write(HELP);
    return;
  }
  let config: LauncherConfig;
  try {
    config = loadLauncherConfig(argv, process.env);
  } catch (e) {
    if (e instanceof LauncherConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  await new Launcher(config).run();
}

await main();
