/**
 * The processes `npm start` runs: each in its own process group (Ctrl-C in the terminal reaches
 * the launcher only, which stops them in order), its stdout and stderr read line by line and
 * printed with its name in front, its end observed.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Sees each output line first; returns the text to print (default: the line), or null to print
   * nothing.
   */
  readonly onLine?: (line: string) => string | null;
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type Printer = (name: string, text: string) => void;

const NAME_WIDTH = 5;
const COLORS = ['36', '35', '33', '32', '34', '90'];

/** Prints `name | text`, names padded (and coloured on a terminal). */
export function makePrinter(out: NodeJS.WriteStream = process.stdout): Printer {
  const colors = new Map<string, string>();
  const color = out.isTTY === true && process.env.NO_COLOR === undefined;
  return (name, text) => {
    let c = colors.get(name);
    if (c === undefined) {
      c = COLORS[colors.size % COLORS.length] as string;
      colors.set(name, c);
    }
    const label = name.padEnd(NAME_WIDTH);
    for (const line of text.split('\n')) out.write(color ? `\u001b[${c}m${label} |\u001b[0m ${line}\n` : `${label} | ${line}\n`);
  };
}

export class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<ChildExit>;
  private exitInfo: ChildExit | undefined;

  constructor(readonly spec: ChildSpec, print: Printer) {
    this.proc = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const pipe = (stream: NodeJS.ReadableStream | null): void => {
      if (stream === null) return;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        const text = spec.onLine === undefined ? line : spec.onLine(line);
        if (text !== null) print(spec.name, text);
      });
    };
    pipe(this.proc.stdout);
    pipe(this.proc.stderr);
    this.exited = new Promise((resolve) => {
      this.proc.once('error', (err) => {
        print(spec.name, `could not start ${spec.command}: ${err.message}`);
        this.exitInfo = { code: 127, signal: null };
        resolve(this.exitInfo);
      });
      this.proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get name(): string {
    return this.spec.name;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /**
   * Sends `signal` to the process (not its group: the API stops its PostgreSQL itself), waits up
   * to `timeoutMs`, then kills the whole group. Resolves once it has exited.
   */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<ChildExit> {
    if (!this.running) return this.exited;
    this.signal(signal, false);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) this.kill();
    return this.exited;
  }

  /** SIGKILL to the process group (the process and anything it started). */
  kill(): void {
    this.signal('SIGKILL', true);
  }

  private signal(signal: NodeJS.Signals, group: boolean): void {
    const pid = this.proc.pid;
    if (pid === undefined) return;
    try {
      process.kill(group ? -pid : pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** "exited with code 1", "was killed by SIGSEGV". */
export function describeExit(exit: ChildExit): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? '?'}`;
}

/** pino's JSON log line as `LEVEL message (err: ...)`; other lines unchanged. */
export function prettyLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof obj !== 'object' || obj === null) return line;
  const o = obj as { level?: unknown; msg?: unknown; err?: { message?: unknown } };
  if (typeof o.level !== 'number' || typeof o.msg !== 'string') return line;
  const level = o.level >= 60 ? 'FATAL' : o.level >= 50 ? 'ERROR' : o.level >= 40 ? 'WARN' : o.level >= 30 ? 'INFO' : 'DEBUG';
  const err = typeof o.err?.message === 'string' ? ` (${o.err.message})` : '';
  return `${level} ${o.msg}${err}`;
}
