/**
 * The README's start command as a new user runs it, from a clean clone: `git clone` of this
 * repository at HEAD into a temporary folder, `npm ci` (the npm registry is reachable in CI; the
 * schema-engine stub as .ci/run sets it), then `npm start -- --demo` on ports no developer uses.
 * It waits for the printed URL and password, signs in through the web URL, finds the demo's
 * sessions and the local agent, presses Ctrl-C (SIGINT to the process group, as a terminal does)
 * and checks that everything stopped: no process left that belongs to the clone (PostgreSQL's
 * postmaster, next-server, the API, the agent), both ports free. Then it starts again and finds
 * the same data, without a second import of the demo, and stops again.
 *
 * Slow (npm ci and next build: several minutes). A missing prerequisite (git, npm, a git checkout)
 * fails the test with the reason.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MINUTE = 60_000;

function missingPrerequisite(): string | undefined {
  for (const [cmd, args] of [['git', ['--version']], ['npm', ['--version']]] as const) {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
    } catch {
      return `${cmd} is not on PATH`;
    }
  }
  try {
    execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, stdio: 'ignore' });
  } catch {
    return `${ROOT} is not a git checkout`;
  }
  if (process.platform !== 'linux') return 'the process checks read /proc (Linux only)';
  return undefined;
}

/** A port the kernel calls free, outside 3000-3199 (developers' servers and the browser tests). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolvePort, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, () => {
        const a = s.address();
        s.close(() => resolvePort(typeof a === 'object' && a !== null ? a.port : 0));
      });
    });
    if (port > 3199 || port < 3000) return port;
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const s = createServer();
    s.once('error', () => resolvePort(false));
    s.listen({ port, exclusive: true }, () => s.close(() => resolvePort(true)));
  });
}

/** Processes (other than this one) whose command line or working folder is inside `dir`. */
function processesIn(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // A process of another user we may not inspect, or one that just ended.
      }
      if (cmdline.includes(dir) || cwd === dir || cwd.startsWith(`${dir}/`)) found.push(`${pid}: ${cmdline || '?'} (cwd ${cwd || '?'})`);
    } catch {
      // Ended while we looked.
    }
  }
  return found;
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `npm start -- --demo` in `clone`, in its own process group (as a terminal's foreground job). */
class Run {
  readonly proc: ChildProcess;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(clone: string, env: NodeJS.ProcessEnv) {
    this.proc = spawn('npm', ['start', '--', '--demo'], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const add = (b: Buffer): void => void (this.output += b.toString('utf8'));
    this.proc.stdout?.on('data', add);
    this.proc.stderr?.on('data', add);
    this.exited = new Promise((r) => this.proc.once('exit', (code, signal) => r({ code, signal })));
  }

  /** The URL and the sign-in line of the banner, once printed; fails if npm start ended first. */
  async banner(timeoutMs: number): Promise<{ url: string; password: string | undefined }> {
    let ended = false;
    void this.exited.then(() => (ended = true));
    return until('the "Mailscope is running" banner', timeoutMs, () => {
      const url = /Open (http:\/\/\S+) in your browser\./.exec(this.output)?.[1];
      if (url !== undefined) return { url, password: /Sign in as 'admin' with the password (\S+)$/m.exec(this.output)?.[1] };
      if (ended) throw new Error(`npm start ended before it printed the URL:\n${this.tail()}`);
      return undefined;
    });
  }

  /** Ctrl-C: SIGINT to the whole foreground process group. */
  interrupt(): void {
    if (this.proc.pid !== undefined) process.kill(-this.proc.pid, 'SIGINT');
  }

  killAll(): void {
    try {
      if (this.proc.pid !== undefined) process.kill(-this.proc.pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }

  tail(lines = 60): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }
}

async function signIn(web: string, password: string): Promise<string> {
  const res = await fetch(`${web}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
  assert.equal(res.status, 200, `sign-in through ${web}: ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0] ?? '').find((c) => c.startsWith('mailscope_session='));
  assert.ok(cookie, 'the web URL passes the API\'s login cookie on');
  return cookie;
}

async function getJson<T>(url: string, cookie: string): Promise<T> {
  const res = await fetch(url, { headers: { cookie } });
  assert.equal(res.status, 200, `GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

interface SessionRow { id: string; protocol: string; outcome: string | null; captureId: string }

async function stopAndCheck(run: Run, clone: string, ports: readonly number[]): Promise<void> {
  run.interrupt();
  const exit = await Promise.race([run.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`npm start did not end within 2 minutes of Ctrl-C:\n${run.tail()}`)), 2 * MINUTE))]);
  assert.match(run.output, /start \| stopped\n/, `the launcher says it stopped cleanly:\n${run.tail()}`);
  assert.doesNotMatch(run.output, /stopped after an error/);
  assert.ok(exit.code === 0 || exit.code === 130 || exit.signal === 'SIGINT', `npm start ended with ${JSON.stringify(exit)}`);
  // npm may return before the last of its grandchildren is reaped: give them a moment.
  const left = await until('every process of the clone to end', 30_000, () => {
    const p = processesIn(clone);
    return p.length === 0 ? [] : undefined;
  }).catch(() => processesIn(clone));
  assert.deepEqual(left, [], 'nothing of the clone is left running (postmaster, next-server, API, agent)');
  for (const port of ports) assert.ok(await portFree(port), `port ${port} is free again`);
}

test('npm start -- --demo from a clean clone: URL, sign-in through the web, demo sessions, Ctrl-C stops everything, a second start finds the data', { timeout: 40 * MINUTE }, async () => {
  const missing = missingPrerequisite();
  if (missing !== undefined) assert.fail(`the clean-clone test needs ${missing}`);
  const base = mkdtempSync(join(tmpdir(), 'mailscope-start-'));
  // The embedded PostgreSQL runs as the postgres user when we are root: it must reach the clone.
  chmodSync(base, 0o755);
  const clone = join(base, 'mailscope');
  const runs: Run[] = [];
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '--quiet', '--no-checkout', ROOT, clone], { stdio: 'inherit' });
    execFileSync('git', ['checkout', '--quiet', '--detach', head], { cwd: clone, stdio: 'inherit' });

    // The environment of a new user: none of this machine's Mailscope settings.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!/^(MAILSCOPE_|DATABASE_URL$|TEST_DATABASE_URL$|PORT$|HOST$|LOG_LEVEL$|UPLOAD_LIMIT_MB$|COOKIE_SECURE$|NODE_OPTIONS$|npm_)/.test(k)) env[k] = v;
    }
    env.PRISMA_SCHEMA_ENGINE_BINARY = join(clone, 'prisma', 'tools', 'schema-engine-stub');
    env.CHECKPOINT_DISABLE = '1';
    env.NEXT_TELEMETRY_DISABLED = '1';
    try {
      execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * MINUTE, maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
      const err = e as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`npm ci in the clone failed:\n${String(err.stdout ?? '').slice(-4000)}\n${String(err.stderr ?? '').slice(-8000)}`);
    }

    const webPort = await freePort();
    let apiPort = await freePort();
    while (apiPort === webPort) apiPort = await freePort();
    env.MAILSCOPE_WEB_PORT = String(webPort);
    env.MAILSCOPE_API_PORT = String(apiPort);

    // First start: builds the web UI, creates the admin, imports the demo.
    const first = new Run(clone, env);
    runs.push(first);
    const b1 = await first.banner(15 * MINUTE);
    assert.equal(b1.url, `http://localhost:${webPort}`);
    assert.ok(b1.password, `the first run prints the generated admin password:\n${first.tail()}`);
    assert.match(first.output, /--demo: imported 4 sessions and 2 mails/);
    const web = b1.url;
    const cookie = await signIn(web, b1.password);
    const { sessions } = await getJson<{ sessions: SessionRow[] }>(`${web}/api/sessions?limit=100`, cookie);
    assert.deepEqual(sessions.map((s) => s.outcome).sort(), ['auth-failed', 'delivered', 'rejected', 'retrieved'], 'the demo capture\'s sessions');
    // A fresh install's demo turns Save Mail on: its mails open and download as .eml.
    assert.match(first.output, /--demo: Save Mail turned on/);
    const { mails } = await getJson<{ mails: { id: string }[] }>(`${web}/api/mails?limit=100`, cookie);
    assert.equal(mails.length, 2);
    for (const m of mails) {
      const raw = await fetch(`${web}/api/mails/${m.id}/raw`, { headers: { cookie } });
      assert.equal(raw.status, 200, `mail ${m.id} downloads`);
      assert.match(raw.headers.get('content-type') ?? '', /^message\/rfc822/);
      assert.match(await raw.text(), /^[\s\S]*\r\n\r\n/, 'a mail: headers, a blank line, a body');
    }
    // The local agent registered itself with the token npm start made, and is connected.
    await until('the local agent to connect', 60_000, async () => {
      const { agents } = await getJson<{ agents: { name: string; connected: boolean }[] }>(`${web}/api/agents`, cookie);
      return agents.some((a) => a.name === 'local' && a.connected) ? true : undefined;
    });
    // The login page itself is served.
    const page = await fetch(`${web}/login`);
    assert.equal(page.status, 200);
    await page.body?.cancel();
    assert.ok(existsSync(join(clone, 'data', 'agent-token')));
    assert.equal(readFileSync(join(clone, 'data', 'agent-token'), 'utf8').length > 20, true);
    await stopAndCheck(first, clone, [webPort, apiPort]);

    // Second start: same data, no new build, no second import, no password shown.
    const second = new Run(clone, env);
    runs.push(second);
    const b2 = await second.banner(5 * MINUTE);
    assert.equal(b2.url, web);
    assert.equal(b2.password, undefined, 'the password is shown on the first run only');
    assert.match(second.output, /printed on the first run/);
    assert.doesNotMatch(second.output, /building it \(next build/, 'the build of the first run is reused');
    assert.match(second.output, /--demo: the demo capture was imported on an earlier run/);
    const cookie2 = await signIn(web, b1.password);
    const again = await getJson<{ sessions: SessionRow[] }>(`${web}/api/sessions?limit=100`, cookie2);
    assert.deepEqual(again.sessions.map((s) => s.id).sort(), sessions.map((s) => s.id).sort(), 'the same sessions, once');
    await stopAndCheck(second, clone, [webPort, apiPort]);
  } catch (e) {
    for (const r of runs) process.stderr.write(`--- npm start output (last lines) ---\n${r.tail(120)}\n`);
    throw e;
  } finally {
    for (const r of runs) r.killAll();
    // The launcher's children stop themselves once it is gone (child-guard.mjs); what is still
    // there after that is killed, so no PostgreSQL runs on a folder being deleted.
    await until('the clone\'s processes to end', 60_000, () => (processesIn(clone).length === 0 ? true : undefined)).catch(() => {
      for (const p of processesIn(clone)) {
        try {
          process.kill(Number(p.split(':')[0]), 'SIGKILL');
        } catch {
          // Gone.
        }
      }
    });
    rmSync(base, { recursive: true, force: true });
  }
});
