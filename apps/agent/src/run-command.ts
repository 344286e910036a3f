/**
 * `mailscope-agent run` and `mailscope-agent import FILE`: the two commands that talk to the API.
 * Both put their batches in a spool and send them with the same sender (batch-sender.ts).
 */
import { rmSync, statSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { validateMailSettings, type MailModuleSettings } from '@mailscope/shared';
import {
  INVALID_AGENT_TOKEN,
  type AgentToServerEvents,
  type BatchAck,
  type CaptureImportAck,
  type HelloAck,
  type ServerToAgentEvents,
} from '@mailscope/shared/agent-protocol';
import { AGENT_VERSION, AgentRunner } from './agent-runner.ts';
import { analyzeFile, FileReadError } from './analyze-file.ts';
import type { CommandIo } from './analyze-command.ts';
import { BatchSender, loggedSenderEvents } from './batch-sender.ts';
import { CAPTURE_NICENESS, isNiceness } from './capture/priority.ts';
import { BatchBuilder } from './spool/batch-builder.ts';
import { DEFAULT_SPOOL_MAX_BYTES, Spool } from './spool/spool.ts';

export const RUN_HELP = `Usage: mailscope-agent run --api URL --token TOKEN [options]

Connects to the Mailscope API, reports this host's interfaces and captures SMTP / POP3 traffic
when the dashboard starts a capture. Batches wait in a spool folder while the API is away and
are sent, in order, once it is back; a restart sends what was not acknowledged.

Options:
  --api URL          the API, e.g. http://mailscope.example.com:3000 (env MAILSCOPE_API)
  --token TOKEN      this agent's token, created on the dashboard (env MAILSCOPE_AGENT_TOKEN)
  --name NAME        name shown on the dashboard (default: the host name)
  --spool-dir DIR    where batches wait (default ${defaultSpoolDir()})
  --spool-max SIZE   spool bound, e.g. 500M, 2G (default 1G); when full, new batches are dropped
                     and counted as dropped in the capture's status
  --buffer SIZE      libpcap's kernel buffer per capture (default 128M: at least ~2,000
                     frames on Linux, where the slots can be 64 KiB each; see live-capture.ts)
  --nice N           niceness of the thread that reads the capture buffer, -20 to 19 (default
                     ${CAPTURE_NICENESS}: frames are dropped when it is not read in time, the rest waits
                     without loss); needs root or CAP_SYS_NICE below 0, else a warning
  -h, --help         this help

Capturing needs root or CAP_NET_RAW (setcap cap_net_raw,cap_net_admin=eip on the node binary).
SIGINT / SIGTERM stop the captures and send what is spooled (up to 10 s) before exiting.
Exit status: 0 stopped by a signal, 1 the API refused the token, 2 bad usage.
`;

export const IMPORT_HELP = `Usage: mailscope-agent import FILE --api URL --token TOKEN [--capture ID] [options]

Analyses a pcap / pcapng file and sends its packets, sessions, timeline and mails to the API,
through the same batches and acknowledgements as a live capture, with a progress bar. The API
creates a capture of this agent for the file (source upload) and it is stopped once every batch
is acknowledged.

Options:
  --api URL, --token TOKEN, --spool-dir DIR   as for 'run'
  --capture ID       send to this existing capture (uuid) of this agent instead
  --smtp-ports LIST, --pop3-ports LIST, --any-port, --save-mail
                     settings for the analysis (default: the API's mail-module settings)
  -h, --help         this help
`;

function defaultSpoolDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/mailscope-agent/spool' : join(homedir(), '.local', 'state', 'mailscope-agent', 'spool');
}

/** `500M`, `2G`, `1048576` -> bytes; undefined when unreadable. */
export function parseSize(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([KMG]?)i?B?$/i.exec(text.trim());
  if (m === null) return undefined;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * unit);
}

export interface AgentEnv {
  readonly MAILSCOPE_API?: string;
  readonly MAILSCOPE_AGENT_TOKEN?: string;
}

function usage(io: CommandIo, command: string, message: string): number {
  io.stderr.write(`mailscope-agent ${command}: ${message}\nTry 'mailscope-agent ${command} --help'.\n`);
  return 2;
}

/** `--nice -5` as written: parseArgs would take -5 for an option, so it is joined to `--nice=-5`. */
function withNegativeNice(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (out.at(-1) === '--nice' && /^-\d/.test(a)) out[out.length - 1] = `--nice=${a}`;
    else out.push(a);
  }
  return out;
}

/** Runs `run`; resolves to the exit code once a signal stopped it or the token was refused. */
export async function runAgent(args: readonly string[], cio: CommandIo, env: AgentEnv): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: withNegativeNice(args),
      strict: true,
      options: {
        api: { type: 'string' },
        token: { type: 'string' },
        name: { type: 'string' },
        'spool-dir': { type: 'string' },
        'spool-max': { type: 'string' },
        buffer: { type: 'string' },
        nice: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    return usage(cio, 'run', err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    cio.stdout.write(RUN_HELP);
    return 0;
  }
  const api = values.api ?? env.MAILSCOPE_API;
  const token = values.token ?? env.MAILSCOPE_AGENT_TOKEN;
  if (api === undefined || !/^https?:\/\//.test(api)) return usage(cio, 'run', '--api URL is required (http://host:port)');
  if (token === undefined || token === '') return usage(cio, 'run', '--token TOKEN is required');
  const spoolMax = values['spool-max'] === undefined ? DEFAULT_SPOOL_MAX_BYTES : parseSize(values['spool-max']);
  if (spoolMax === undefined) return usage(cio, 'run', `--spool-max: '${values['spool-max']}' is not a size (e.g. 500M, 2G)`);
  const buffer = values.buffer === undefined ? undefined : parseSize(values.buffer);
  if (values.buffer !== undefined && buffer === undefined) return usage(cio, 'run', `--buffer: '${values.buffer}' is not a size (e.g. 32M)`);
  const niceness = values.nice === undefined ? CAPTURE_NICENESS : /^-?\d+$/.test(values.nice) ? Number(values.nice) : NaN;
  if (!isNiceness(niceness)) return usage(cio, 'run', `--nice: '${values.nice}' is not an integer from -20 to 19`);

  const log = (line: string): void => void cio.stderr.write(`mailscope-agent: ${line}\n`);
  const spool = new Spool(resolve(values['spool-dir'] ?? defaultSpoolDir()), spoolMax);
  if (spool.length > 0) log(`${spool.length} batches not acknowledged before the last stop will be sent first`);
  const runner = new AgentRunner({
    api,
    token,
    name: values.name ?? hostname(),
    spool,
    log,
    niceness,
    ...(buffer !== undefined ? { bufferBytes: buffer } : {}),
  });
  const onSignal = (signal: string): void => {
    log(`${signal}: stopping captures and sending what is spooled`);
    void runner.shutdown(0);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await runner.run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

type AgentSocket = Socket<ServerToAgentEvents, AgentToServerEvents>;

/** Runs `import FILE`. */
export async function runImport(args: readonly string[], cio: CommandIo, env: AgentEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        api: { type: 'string' },
        token: { type: 'string' },
        capture: { type: 'string' },
        'spool-dir': { type: 'string' },
        'smtp-ports': { type: 'string' },
        'pop3-ports': { type: 'string' },
        'any-port': { type: 'boolean' },
        'save-mail': { type: 'boolean' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return usage(cio, 'import', err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    cio.stdout.write(IMPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1) return usage(cio, 'import', 'one capture file is required');
  const file = positionals[0] as string;
  const api = values.api ?? env.MAILSCOPE_API;
  const token = values.token ?? env.MAILSCOPE_AGENT_TOKEN;
  if (api === undefined || !/^https?:\/\//.test(api)) return usage(cio, 'import', '--api URL is required (http://host:port)');
  if (token === undefined || token === '') return usage(cio, 'import', '--token TOKEN is required');
  const log = (line: string): void => void cio.stderr.write(`mailscope-agent: ${line}\n`);

  // The API's settings first: the analysis uses them unless options override.
  const socket: AgentSocket = io(`${api.replace(/\/+$/, '')}/agent`, { auth: { token }, transports: ['websocket'], reconnectionDelayMax: 5000 });
  let greeted = false;
  const helloAck = await new Promise<HelloAck | { ok: false; error: string; refused: true }>((resolveHello) => {
    socket.on('connect_error', (err) => {
      if (err.message === INVALID_AGENT_TOKEN) resolveHello({ ok: false, error: `the API at ${api} refused the agent token: check --token`, refused: true });
    });
    socket.on('connect', () => {
      void socket
        .timeout(10_000)
        .emitWithAck('hello', { name: `import ${hostname()}`, host: hostname(), version: AGENT_VERSION, interfaces: [] })
        .then((ack) => {
          greeted = ack.ok;
          resolveHello(ack);
        }, () => undefined);
    });
    socket.on('disconnect', () => (greeted = false));
  });
  if (!helloAck.ok) {
    socket.disconnect();
    log(helloAck.error);
    return 1;
  }
  const checked = validateMailSettings({
    ...helloAck.settings,
    ...(values['smtp-ports'] !== undefined ? { smtpPorts: values['smtp-ports'] } : {}),
    ...(values['pop3-ports'] !== undefined ? { pop3Ports: values['pop3-ports'] } : {}),
    ...(values['any-port'] !== undefined ? { anyPort: values['any-port'] } : {}),
    ...(values['save-mail'] !== undefined ? { saveMail: values['save-mail'] } : {}),
  });
  if (!checked.ok) {
    socket.disconnect();
    return usage(cio, 'import', Object.values(checked.errors).join('; '));
  }
  const settings: MailModuleSettings = checked.settings;

  // The capture: the one given, or one the API creates for this file.
  let captureId: string;
  if (values.capture !== undefined) {
    captureId = values.capture;
  } else {
    let sizeBytes = 0;
    try {
      sizeBytes = statSync(file).size;
    } catch (err) {
      socket.disconnect();
      log(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
    let importAck: CaptureImportAck;
    try {
      importAck = await socket.timeout(10_000).emitWithAck('capture:import', { fileName: importFileName(file), sizeBytes });
    } catch {
      socket.disconnect();
      log(`the API at ${api} did not answer capture:import within 10 s`);
      return 1;
    }
    if (!importAck.ok) {
      socket.disconnect();
      log(`the API refused the import: ${importAck.error}`);
      return 1;
    }
    captureId = importAck.captureId;
  }

  const spool = new Spool(join(resolve(values['spool-dir'] ?? defaultSpoolDir()), 'imports', captureId));
  let sent = 0;
  let total = 0;
  const sender = new BatchSender(
    spool,
    {
      isConnected: () => greeted && socket.connected,
      send: (batch, timeoutMs) =>
        new Promise<BatchAck>((ok, fail) => socket.timeout(timeoutMs).emit('batch', batch, (err: Error | null, ack: BatchAck) => (err ? fail(err) : ok(ack)))),
    },
    {
      ...loggedSenderEvents(log),
      acked: () => void sent++,
    },
  );
  socket.on('connect', () => sender.wake());
  const builder = new BatchBuilder({ captureId, saveMail: () => settings.saveMail }, (batch) => {
    spool.append(batch);
    total++;
    sender.wake();
  });
  const progress = makeProgress(cio.stderr, file);
  let readRatio = 0;
  const show = (): void => progress.update(readRatio, sent, total);
  const ticker = setInterval(show, 200);
  try {
    const result = await analyzeFile(file, {
      settings,
      withFrames: true,
      summarize: () => true,
      onEvent: (e, frame) => builder.add(e, frame),
      afterChunk: async () => {
        // Back-pressure: the file is read no faster than the API stores it.
        while (spool.bytes > spool.maxBytes / 2) await new Promise((done) => setTimeout(done, 20));
      },
      onProgress: (read, totalBytes) => (readRatio = totalBytes === 0 ? 1 : read / totalBytes),
    });
    builder.flush();
    await sender.drain(Number.POSITIVE_INFINITY);
    // Every batch acknowledged: the capture is complete. Waits for the ack - socket.io's server
    // drops an event that arrives just before the disconnect that follows.
    const stopped = await socket
      .timeout(10_000)
      .emitWithAck('capture:status', { captureId, state: 'stopped', received: result.frames, dropped: 0, queued: 0 })
      .then((ack) => (ack.ok ? undefined : ack.error), () => 'no answer within 10 s');
    if (stopped !== undefined) log(`warning: could not mark capture ${captureId} stopped: ${stopped}`);
    clearInterval(ticker);
    show();
    progress.clear();
    if (result.captureError !== undefined) log(`warning: ${file}: ${result.captureError.message}; sent what was read before it`);
    cio.stdout.write(`${file}: ${result.frames} frames sent to ${api} as capture ${captureId} in ${total} batches\n`);
    rmSync(spool.dir, { recursive: true, force: true });
    return result.captureError === undefined ? 0 : 1;
  } catch (err) {
    progress.clear();
    if (err instanceof FileReadError) {
      log(`${err.path}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    clearInterval(ticker);
    socket.disconnect();
  }
}

/** The file's name as the API shows it: its base name without control characters, 1..255 characters. */
export function importFileName(file: string): string {
  // eslint-disable-next-line no-control-regex
  const name = Array.from(basename(file).replace(/[\u0000-\u001f\u007f-\u009f]/g, '_')).slice(0, 255).join('');
  return name === '' ? 'capture' : name;
}

function makeProgress(stderr: NodeJS.WriteStream, file: string): { update: (read: number, sent: number, total: number) => void; clear: () => void } {
  let shown = false;
  return {
    update: (read, sent, total) => {
      if (stderr.isTTY !== true) return;
      const width = 30;
      const filled = Math.round(Math.min(1, read) * width);
      stderr.write(`\r${file}: [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] read ${Math.floor(read * 100)}%, batches acknowledged ${sent}/${total} `);
      shown = true;
    },
    clear: () => {
      if (shown) stderr.write('\r\u001b[2K');
      shown = false;
    },
  };
}
