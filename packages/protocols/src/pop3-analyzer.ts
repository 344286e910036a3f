/**
 * POP3 analyzer: RFC 1939 (POP3), RFC 2449 (CAPA, PIPELINING), RFC 5034 (AUTH / SASL),
 * RFC 2595 (STLS). Turns one connection's reassembled bytes into timeline entries and the mails
 * fetched by RETR and TOP.
 *
 * Model (Zeek's POP3 analyzer, smtp-server's stream): one `LineReader` per direction; client lines
 * are commands queued FIFO (PIPELINING) until the server's `+OK` / `-ERR` answers them; a `+OK` to
 * RETR or TOP switches the server reader to the dot-terminated body, which becomes a mail; a `+OK`
 * to CAPA, LIST / UIDL without argument, or AUTH without mechanism starts a listing, read line by
 * line and put in the reply entry's text. Protocol violations are `anomaly` entries, never throws.
 */
import type {
  AuthCredential,
  CloseReason,
  ExtractedMail,
  ProtocolAnalyzer,
  ProtocolSummary,
  SessionOutcome,
  SessionSink,
  TimelineEntryInput,
} from './session.ts';
import type { Direction } from './types.ts';
import type { EngineLimits } from './limits.ts';
import { LineReader, type LineInfo, type LineReaderSink, type ReaderMode } from './line-reader.ts';
import { MailBuffer } from './mail-buffer.ts';
import { mailHeaderAnomalies } from './mail-summary.ts';
import { decodeBase64, decodeBase64Text, parseCramMd5, parseNtlm, parsePlain, parseXoauth2, type SaslCredential } from './sasl.ts';

/** The POP3 commands this analyzer understands; anything else is `UNKNOWN_COMMAND`. */
export const POP3_COMMANDS = [
  'USER',
  'PASS',
  'APOP',
  'AUTH',
  'CAPA',
  'STAT',
  'LIST',
  'UIDL',
  'RETR',
  'TOP',
  'DELE',
  'NOOP',
  'RSET',
  'QUIT',
  'STLS',
] as const;
/** A POP3 command verb, upper case. */
export type Pop3Command = (typeof POP3_COMMANDS)[number];

/**
 * Anomaly codes (the `verb` of `anomaly` entries), stable across versions:
 * - `UNMATCHED_RESPONSE`: a `+OK` / `-ERR` with no command waiting for it (the greeting excepted).
 * - `UNKNOWN_RESPONSE`: a server line that is neither `+OK`, `-ERR` nor a SASL `+` challenge.
 * - `UNKNOWN_COMMAND`: a client line whose verb is not a POP3 command.
 * - `EMPTY_COMMAND`: an empty client line outside a SASL exchange.
 * - `COMMAND_LINE_TOO_LONG` / `RESPONSE_LINE_TOO_LONG`: a line over `limits.maxLineBytes` (kept cut).
 * - `BARE_LF`: a line ended in LF without CR (RFC 1939 wants CRLF); recorded once per direction.
 * - `TOO_MANY_PENDING_COMMANDS`: more than `limits.maxPendingCommands` unanswered; the oldest is dropped.
 * - `UNTERMINATED_MULTILINE`: a `+OK` / `-ERR` line inside a listing that never got its `.` line.
 * - `SASL_BAD_BASE64`: a SASL initial response or answer that is not Base64.
 * - `APOP_WITHOUT_TIMESTAMP`: APOP used although the greeting offered no `<...@...>` timestamp.
 * - `PIPELINED_AFTER_STLS`: commands sent in clear after STLS, before its `+OK` (RFC 2595 §4 injection).
 * - `MAIL_TRUNCATED`: a mail longer than `limits.maxMailBytes`; the rest was counted, not kept.
 * - `CONTENT_GAP`: bytes of the dialogue were never captured; says what they cut.
 * - `TOO_MANY_DELETIONS`: more distinct DELE'd message numbers than the analyzer tracks.
 * - `NOT_POP3`: too many violations in a row; the analyzer stops parsing this connection.
 * - `MAIL_HEADER_TOO_LARGE`, `MIME_BOUNDARY_TOO_LONG`: a retrieved mail's header section is past
 *   `MAX_MAIL_HEADER_BYTES`, or its multipart boundary past RFC 2046's 70 characters (mail-summary.ts).
 */
export const POP3_ANOMALIES = [
  'UNMATCHED_RESPONSE',
  'UNKNOWN_RESPONSE',
  'UNKNOWN_COMMAND',
  'EMPTY_COMMAND',
  'COMMAND_LINE_TOO_LONG',
  'RESPONSE_LINE_TOO_LONG',
  'BARE_LF',
  'TOO_MANY_PENDING_COMMANDS',
  'UNTERMINATED_MULTILINE',
  'SASL_BAD_BASE64',
  'APOP_WITHOUT_TIMESTAMP',
  'PIPELINED_AFTER_STLS',
  'MAIL_TRUNCATED',
  'CONTENT_GAP',
  'TOO_MANY_DELETIONS',
  'NOT_POP3',
  'MAIL_HEADER_TOO_LARGE',
  'MIME_BOUNDARY_TOO_LONG',
] as const;
/** An anomaly code this analyzer emits. */
export type Pop3Anomaly = (typeof POP3_ANOMALIES)[number];

/** States of the dialogue, in RFC 1939's words where it has them. */
export const POP3_STATES = [
  /** Entered at connection start: waiting for the server's greeting. */
  'GREETING',
  /** Entered on a `+OK` greeting (or a client heard before any greeting): the client must log in. */
  'AUTHORIZATION',
  /** Entered when PASS, APOP or AUTH is answered `+OK`: the maildrop is open. */
  'TRANSACTION',
  /** Entered when QUIT is answered `+OK` in TRANSACTION: messages marked by DELE are removed. */
  'UPDATE',
  /** Entered on a `-ERR` greeting, or when QUIT is answered outside TRANSACTION or with `-ERR`. */
  'CLOSED',
  /** Entered when STLS is answered `+OK`: the rest of the connection is TLS, nothing is parsed. */
  'TLS',
  /** Entered after too many violations in a row (`NOT_POP3`): nothing more is parsed. */
  'NOT_POP3',
] as const;
/** A dialogue state (see `POP3_STATES`). */
export type Pop3State = (typeof POP3_STATES)[number];

/** What a `+OK` to a command is followed by. `-ERR` is always a single line. */
type BodyKind = 'none' | 'listing' | 'mail';

/** The Base64 exchange of one AUTH command with a mechanism. */
interface SaslExchange {
  readonly mechanism: string;
  /** Base64-decoded client responses in order, the initial response first; undefined = not Base64. */
  readonly responses: (Uint8Array | undefined)[];
  /** `+` challenges not answered yet. */
  outstanding: number;
}

/** A command waiting for its final `+OK` / `-ERR`. */
interface Pending {
  /** Known command, or null for an unknown verb (still answered by a real server, with -ERR). */
  readonly cmd: Pop3Command | null;
  readonly verb: string;
  /** Argument as sent (unmasked: PASS keeps its password here until answered). */
  readonly arg: string;
  readonly ts: number;
  /** Frames of the command line and, for AUTH, of the SASL answers. */
  frames: number[];
  /** Time of the client's last line in this exchange: latency is measured from it. */
  lastTs: number;
  readonly sasl?: SaslExchange;
}

/** A listing (CAPA, LIST, UIDL, AUTH) being read line by line. */
interface Listing {
  readonly pending: Pending;
  readonly ts: number;
  readonly head: string;
  readonly lines: string[];
  frames: number[];
  more: number;
  lostBytes: number;
}

/** A RETR / TOP body being read. */
interface Transfer {
  readonly command: 'RETR' | 'TOP';
  readonly messageNumber: number | undefined;
  readonly buf: MailBuffer;
}

interface CommandHandler {
  /** Argument as the timeline shows it (credentials masked). Default: as sent. */
  readonly shown?: (arg: string) => string;
  /** What follows a `+OK`. Default: nothing. */
  readonly body?: (arg: string) => BodyKind;
  /** The command line was read (before it is queued). */
  readonly sent?: (p: Pending, frames: readonly number[]) => void;
  /** The final `+OK` (ok) or `-ERR` arrived, after its reply entry was emitted. */
  readonly answered?: (p: Pending, ok: boolean, ts: number, frames: readonly number[]) => void;
}

const MASK = '****';
/**
 * Unknown commands / unexpected lines in a row, with no valid exchange between them, after which
 * the connection is taken for something else (Zeek gives up on redis on port 110 the same way).
 */
const MAX_CONSECUTIVE_VIOLATIONS = 10;
/** Distinct DELE'd message numbers tracked; a real maildrop of 2,000 messages is already large. */
const MAX_DELETED = 100_000;
/** SASL responses kept per exchange: every mechanism decoded here needs at most two. */
const MAX_SASL_RESPONSES = 4;
/** Longest verb shown for an unknown command (RFC 2449 keywords are at most 40 characters). */
const MAX_VERB_CHARS = 40;
/** RFC 1939 §7 timestamp in the greeting: `<process-ID.clock@hostname>`. */
const APOP_TIMESTAMP = /<[^<>\s]*@[^<>\s]*>/;
const MESSAGE_NUMBER = /^\d{1,9}$/;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const isCommand = (v: string): v is Pop3Command => (POP3_COMMANDS as readonly string[]).includes(v);

/** Text for a person: UTF-8 (invalid bytes replaced), control characters escaped. */
function printable(bytes: Uint8Array): string {
  return escapeControls(utf8.decode(bytes));
}

function escapeControls(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (c) => {
    if (c === '\r') return '\\r';
    if (c === '\n') return '\\n';
    return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
  });
}

/** `+OK` / `-ERR` (case-insensitive, as lenient servers and clients are), `+` challenge, or other. */
type LineClass = { kind: 'ok' | 'err' | 'challenge'; text: string } | { kind: 'other' };

function classify(text: string): LineClass {
  const head = text.slice(0, 4).toUpperCase();
  if (head.startsWith('+OK')) return { kind: 'ok', text: text.slice(3).trimStart() };
  if (head === '-ERR') return { kind: 'err', text: text.slice(4).trimStart() };
  if (text === '+' || text.startsWith('+ ')) return { kind: 'challenge', text: text.slice(2) };
  return { kind: 'other' };
}

function messageNumber(arg: string): number | undefined {
  const first = arg.trim().split(/\s+/)[0] ?? '';
  return MESSAGE_NUMBER.test(first) ? Number(first) : undefined;
}

/**
 * `a` then the frames of `b` that come after it, at most `max`. Both are ascending: frames of one
 * direction arrive in order, and every unit merged here lies in one direction.
 */
function mergeFrames(a: readonly number[], b: readonly number[], max: number): number[] {
  const out = a.length > max ? a.slice(0, max) : a.slice();
  for (const f of b) {
    if (out.length >= max) break;
    const last = out[out.length - 1];
    if (last === undefined || f > last) out.push(f);
  }
  return out;
}

/**
 * Analyzes one POP3 connection.
 *
 * Contract: `data` / `gap` per direction in stream order, then `close` exactly once (session.ts's
 * `StreamHandler` order); nothing is emitted after `close`. Never throws on traffic. Memory is
 * bounded by `limits`: lines by `maxLineBytes`, listings by `maxReplyLines` lines, the command queue
 * by `maxPendingCommands`, a mail by `maxMailBytes`, frame lists by `maxFramesPerUnit`.
 *
 * Timeline entries:
 * - `command` (client): verb upper-cased (`retr 1` is `RETR`), arg as sent except PASS (`****`), the
 *   APOP digest (`user ****`) and AUTH initial responses (`PLAIN ****`). SASL answers are `SASL` with
 *   arg `****` (or empty); a cancel is `*`.
 * - `reply` (server): verb `+OK` / `-ERR` (or `+` for a SASL challenge, arg decoded when printable),
 *   `latencyUs` = reply time − time of the client line it answers (for AUTH: the last SASL answer);
 *   for a listing (CAPA, LIST / UIDL without argument, AUTH without mechanism) the entry comes when
 *   the `.` line arrives, arg = first-line text and the lines, "\n"-joined, at most
 *   `maxReplyLines` lines (then `… (n more lines)`), ts = time of the `+OK` line.
 * - `data` (server): after a RETR / TOP body's `.` line; verb RETR / TOP, arg its size.
 * - `auth` (client): one per login attempt, when its final reply arrives (or at close, success
 *   undefined): USER+PASS as mechanism `USER` with user and password; APOP with user only (the digest
 *   is not a password); AUTH PLAIN / LOGIN / XOAUTH2 (token as password) / CRAM-MD5 (user only).
 * - `tls` (server): STLS answered `+OK`; nothing after it is parsed.
 * - `anomaly`: see `POP3_ANOMALIES`.
 *
 * Mails: direction 'retrieved', command RETR or TOP, `messageNumber` from its argument (the message
 * number → mail mapping), bytes = the body after the `+OK` line up to (not including) the `.` line,
 * dot-stuffing removed, the CRLF of the last line kept. `complete` is false when a gap, the mail
 * limit or the end of the connection cut it. A TOP mail holds the headers and the requested number
 * of body lines: `complete` says that TOP result arrived whole, not that it is the whole message.
 *
 * The first server line is the greeting (its `<...@...>` APOP timestamp is kept), unless the client
 * already spoke: then the greeting was not captured and the line answers the oldest command.
 */
export class Pop3Analyzer implements ProtocolAnalyzer {
  readonly protocol = 'pop3' as const;

  private readonly client: LineReader;
  private readonly server: LineReader;
  private readonly pending: Pending[] = [];
  private stateValue: Pop3State = 'GREETING';
  private greetingText: string | undefined;
  private greetingSeen = false;
  private greetingRejected = false;
  private timestamp: string | undefined;
  private sasl: Pending | undefined;
  private userArg: { user: string; frames: readonly number[] } | undefined;
  private listing: Listing | undefined;
  private transfer: Transfer | undefined;
  private readonly marked = new Set<number>();
  private deletedList: number[] | undefined;
  private mailCount = 0;
  private authUser: string | undefined;
  private authMechanism: string | undefined;
  private authSuccess: boolean | undefined;
  private authFailed = false;
  private quitAnswered = false;
  private encrypted = false;
  private closedBy: CloseReason | undefined;
  private violations = 0;
  private overflowed = false;
  private bareLf: Record<Direction, boolean> = { client: false, server: false };

  private readonly handlers: Record<Pop3Command, CommandHandler> = {
    USER: {
      sent: (p, frames) => {
        this.userArg = { user: p.arg, frames };
      },
    },
    PASS: {
      shown: () => MASK,
      answered: (p, ok, ts) => {
        const u = this.userArg;
        this.userArg = undefined;
        this.credential(ts, mergeFrames(u?.frames ?? [], p.frames, this.limits.maxFramesPerUnit), {
          mechanism: 'USER',
          ...(u ? { user: u.user } : {}),
          password: p.arg,
          success: ok,
        });
      },
    },
    APOP: {
      shown: (arg) => {
        const sp = arg.indexOf(' ');
        return sp < 0 ? arg : `${arg.slice(0, sp)} ${MASK}`;
      },
      sent: (p, frames) => {
        if (this.timestamp === undefined && this.greetingSeen) {
          this.anomaly('APOP_WITHOUT_TIMESTAMP', 'client', p.ts, frames, 'APOP used but the greeting offered no <...@...> timestamp');
        }
      },
      answered: (p, ok, ts) => {
        const user = p.arg.split(' ')[0] ?? '';
        this.credential(ts, p.frames, { mechanism: 'APOP', user, success: ok });
      },
    },
    AUTH: {
      shown: (arg) => {
        const parts = arg.trim().split(/\s+/);
        return parts.length > 1 ? `${parts[0]} ${MASK}` : arg.trim();
      },
      body: (arg) => (arg.trim() === '' ? 'listing' : 'none'),
      sent: (p) => {
        if (p.sasl) this.sasl = p;
      },
      answered: (p, ok, ts) => {
        if (!p.sasl) return;
        if (this.sasl === p) this.sasl = undefined;
        const c = decodeSasl(p.sasl);
        this.credential(ts, p.frames, { mechanism: p.sasl.mechanism, ...c, success: ok }, ntlmDetail(c));
      },
    },
    CAPA: { body: () => 'listing' },
    STAT: {},
    LIST: { body: (arg) => (arg.trim() === '' ? 'listing' : 'none') },
    UIDL: { body: (arg) => (arg.trim() === '' ? 'listing' : 'none') },
    RETR: { body: () => 'mail' },
    TOP: { body: () => 'mail' },
    DELE: {
      answered: (p, ok, ts) => {
        const n = messageNumber(p.arg);
        if (!ok || n === undefined || this.marked.has(n)) return;
        if (this.marked.size >= MAX_DELETED) {
          this.anomaly('TOO_MANY_DELETIONS', 'client', ts, p.frames, `more than ${MAX_DELETED} messages marked deleted; message ${n} not tracked`);
          return;
        }
        this.marked.add(n);
      },
    },
    NOOP: {},
    RSET: {
      answered: (_p, ok) => {
        if (ok) this.marked.clear();
      },
    },
    QUIT: {
      answered: (_p, ok) => {
        this.quitAnswered = true;
        if (ok && this.stateValue === 'TRANSACTION') {
          this.stateValue = 'UPDATE';
          this.deletedList = [...this.marked].sort((a, b) => a - b);
        } else {
          this.stateValue = 'CLOSED';
        }
      },
    },
    STLS: {
      answered: (_p, ok, ts, frames) => {
        if (!ok) return;
        const injected = this.pending.length;
        if (injected > 0) {
          this.anomaly('PIPELINED_AFTER_STLS', 'client', ts, frames, `${injected} command(s) sent in clear after STLS, before its +OK`);
        }
        this.pending.length = 0;
        this.sasl = undefined;
        this.encrypted = true;
        this.stateValue = 'TLS';
        this.emit({ ts, dir: 'server', kind: 'tls', verb: 'STLS', arg: 'TLS negotiation begins; the rest of the session is encrypted', frames });
        this.client.ignore();
        this.server.ignore();
      },
    },
  };

  constructor(
    private readonly sink: SessionSink,
    private readonly limits: EngineLimits,
  ) {
    this.client = new LineReader(this.readerSink('client'), limits.maxLineBytes, limits.maxFramesPerUnit);
    this.server = new LineReader(this.readerSink('server'), limits.maxLineBytes, limits.maxFramesPerUnit);
  }

  /** Current dialogue state (see `POP3_STATES`). */
  get state(): Pop3State {
    return this.stateValue;
  }

  /** The greeting's APOP timestamp (`<...@...>`), when it offered one. */
  get apopTimestamp(): string | undefined {
    return this.timestamp;
  }

  /** Reassembled bytes of `dir`; views, copied where kept. Ignored after `close`. */
  data(dir: Direction, bytes: Uint8Array, frame: number, ts: number): void {
    if (this.closedBy !== undefined) return;
    (dir === 'client' ? this.client : this.server).push(bytes, frame, ts);
  }

  /**
   * `size` bytes of `dir` were lost. In line mode the reader resyncs at the next line; inside a
   * RETR / TOP body the mail is marked incomplete and the `.` line is still looked for.
   */
  gap(dir: Direction, size: number, ts: number): void {
    if (this.closedBy !== undefined) return;
    (dir === 'client' ? this.client : this.server).gap(size, ts);
  }

  /**
   * End of the connection. On 'fin' / 'rst' a last line without CRLF is still read; then a mail in
   * transfer is emitted with complete=false, an unterminated listing gets its reply entry, and a
   * login attempt without reply gets its `auth` entry with success undefined.
   */
  close(reason: CloseReason, ts: number): void {
    if (this.closedBy !== undefined) return;
    if (reason === 'fin' || reason === 'rst') {
      this.client.flush(ts);
      this.server.flush(ts);
    }
    this.closedBy = reason;
    if (this.transfer) this.endTransfer([], ts);
    if (this.listing) this.endListing(' (unterminated)');
    for (const p of this.pending) {
      if (p.cmd === 'PASS' || p.cmd === 'APOP' || (p.cmd === 'AUTH' && p.sasl)) {
        // Not answered: `credential` records it with success undefined, neither won nor lost.
        this.handlers[p.cmd].answered?.(p, false, ts, []);
      }
    }
    this.client.ignore();
    this.server.ignore();
  }

  /**
   * Outcome, first rule that holds:
   * 1. 'encrypted': STLS was answered `+OK`.
   * 2. 'retrieved': at least one RETR / TOP mail was emitted (complete or not).
   * 3. 'auth-failed': a PASS, APOP or AUTH <mechanism> got `-ERR` and none got `+OK`.
   * 4. 'aborted': the connection was reset (RST) before QUIT was answered.
   * 5. 'incomplete': not closed yet, or ended by end of capture / timeout / limit / reuse before
   *    QUIT was answered, or ended by FIN with a command unanswered or a body in transfer.
   * 6. 'no-mail': otherwise (QUIT answered, greeting `-ERR`, or a clean FIN between commands).
   * `deleted` is set (possibly empty) only when QUIT was answered `+OK` in TRANSACTION (UPDATE).
   */
  summary(): ProtocolSummary {
    return {
      outcome: this.outcome(),
      ...(this.authUser !== undefined ? { authUser: this.authUser } : {}),
      ...(this.authMechanism !== undefined ? { authMechanism: this.authMechanism } : {}),
      ...(this.authSuccess !== undefined ? { authSuccess: this.authSuccess } : {}),
      encrypted: this.encrypted,
      mails: this.mailCount,
      ...(this.deletedList ? { deleted: this.deletedList } : {}),
      ...(this.greetingText !== undefined ? { greeting: this.greetingText } : {}),
    };
  }

  private outcome(): SessionOutcome {
    if (this.encrypted) return 'encrypted';
    if (this.mailCount > 0) return 'retrieved';
    if (this.authFailed && this.authSuccess !== true) return 'auth-failed';
    const finished = this.quitAnswered || this.greetingRejected;
    if (!finished) {
      const r = this.closedBy;
      if (r === 'rst') return 'aborted';
      if (r === undefined || r === 'end-of-capture' || r === 'timeout' || r === 'limit' || r === 'reused') return 'incomplete';
      if (this.pending.length > 0 || this.transfer || this.listing) return 'incomplete';
    }
    return 'no-mail';
  }

  // ---- reader callbacks ----

  private readerSink(dir: Direction): LineReaderSink {
    return {
      line: (line, info) => (dir === 'client' ? this.clientLine(line, info) : this.serverLine(line, info)),
      body: (chunk, frame, ts) => this.transfer?.buf.append(chunk, frame, ts),
      bodyEnd: (frames, ts) => this.endTransfer(frames, ts),
      // POP3 has no counted runs (that is SMTP's BDAT); the reader never enters count mode here.
      counted: () => undefined,
      countedEnd: () => undefined,
      gap: (size, mode, ts) => this.onGap(dir, size, mode, ts),
    };
  }

  private lineChecks(dir: Direction, info: LineInfo): void {
    if (info.tooLong) {
      const code = dir === 'client' ? 'COMMAND_LINE_TOO_LONG' : 'RESPONSE_LINE_TOO_LONG';
      this.anomaly(code, dir, info.ts, info.frames, `line longer than ${this.limits.maxLineBytes} bytes; the rest was dropped`);
    }
    if (info.bareLf && !this.bareLf[dir]) {
      this.bareLf[dir] = true;
      this.anomaly('BARE_LF', dir, info.ts, info.frames, 'line ended in LF without CR (reported once per direction)');
    }
  }

  private clientLine(bytes: Uint8Array, info: LineInfo): void {
    this.lineChecks('client', info);
    const text = utf8.decode(bytes);
    const { ts, frames } = info;
    const sp = text.indexOf(' ');
    const verb = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
    const sasl = this.sasl;
    if (sasl?.sasl && (sasl.sasl.outstanding > 0 || !isCommand(verb))) {
      this.saslAnswer(sasl, sasl.sasl, text.trim(), ts, frames);
      return;
    }
    if (text.trim() === '') {
      this.anomaly('EMPTY_COMMAND', 'client', ts, frames, 'empty command line');
      return;
    }
    const arg = sp < 0 ? '' : text.slice(sp + 1);
    const cmd = isCommand(verb) ? verb : null;
    const handler = cmd ? this.handlers[cmd] : undefined;
    const keptArg = cmd === 'PASS' ? arg : arg.trimEnd();
    const shownVerb = cmd ?? escapeControls(verb.slice(0, MAX_VERB_CHARS));
    this.emit({
      ts,
      dir: 'client',
      kind: 'command',
      verb: shownVerb,
      arg: escapeControls(handler?.shown ? handler.shown(keptArg) : keptArg),
      frames,
    });
    if (!cmd) {
      this.anomaly('UNKNOWN_COMMAND', 'client', ts, frames, `unknown command ${shownVerb}`);
      if (this.violation('client', ts)) return;
    }
    if (!this.greetingSeen && this.stateValue === 'GREETING') this.stateValue = 'AUTHORIZATION';
    const p: Pending = { cmd, verb: shownVerb, arg: keptArg, ts, frames: [...frames], lastTs: ts, ...(cmd === 'AUTH' ? saslFor(keptArg) : {}) };
    if (p.sasl) this.initialResponse(p.sasl, keptArg, ts, frames);
    handler?.sent?.(p, frames);
    if (this.pending.length >= this.limits.maxPendingCommands) {
      const dropped = this.pending.shift();
      if (!this.overflowed) {
        this.overflowed = true;
        this.anomaly('TOO_MANY_PENDING_COMMANDS', 'client', ts, frames, `more than ${this.limits.maxPendingCommands} commands unanswered; dropped the oldest (${dropped?.verb ?? ''})`);
      }
    }
    this.pending.push(p);
  }

  private initialResponse(sasl: SaslExchange, arg: string, ts: number, frames: readonly number[]): void {
    const ir = arg.trim().split(/\s+/)[1];
    if (ir === undefined) return;
    // RFC 5034 §4: "=" is an empty initial response.
    this.saslResponse(sasl, ir === '=' ? '' : ir, ts, frames);
  }

  private saslAnswer(p: Pending, sasl: SaslExchange, text: string, ts: number, frames: readonly number[]): void {
    sasl.outstanding = Math.max(0, sasl.outstanding - 1);
    p.lastTs = ts;
    p.frames = mergeFrames(p.frames, frames, this.limits.maxFramesPerUnit);
    if (text === '*') {
      this.emit({ ts, dir: 'client', kind: 'command', verb: '*', arg: 'authentication cancelled', frames });
      return;
    }
    this.emit({ ts, dir: 'client', kind: 'command', verb: 'SASL', arg: text === '' ? '' : MASK, frames });
    this.saslResponse(sasl, text, ts, frames);
  }

  private saslResponse(sasl: SaslExchange, b64: string, ts: number, frames: readonly number[]): void {
    const decoded = b64 === '' ? new Uint8Array(0) : decodeBase64(b64);
    if (decoded === undefined) this.anomaly('SASL_BAD_BASE64', 'client', ts, frames, `${sasl.mechanism} response is not Base64`);
    if (sasl.responses.length < MAX_SASL_RESPONSES) sasl.responses.push(decoded);
  }

  private serverLine(bytes: Uint8Array, info: LineInfo): void {
    this.lineChecks('server', info);
    const text = utf8.decode(bytes);
    const c = classify(text);
    if (this.listing) {
      if (c.kind !== 'ok' && c.kind !== 'err') {
        this.listingLine(this.listing, bytes, info);
        return;
      }
      this.anomaly('UNTERMINATED_MULTILINE', 'server', info.ts, info.frames, `a ${this.listing.pending.verb} listing ended without its "." line`);
      this.endListing(' (unterminated)');
    }
    if (c.kind === 'other') {
      this.anomaly('UNKNOWN_RESPONSE', 'server', info.ts, info.frames, `unexpected server line: ${escapeControls(text.slice(0, 200))}`);
      this.violation('server', info.ts);
      return;
    }
    const head = this.pending[0];
    if (c.kind === 'challenge') {
      if (head?.sasl) {
        this.challenge(head, head.sasl, c.text, info);
      } else {
        this.anomaly('UNKNOWN_RESPONSE', 'server', info.ts, info.frames, `SASL challenge without AUTH: ${escapeControls(text.slice(0, 200))}`);
        this.violation('server', info.ts);
      }
      return;
    }
    const ok = c.kind === 'ok';
    const verb = ok ? '+OK' : '-ERR';
    const shown = escapeControls(c.text);
    if (!this.greetingSeen && !head) {
      this.greetingSeen = true;
      this.greetingText = printable(bytes);
      const m = APOP_TIMESTAMP.exec(c.text);
      if (m) this.timestamp = m[0];
      if (ok) {
        if (this.stateValue === 'GREETING') this.stateValue = 'AUTHORIZATION';
      } else {
        this.greetingRejected = true;
        this.stateValue = 'CLOSED';
      }
      this.emit({ ts: info.ts, dir: 'server', kind: 'reply', verb, arg: shown, frames: info.frames });
      return;
    }
    this.greetingSeen = true;
    if (!head) {
      this.emit({ ts: info.ts, dir: 'server', kind: 'reply', verb, arg: shown, frames: info.frames });
      this.anomaly('UNMATCHED_RESPONSE', 'server', info.ts, info.frames, `${verb} with no command waiting for it`);
      this.violation('server', info.ts);
      return;
    }
    this.pending.shift();
    if (this.pending.length === 0) this.overflowed = false;
    const handler = head.cmd ? this.handlers[head.cmd] : undefined;
    if (head.cmd) this.violations = 0;
    const body: BodyKind = ok && handler?.body ? handler.body(head.arg) : 'none';
    if (body === 'listing') {
      this.listing = { pending: head, ts: info.ts, head: shown, lines: [], frames: [...info.frames], more: 0, lostBytes: 0 };
      return;
    }
    this.emit({ ts: info.ts, dir: 'server', kind: 'reply', verb, arg: shown, frames: info.frames, latencyUs: info.ts - head.lastTs });
    if (ok && (head.cmd === 'PASS' || head.cmd === 'APOP' || (head.cmd === 'AUTH' && head.sasl)) && this.stateValue !== 'TLS') {
      this.stateValue = 'TRANSACTION';
    }
    handler?.answered?.(head, ok, info.ts, info.frames);
    if (body === 'mail' && (head.cmd === 'RETR' || head.cmd === 'TOP')) {
      this.transfer = {
        command: head.cmd,
        messageNumber: messageNumber(head.arg),
        buf: new MailBuffer(this.limits.maxMailBytes, this.limits.maxFramesPerUnit, info.ts),
      };
      this.server.readDotBody();
    }
  }

  private challenge(p: Pending, sasl: SaslExchange, b64: string, info: LineInfo): void {
    sasl.outstanding++;
    const decoded = b64.trim() === '' ? '' : decodeBase64Text(b64.trim());
    // Show the decoded challenge ("Username:", a CRAM-MD5 timestamp) when it is readable text.
    // eslint-disable-next-line no-control-regex
    const arg = decoded !== undefined && !/[\x00-\x08\x0e-\x1f\ufffd]/.test(decoded) ? decoded : b64;
    this.emit({ ts: info.ts, dir: 'server', kind: 'reply', verb: '+', arg: escapeControls(arg), frames: info.frames, latencyUs: info.ts - p.lastTs });
  }

  private listingLine(l: Listing, bytes: Uint8Array, info: LineInfo): void {
    l.frames = mergeFrames(l.frames, info.frames, this.limits.maxFramesPerUnit);
    if (bytes.length === 1 && bytes[0] === 0x2e) {
      this.endListing('');
      return;
    }
    if (l.lines.length >= this.limits.maxReplyLines) {
      l.more++;
      return;
    }
    // RFC 1939 §3: a line-initial dot is byte-stuffed.
    l.lines.push(printable(bytes[0] === 0x2e ? bytes.subarray(1) : bytes));
  }

  private endListing(note: string): void {
    const l = this.listing;
    if (!l) return;
    this.listing = undefined;
    const parts = [l.head, ...l.lines];
    if (l.more > 0) parts.push(`… (${l.more} more lines)`);
    if (l.lostBytes > 0) parts.push(`… (${l.lostBytes} bytes lost)`);
    const arg = parts.join('\n') + note;
    this.emit({ ts: l.ts, dir: 'server', kind: 'reply', verb: '+OK', arg, frames: l.frames, latencyUs: l.ts - l.pending.lastTs });
  }

  private endTransfer(termFrames: readonly number[], ts: number): void {
    const t = this.transfer;
    if (!t) return;
    this.transfer = undefined;
    const buf = t.buf;
    const closedEarly = this.closedBy !== undefined;
    if (buf.size > this.limits.maxMailBytes) {
      this.anomaly('MAIL_TRUNCATED', 'server', ts, [], `${t.command} body of ${buf.size} bytes; only the first ${this.limits.maxMailBytes} were kept`);
    }
    const complete = buf.intact && !closedEarly;
    const raw = buf.bytes();
    const what = t.messageNumber === undefined ? t.command : `${t.command} ${t.messageNumber}`;
    this.emit({
      ts,
      dir: 'server',
      kind: 'data',
      verb: t.command,
      arg: `${what}: ${buf.size} bytes${complete ? '' : ' (incomplete)'}`,
      frames: mergeFrames(buf.frames, termFrames, this.limits.maxFramesPerUnit),
    });
    this.mailCount++;
    for (const a of mailHeaderAnomalies(raw)) this.anomaly(a.code, 'server', ts, buf.frames, `mail ${this.mailCount}: ${a.message}`);
    const mail: ExtractedMail = {
      index: this.mailCount,
      direction: 'retrieved',
      command: t.command,
      ...(t.messageNumber !== undefined ? { messageNumber: t.messageNumber } : {}),
      raw,
      size: buf.size,
      complete,
      finalReply: '+OK',
      startTs: buf.startTs,
      endTs: closedEarly ? buf.endTs : ts,
      frames: buf.frames.slice(),
    };
    this.sink.mail(mail);
  }

  private onGap(dir: Direction, size: number, mode: ReaderMode, ts: number): void {
    if (mode === 'ignore') return;
    let what: string;
    if (mode === 'dot' && this.transfer) {
      this.transfer.buf.lost(size, ts);
      what = `inside the ${this.transfer.command} body; the mail is incomplete`;
    } else if (dir === 'server' && this.listing) {
      this.listing.lostBytes += size;
      what = `inside the ${this.listing.pending.verb} listing`;
    } else {
      what = 'between lines; reading resumes at the next line';
    }
    this.anomaly('CONTENT_GAP', dir, ts, [], `${size} bytes from the ${dir} never captured, ${what}`);
  }

  // ---- helpers ----

  /** Counts a violation; past the limit the connection is given up. True when given up. */
  private violation(dir: Direction, ts: number): boolean {
    if (this.stateValue === 'NOT_POP3') return true;
    if (++this.violations < MAX_CONSECUTIVE_VIOLATIONS) return false;
    this.stateValue = 'NOT_POP3';
    this.anomaly('NOT_POP3', dir, ts, [], `${MAX_CONSECUTIVE_VIOLATIONS} violations in a row: this does not look like POP3; the rest is not parsed`);
    this.pending.length = 0;
    this.sasl = undefined;
    this.listing = undefined;
    this.client.ignore();
    this.server.ignore();
    return true;
  }

  /**
   * One login attempt's `auth` entry. At close (no reply seen) success is left undefined. The
   * summary shows the first successful attempt, or else the latest one.
   */
  private credential(ts: number, frames: readonly number[], c: AuthCredential, detail = ''): void {
    const cred = stripUndefined(this.closedBy === undefined ? c : { ...c, success: undefined });
    if (cred.success === false) this.authFailed = true;
    if (this.authSuccess !== true) {
      this.authMechanism = cred.mechanism;
      this.authUser = cred.user;
      this.authSuccess = cred.success;
    }
    this.emit({ ts, dir: 'client', kind: 'auth', verb: cred.mechanism, arg: `${cred.user ?? ''}${detail}`, frames, auth: cred });
  }

  private anomaly(code: Pop3Anomaly, dir: Direction, ts: number, frames: readonly number[], message: string): void {
    this.emit({ ts, dir, kind: 'anomaly', verb: code, arg: message, frames });
  }

  private emit(e: TimelineEntryInput): void {
    this.sink.entry(e);
  }
}

function saslFor(arg: string): { sasl: SaslExchange } | Record<string, never> {
  const mechanism = arg.trim().split(/\s+/)[0]?.toUpperCase() ?? '';
  if (mechanism === '') return {};
  return { sasl: { mechanism, responses: [], outstanding: 0 } };
}

/** The credential in an AUTH exchange, by mechanism (sasl.ts does the payload layouts). */
function decodeSasl(s: SaslExchange): SaslCredential {
  const [firstBytes, secondBytes] = s.responses;
  const first = firstBytes === undefined ? undefined : utf8.decode(firstBytes);
  const second = secondBytes === undefined ? undefined : utf8.decode(secondBytes);
  let c: SaslCredential | undefined;
  switch (s.mechanism) {
    case 'PLAIN':
      c = first === undefined ? undefined : parsePlain(first);
      break;
    case 'LOGIN':
      c = { ...(first !== undefined ? { user: first } : {}), ...(second !== undefined ? { password: second } : {}) };
      break;
    case 'CRAM-MD5':
      c = first === undefined ? undefined : parseCramMd5(first);
      break;
    case 'XOAUTH2':
      c = first === undefined ? undefined : parseXoauth2(first);
      break;
    case 'NTLM':
      c = parseNtlm(s.responses);
      break;
  }
  if (!c) return {};
  return {
    ...(c.user !== undefined ? { user: c.user } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.domain !== undefined ? { domain: c.domain } : {}),
    ...(c.workstation !== undefined ? { workstation: c.workstation } : {}),
  };
}

/** NTLM names more than a user: ` (domain D, workstation W)` after it in the auth entry's arg. */
function ntlmDetail(c: SaslCredential): string {
  const parts = [...(c.domain !== undefined ? [`domain ${c.domain}`] : []), ...(c.workstation !== undefined ? [`workstation ${c.workstation}`] : [])];
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

function stripUndefined(c: AuthCredential): AuthCredential {
  return {
    mechanism: c.mechanism,
    ...(c.user !== undefined ? { user: c.user } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.success !== undefined ? { success: c.success } : {}),
  };
}
