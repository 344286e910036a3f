/**
 * `mailscope-agent analyze FILE`: the engine over a capture file, printed for a person (session
 * table, one session's dialogue) or for a program (NDJSON).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AnalyzerEvent, MailEvent, SessionClosedEvent, SessionOpenedEvent } from '@mailscope/protocols/events';
import { DEFAULT_MAIL_SETTINGS, formatPortList, validateMailSettings } from '@mailscope/shared';
import { analyzeFile, FileReadError } from './analyze-file.ts';
import {
  ANSI,
  PLAIN,
  formatSessionDialogue,
  formatSessionTable,
  formatTotals,
  toJsonLine,
  type SessionRow,
} from './format.ts';

/** Exit codes: 0 ok, 1 the file was unusable or only partly readable, 2 bad usage. */
export const EXIT_OK = 0;
export const EXIT_FILE = 1;
export const EXIT_USAGE = 2;

/** Files larger than this get a progress bar on a terminal. */
const PROGRESS_MIN_BYTES = 20 * 1024 * 1024;

export const ANALYZE_HELP = `Usage: mailscope-agent analyze FILE [options]

Reads a pcap or pcapng capture (streamed, any size), finds its SMTP and POP3 sessions and prints
them as a table: start time (UTC), protocol, client -> server, authenticated user, outcome, mails,
packets, then a line of totals.

Options:
  --smtp-ports LIST   SMTP server ports, ';'-separated (',' and spaces work too)
                      (default ${formatPortList(DEFAULT_MAIL_SETTINGS.smtpPorts)})
  --pop3-ports LIST   POP3 server ports (default ${formatPortList(DEFAULT_MAIL_SETTINGS.pop3Ports)});
                      a port may belong to one protocol only; '' = none
  --any-port          also detect SMTP / POP3 by content on ports not listed
  --session N         print session N as a dialogue: TCP handshake, C: / S: lines with their
                      time offset and reply latency, decoded AUTH (password shown as ****),
                      data, anomalies, then its mails (envelope, From, To, Subject, size,
                      attachments)
  --json              print the event stream as NDJSON, one event per line (packets, sessions,
                      timeline, mails); mail bytes are left out (raw), each mail carries its
                      header summary, passwords are always ****; with --session N only that
                      session's events
  --save-mail DIR     write every mail to DIR/<session>-<index>.eml (created if missing;
                      names come from ids, never from mail content; existing files are
                      replaced) and say where
  -h, --help          this help

Exit status:
  0  the whole file was read
  1  the file is missing or not a capture, or it is truncated or corrupt: whatever sessions
     were found before the problem are still printed, followed by a warning naming the file
     and the problem (a truncated capture is the usual result of copying a file that is still
     being written; its sessions are real but the last ones may be cut short)
  2  bad usage (unknown option, bad port list, bad --session)
`;

/** Where the command writes; injectable so tests could capture it, defaulting to the process. */
export interface CommandIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

function usageError(io: CommandIo, message: string): number {
  io.stderr.write(`mailscope-agent analyze: ${message}\nTry 'mailscope-agent analyze --help'.\n`);
  return EXIT_USAGE;
}

/** Runs `analyze` with its arguments (after the word `analyze`); resolves to the exit code. */
export async function runAnalyze(args: readonly string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        'smtp-ports': { type: 'string' },
        'pop3-ports': { type: 'string' },
        'any-port': { type: 'boolean', default: false },
        'save-mail': { type: 'string' },
        session: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return usageError(io, err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(ANALYZE_HELP);
    return EXIT_OK;
  }
  if (positionals.length !== 1) {
    return usageError(io, positionals.length === 0 ? 'no capture file given' : `one capture file at a time (got ${positionals.length})`);
  }
  const file = positionals[0] as string;

  const checked = validateMailSettings({
    ...DEFAULT_MAIL_SETTINGS,
    smtpPorts: values['smtp-ports'] ?? formatPortList(DEFAULT_MAIL_SETTINGS.smtpPorts),
    pop3Ports: values['pop3-ports'] ?? formatPortList(DEFAULT_MAIL_SETTINGS.pop3Ports),
    anyPort: values['any-port'],
  });
  if (!checked.ok) {
    const e = checked.errors;
    const message =
      e.smtpPorts !== undefined ? `--smtp-ports: ${e.smtpPorts}` : e.pop3Ports !== undefined ? `--pop3-ports: ${e.pop3Ports}` : Object.values(e).join('; ');
    return usageError(io, message);
  }
  const settings = checked.settings;

  let sessionFilter: number | undefined;
  if (values.session !== undefined) {
    if (!/^[0-9]+$/.test(values.session) || Number(values.session) < 1) {
      return usageError(io, `--session: '${values.session}' is not a session number (1, 2, ...)`);
    }
    sessionFilter = Number(values.session);
  }

  const saveDir = values['save-mail'] === undefined ? undefined : resolve(values['save-mail']);
  if (saveDir !== undefined) {
    try {
      mkdirSync(saveDir, { recursive: true });
    } catch (err) {
      io.stderr.write(`mailscope-agent: cannot create '${saveDir}': ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT_FILE;
    }
  }

  const json = values.json;
  const style = io.stdout.isTTY === true ? ANSI : PLAIN;
  const rows = new Map<number, { opened: SessionOpenedEvent; closed?: SessionClosedEvent }>();
  const sessionEvents: AnalyzerEvent[] = [];
  const saved: string[] = [];
  let saveError: string | undefined;
  let pendingOut: string[] = [];
  const inSession = (e: AnalyzerEvent): boolean =>
    sessionFilter === undefined || (e.type === 'packet' ? e.sessionId === sessionFilter : e.sessionId === sessionFilter);

  const progress = makeProgress(io.stderr, file);

  const onEvent = (e: AnalyzerEvent): void => {
    if (e.type === 'session-opened') rows.set(e.sessionId, { opened: e });
    else if (e.type === 'session-closed') {
      const row = rows.get(e.sessionId);
      if (row !== undefined) row.closed = e;
    }
    if (e.type === 'mail' && saveDir !== undefined && saveError === undefined) {
      const target = join(saveDir, `${e.sessionId}-${e.index}.eml`);
      try {
        writeFileSync(target, e.raw);
        saved.push(target);
      } catch (err) {
        saveError = `cannot write '${target}': ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    if (json) {
      if (inSession(e)) pendingOut.push(toJsonLine(e));
    } else if (sessionFilter !== undefined && e.type !== 'packet' && e.sessionId === sessionFilter) {
      sessionEvents.push(e.type === 'mail' ? ({ ...e, raw: new Uint8Array(0) } satisfies MailEvent) : e);
    }
  };

  const flush = async (): Promise<void> => {
    if (pendingOut.length === 0) return;
    const text = pendingOut.join('\n') + '\n';
    pendingOut = [];
    if (!io.stdout.write(text)) await new Promise<void>((done) => io.stdout.once('drain', done));
  };

  let result;
  try {
    result = await analyzeFile(file, {
      settings,
      summarize: (m) => json ? inSession(m) : sessionFilter !== undefined && m.sessionId === sessionFilter,
      onEvent,
      afterChunk: flush,
      onProgress: progress.update,
    });
  } catch (err) {
    progress.clear();
    if (err instanceof FileReadError) {
      io.stderr.write(`mailscope-agent: ${err.path}: ${err.message}\n`);
      return EXIT_FILE;
    }
    throw err;
  }
  progress.clear();

  const { captureError } = result;
  let code = EXIT_OK;
  const notes: string[] = [];

  if (captureError !== undefined && result.frames === 0) {
    const what = captureError.code === 'NOT_A_CAPTURE' ? 'not a pcap or pcapng capture' : captureError.message;
    io.stderr.write(`mailscope-agent: ${file}: ${what}${captureError.code === 'NOT_A_CAPTURE' ? '' : ` (${captureError.code} at byte ${captureError.offset})`}\n`);
    return EXIT_FILE;
  }

  if (!json) {
    if (sessionFilter !== undefined) {
      if (sessionEvents.length === 0) {
        io.stderr.write(`mailscope-agent: ${file}: no session ${sessionFilter} (${rows.size === 0 ? 'no mail sessions found' : `sessions are 1-${rows.size}`})\n`);
        code = EXIT_FILE;
      } else {
        io.stdout.write(formatSessionDialogue(sessionEvents, style) + '\n');
      }
    } else {
      const list: SessionRow[] = [...rows.values()].sort((a, b) => a.opened.sessionId - b.opened.sessionId);
      io.stdout.write(list.length > 0 ? formatSessionTable(list, style) + '\n' : 'No SMTP or POP3 sessions found.\n');
      io.stdout.write(formatTotals(list, result.frames) + ` (${result.format ?? 'capture'})\n`);
    }
  }
  if (saveDir !== undefined) {
    notes.push(`${saved.length} mail${saved.length === 1 ? '' : 's'} written to ${saveDir} as <session>-<index>.eml`);
  }
  const noteStream = json ? io.stderr : io.stdout;
  for (const n of notes) noteStream.write(`${n}\n`);
  if (saveError !== undefined) {
    io.stderr.write(`mailscope-agent: ${saveError}\n`);
    code = EXIT_FILE;
  }
  if (captureError !== undefined) {
    const what = captureError.code === 'TRUNCATED' ? 'truncated' : captureError.code.toLowerCase().replace(/_/g, ' ');
    io.stderr.write(
      `mailscope-agent: warning: ${file}: ${what} at byte ${captureError.offset} (${captureError.message}); ` +
        `the sessions above are those of the ${result.frames} frames before it\n`,
    );
    code = EXIT_FILE;
  }
  return code;
}

/** A one-line progress bar on stderr, only on a terminal and only for large files. */
function makeProgress(stderr: NodeJS.WriteStream, file: string): { update: (read: number, total: number) => void; clear: () => void } {
  let shown = false;
  let last = 0;
  return {
    update: (read, total) => {
      if (stderr.isTTY !== true || total <= PROGRESS_MIN_BYTES) return;
      const now = Date.now();
      if (now - last < 100 && read < total) return;
      last = now;
      const width = 30;
      const ratio = Math.min(1, read / total);
      const filled = Math.round(ratio * width);
      stderr.write(`\r${file}: [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(ratio * 100)}% `);
      shown = true;
    },
    clear: () => {
      if (shown) stderr.write('\r\u001b[2K');
      shown = false;
    },
  };
}
