/**
 * Child processes of the browser-test stack (API, web, agent): each in a process group of its own
 * (detached) so that stopping it stops its children too (next start forks next-server), output to
 * a log file, and a pid file so that the next run can stop what a killed run left behind.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';

export interface Spawned {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** True once it has exited. */
  hasExited(): boolean;
}

export interface SpawnOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
}

/** Starts `command args` detached (its own process group), stdout and stderr appended to `logFile`. */
export function spawnLogged(name: string, command: string, args: readonly string[], opts: SpawnOptions): Spawned {
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (e) => {
      done = true;
      resolve(`spawn error: ${e.message}`);
    });
  });
  // The runner must not wait for the stack to exit on its own.
  child.unref();
  return { name, pid: child.pid, logFile: opts.logFile, exited, hasExited: () => done };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once the group is gone. */
export async function stopGroup(pgid: number, graceMs = 10_000): Promise<void> {
  for (const [signal, wait] of [['SIGTERM', graceMs], ['SIGKILL', 5_000]] as const) {
    try {
      process.kill(-pgid, signal);
    } catch {
      return;
    }
    const end = Date.now() + wait;
    while (Date.now() < end) {
      if (!groupAlive(pgid) || !anyLiveMember(pgid)) return;
      await sleep(100);
    }
  }
}

/** Zombies answer kill(-pgid, 0); a group of zombies only is gone for our purpose. */
function anyLiveMember(pgid: number): boolean {
  for (const entry of safeReaddir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** The pid listening on 127.0.0.1 / 0.0.0.0 / :: TCP `port`, read from /proc (no ss / lsof needed); undefined when free. */
export function listenerOf(port: number): { pid: number | undefined } | undefined {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A') continue;
      const local = cols[1] ?? '';
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(cols[9] ?? '');
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of safeReaddir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    for (const fd of safeReaddir(`/proc/${entry}/fd`)) {
      let link = '';
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[([0-9]+)\]$/.exec(link);
      if (m !== null && inodes.has(m[1]!)) return { pid: Number(entry) };
    }
  }
  return { pid: undefined };
}

export interface PidRecord {
  readonly name: string;
  readonly pid: number;
  /** A piece of its command line, so that a recycled pid is never taken for ours. */
  readonly marker: string;
}

export function writePids(file: string, records: readonly PidRecord[]): void {
  writeFileSync(file, `${JSON.stringify(records, null, 2)}\n`);
}

export function readPids(file: string): PidRecord[] {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(parsed) ? (parsed as PidRecord[]) : [];
  } catch {
    return [];
  }
}

/**
 * Stops the process groups a previous run recorded in `file` that are still alive (a run killed
 * before its teardown); returns what was stopped, for the log.
 */
export async function stopRecorded(file: string): Promise<string[]> {
  const stopped: string[] = [];
  for (const r of readPids(file)) {
    if (!isAlive(r.pid) && !groupAlive(r.pid)) continue;
    const cmd = commandLine(r.pid);
    if (cmd !== '' && !cmd.includes(r.marker)) continue;
    await stopGroup(r.pid, 5_000);
    stopped.push(`${r.name} (pid ${r.pid})`);
  }
  return stopped;
}

/** Command lines of the stack's own programs: such a process on one of our ports is a leftover. */
const OURS = [/next-server/, /next[/\\]dist[/\\]bin[/\\]next/, /apps\/api\/src\/server\.ts/, /apps\/agent\/src\/cli\.ts/, /mailscope-agent/];

/**
 * Makes sure `port` is free: a leftover of ours listening there is stopped (its group and then the
 * process); anything else is an error naming the process.
 */
export async function freePort(port: number): Promise<string | undefined> {
  const owner = listenerOf(port);
  if (owner === undefined) return undefined;
  if (owner.pid === undefined) throw new Error(`port ${port} is in use (by a process this user cannot see): stop it before running the browser tests`);
  const cmd = commandLine(owner.pid);
  if (!OURS.some((re) => re.test(cmd))) {
    throw new Error(`port ${port} is in use by pid ${owner.pid} (${cmd || 'unknown'}): the browser tests need it; stop that process`);
  }
  let pgid = owner.pid;
  try {
    const stat = readFileSync(`/proc/${owner.pid}/stat`, 'utf8');
    pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    // keep the pid
  }
  // Never signal our own group (the runner's).
  if (pgid === process.pid || pgid <= 1) pgid = owner.pid;
  if (pgid === owner.pid) {
    try {
      process.kill(owner.pid, 'SIGTERM');
    } catch {
      // gone
    }
  } else await stopGroup(pgid, 5_000);
  const end = Date.now() + 10_000;
  while (listenerOf(port) !== undefined && Date.now() < end) await sleep(100);
  if (listenerOf(port) !== undefined) {
    try {
      process.kill(owner.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await sleep(500);
  }
  if (listenerOf(port) !== undefined) throw new Error(`port ${port}: the leftover pid ${owner.pid} (${cmd}) would not stop`);
  return `pid ${owner.pid} (${cmd})`;
}

/** The last `lines` lines of a log file, for error messages. */
export function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
