/**
 * SMTP analyzer (RFC 5321, with AUTH RFC 4954, CHUNKING RFC 3030, PIPELINING RFC 2920 and
 * STARTTLS RFC 3207): turns one connection's reassembled bytes into timeline entries, decoded
 * credentials and mails.
 *
 * Model (after Zeek's SMTP analyzer): one `LineReader` per direction; client commands go into a
 * FIFO of pending commands that server replies are matched to. A reply changes the state, never a
 * command alone, except where the server has never been seen (one-sided capture), where the
 * analyzer assumes the reply the client evidently got. After a command whose reply decides how the
 * client's next bytes are read (DATA, AUTH and its SASL responses, STARTTLS), the client reader is
 * paused until that reply arrives, so a client that does not wait is still read correctly.
 */
import type { CloseReason, ExtractedMail, ProtocolAnalyzer, ProtocolSummary, SessionOutcome, SessionSink, TimelineEntryInput } from './session.ts';
import type { EngineLimits } from './limits.ts';
import type { Direction } from './types.ts';
import { LineReader, type LineInfo, type LineReaderSink, type ReaderMode } from './line-reader.ts';
import { MailBuffer } from './mail-buffer.ts';
import { mailHeaderAnomalies } from './mail-summary.ts';
import { decodeBase64, parseCramMd5, parseNtlm, parsePlain, parseXoauth2, type SaslCredential } from './sasl.ts';

/** Commands the analyzer knows; anything else is recorded with an `UNKNOWN_COMMAND` anomaly. */
export const SMTP_VERBS = [
  'HELO', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'NOOP', 'VRFY', 'EXPN', 'HELP', 'QUIT',
  'AUTH', 'STARTTLS', 'ETRN', 'TURN', 'ATRN', 'SEND', 'SOML', 'SAML', 'VERB', 'ONEX', 'XCLIENT',
  'XFORWARD', 'XEXCH50',
] as const;
export type SmtpVerb = (typeof SMTP_VERBS)[number];

/** Anomaly codes this analyzer emits (stable). */
export const SMTP_ANOMALIES = [
  /** A 2xx / 3xx reply arrived with no command waiting for it (4xx / 5xx unasked: the server closing, RFC 5321 §3.8). */
  'UNMATCHED_REPLY',
  /**
   * A 354 arrived while commands sent before the DATA were still waiting: the server skipped their
   * replies (or merged them into a malformed line, sv_detect-email-received); they are dropped.
   */
  'MISSING_REPLY',
  /** A client line longer than `limits.maxLineBytes` (kept truncated). */
  'COMMAND_LINE_TOO_LONG',
  /** A server line longer than `limits.maxLineBytes` (kept truncated). */
  'REPLY_LINE_TOO_LONG',
  /** A server line that is not `ddd[ -]text`. */
  'MALFORMED_REPLY',
  /** A multi-line reply with more than `limits.maxReplyLines` lines (the rest is dropped). */
  'REPLY_TOO_MANY_LINES',
  /** A line ended in a bare LF (RFC 5321 §2.3.8); reported once per direction. */
  'BARE_LF',
  /** A verb not in `SMTP_VERBS`. */
  'UNKNOWN_COMMAND',
  /** MAIL / RCPT without a parsable path. */
  'MALFORMED_ARGUMENT',
  /** BDAT without a valid chunk size (missing, negative, not a number, junk after it). */
  'BDAT_INVALID_CHUNK_SIZE',
  /** BDAT with a chunk size beyond 2^53 - 1 (zeek_smtp-bdat-cmd-chunk-size-overflow). */
  'BDAT_CHUNK_SIZE_OVERFLOW',
  /** A SASL payload that is not Base64 (sv_bug-6207-1-invalid-base64). */
  'INVALID_BASE64',
  /** More than `limits.maxPendingCommands` commands without a reply: the oldest is dropped. */
  'TOO_MANY_PENDING_COMMANDS',
  /** The client sent more than the hold limit after DATA/AUTH/STARTTLS without any reply. */
  'UNANSWERED_COMMAND',
  /** Server bytes after the client switched to TLS by itself, or data after QUIT. */
  'DATA_AFTER_TLS',
  /** STARTTLS was accepted but the client went on in plaintext (a capture decrypted before it was saved). */
  'STARTTLS_PLAINTEXT',
  /** Commands arrived before the server's greeting (RFC 5321 §3.1, §4.3.1; ark_smtp-moloch-bof). */
  'CLIENT_SPOKE_BEFORE_GREETING',
  /** A mail's header section is larger than `MAX_MAIL_HEADER_BYTES` (zeek_mime-header-size-limit). */
  'MAIL_HEADER_TOO_LARGE',
  /** A multipart boundary longer than RFC 2046's 70 characters (sv_bug-1449-01-stackoverflow). */
  'MIME_BOUNDARY_TOO_LONG',
] as const;
export type SmtpAnomaly = (typeof SMTP_ANOMALIES)[number];

/** Mails that finished but wait for their reply (BDAT LAST pipelined into the next transaction). */
const MAX_MAILS_AWAITING_REPLY = 4;
/** A TLS record starts with content type 22 (handshake): how a one-sided STARTTLS is recognised. */
const TLS_HANDSHAKE = 0x16;

/** RFC 5321 session state (Zeek's `SMTP.h` words); changes on replies. */
type SmtpState =
  /** Entered at connection start: waiting for the 220 (or 554) greeting. */
  | 'CONNECTED'
  /** Entered on the 220 greeting (or the first command of a one-sided capture): commands. */
  | 'READY'
  /** Entered on a 554 greeting: the server refuses service; commands get 503. */
  | 'REFUSED'
  /** Entered on 354 to DATA (or DATA in a one-sided capture): the client sends the body. */
  | 'IN_DATA'
  /** Entered on a BDAT command with a valid size: the client sends the counted chunk. */
  | 'IN_BDAT'
  /** Entered on 220 to STARTTLS: the rest is encrypted and not parsed. */
  | 'IN_TLS'
  /** Entered on close(). */
  | 'CLOSED';

/** One SASL exchange, from AUTH to its final reply. */
interface AuthAttempt {
  readonly mechanism: string;
  readonly ts: number;
  /** Client lines: AUTH's initial response (if any) then each answer, Base64-decoded (undefined = bad Base64). */
  readonly responses: (Uint8Array | undefined)[];
  readonly frames: number[];
  cancelled: boolean;
  done: boolean;
}

/** A RCPT and what the server said to it. */
interface Recipient {
  readonly address: string;
  /** undefined until its reply is seen. */
  accepted: boolean | undefined;
}

/** A mail transaction: from MAIL to the final reply of its data (or RSET). */
interface Transaction {
  readonly mailFrom: string;
  readonly mailParams: readonly string[];
  readonly rcpts: Recipient[];
  /** Its mail data was sent in full (end of DATA, BDAT LAST): the transaction is over, whatever the reply. */
  dataSent: boolean;
}

/** A mail being received or waiting for its final reply. */
interface MailInTransfer {
  readonly index: number;
  readonly command: 'DATA' | 'BDAT';
  readonly buffer: MailBuffer;
  readonly tx: Transaction | undefined;
  /** The terminating `.` line or the LAST chunk was read. */
  ended: boolean;
  emitted: boolean;
  finalReply: string | undefined;
  /** BDAT: the first non-2xx chunk reply, which wins over the LAST one. */
  refusedBy: string | undefined;
}

/** What a reply in the FIFO answers. */
type PendingKind =
  /** A command line (has a 'command' entry). */
  | 'command'
  /** A SASL response line (no entry: its credential goes into the attempt's 'auth' entry). */
  | 'sasl'
  /** The `.` that ended a DATA body: its reply is the mail's final reply. */
  | 'data-end';

interface Pending {
  readonly kind: PendingKind;
  readonly verb: string;
  readonly ts: number;
  readonly auth?: AuthAttempt;
  readonly tx?: Transaction;
  /** MAIL: the transaction that was open before it, back in force if the MAIL is refused. */
  readonly prevTx?: Transaction;
  readonly rcpt?: Recipient;
  readonly mail?: MailInTransfer;
  /** BDAT: the chunk carries LAST. */
  readonly last?: boolean;
  /** The client reader was paused until this command's reply (DATA, AUTH, SASL, STARTTLS). */
  readonly barrier?: boolean;
}

/** A multi-line reply being collected. */
interface ReplyInProgress {
  readonly code: string;
  readonly lines: string[];
  readonly frames: number[];
  dropped: number;
}

type CommandHandler = (arg: string, info: LineInfo) => void;
type ReplyHandler = (p: Pending, code: string, text: readonly string[], ts: number, frames: readonly number[]) => void;

const textDecoder = new TextDecoder('utf-8', { fatal: false });
const REPLY_LINE = /^(\d{3})(?:([ -])(.*))?$/s;
const PATH_ARG = /^(?:FROM|TO):\s*(<[^>]*>|[^\s<>]+)\s*(.*)$/is;
const BDAT_ARG = /^(\S+)(?:\s+(\S+))?\s*$/;

/**
 * The SMTP protocol analyzer.
 *
 * Contract: the `StreamHandler` call order of session.ts (data / gap per direction in sequence
 * order, then exactly one close); never throws on traffic. Emits to `sink`, synchronously, in wire
 * order: 'command' (client verbs; SASL answers are not commands and credentials never appear in
 * `arg`), 'reply' (code; text lines joined by "\n"; `latencyUs` = reply ts − its command's ts;
 * frames = union of its lines' frames), 'data' (one per DATA body / BDAT chunk: "N bytes", emitted
 * when it ends), 'auth' (one per AUTH attempt, when its final reply arrives or at close), 'tls'
 * (after the 220 to STARTTLS; nothing after it is parsed) and 'anomaly' (`SMTP_ANOMALIES`).
 *
 * Mails (`ExtractedMail`, byte convention of ARCHITECTURE.md) are emitted exactly once: when the
 * final reply to their data arrives (`finalReply` set), or at close (without it). A body still in
 * transfer at close is emitted with `complete: false`. Envelope addresses are the paths without
 * angle brackets (Zeek's convention; the null sender is ""); `rcptTo` holds the recipients the
 * server accepted, plus those whose reply was never seen; refused ones are only on the timeline.
 */
export class SmtpAnalyzer implements ProtocolAnalyzer {
  readonly protocol = 'smtp' as const;

  private state: SmtpState = 'CONNECTED';
  private readonly client: LineReader;
  private readonly server: LineReader;
  private readonly pending: Pending[] = [];
  private serverSeen = false;
  private greetingText: string | undefined;
  /** The first reply was not a greeting (connection picked up mid-stream). */
  private greetingMissed = false;
  private heloArg: string | undefined;
  /** Verbs the client sent before any server byte (the first few): reported when a greeting follows. */
  private readonly earlyVerbs: string[] = [];
  private ehloCapabilities: string[] = [];
  private reply: ReplyInProgress | undefined;
  private tx: Transaction | undefined;
  /** Mail whose bytes are being read (DATA body or BDAT chunks). */
  private current: MailInTransfer | undefined;
  /** Mails whose end was read, waiting for their final reply. */
  private readonly awaiting: MailInTransfer[] = [];
  private mailCount = 0;
  /** The SASL exchange in progress (between AUTH and its final reply). */
  private auth: AuthAttempt | undefined;
  /** Client lines still to read as SASL answers (one per 334, or assumed when the server is unseen). */
  private saslExpected = 0;
  private lastAuth: { mechanism: string; user: string | undefined; success: boolean | undefined } | undefined;
  private bareLfReported = { client: false, server: false };
  /** BDAT chunk being read: its declared size. */
  private bdatSize = 0;
  private bdatLast = false;
  /** Bytes of the current BDAT chunk read or lost so far, and the frames that carried it. */
  private bdatReceived = 0;
  private bdatFrames: number[] = [];
  /** One-sided STARTTLS: the client's bytes after it are sniffed for a TLS record. */
  private startTlsUnanswered = false;

  // Outcome facts.
  private delivered = false;
  private refusedSomething = false;
  private tlsStarted = false;
  /**
   * Set between the 220 to STARTTLS and the client's next bytes, which decide: a TLS record means
   * the session is encrypted; anything else is plaintext (a capture decrypted before it was saved,
   * as TLS-terminating proxies and Arkime's smtp-decrypted sample produce) and is parsed on.
   */
  private tlsProbe: { ts: number; frames: readonly number[] } | undefined;
  private quitSent = false;
  private quitAcked = false;
  private gapSeen = false;
  private closeReason: CloseReason | undefined;

  private readonly commandHandlers: Record<SmtpVerb, CommandHandler>;
  private readonly replyHandlers: Partial<Record<SmtpVerb | 'SASL' | '.', ReplyHandler>>;

  constructor(
    private readonly sink: SessionSink,
    private readonly limits: EngineLimits,
  ) {
    this.client = new LineReader(this.clientSink(), limits.maxLineBytes, limits.maxFramesPerUnit);
    this.server = new LineReader(this.serverSink(), limits.maxLineBytes, limits.maxFramesPerUnit);
    this.client.acceptAfterGap = (line) => looksLikeCommand(line);
    this.server.acceptAfterGap = (line) => REPLY_LINE.test(textDecoder.decode(line));
    const plain: CommandHandler = () => undefined;
    this.commandHandlers = {
      HELO: (a) => this.cmdHelo(a),
      EHLO: (a) => this.cmdHelo(a),
      MAIL: (a, i) => this.cmdMail(a, i),
      RCPT: (a, i) => this.cmdRcpt(a, i),
      DATA: (_a, i) => this.cmdData(i),
      BDAT: (a, i) => this.cmdBdat(a, i),
      RSET: () => this.cmdRset(),
      NOOP: plain,
      VRFY: plain,
      EXPN: plain,
      HELP: plain,
      QUIT: () => this.cmdQuit(),
      AUTH: (a, i) => this.cmdAuth(a, i),
      STARTTLS: (_a, i) => this.cmdStartTls(i),
      ETRN: plain,
      TURN: plain,
      ATRN: plain,
      SEND: (a, i) => this.cmdMail(a, i),
      SOML: (a, i) => this.cmdMail(a, i),
      SAML: (a, i) => this.cmdMail(a, i),
      VERB: plain,
      ONEX: plain,
      XCLIENT: plain,
      XFORWARD: plain,
      XEXCH50: plain,
    };
    this.replyHandlers = {
      EHLO: (p, c, t) => this.replyEhlo(c, t),
      HELO: (p, c, t) => this.replyEhlo(c, t),
      MAIL: (p, c) => this.replyMail(p, c),
      SEND: (p, c) => this.replyMail(p, c),
      SOML: (p, c) => this.replyMail(p, c),
      SAML: (p, c) => this.replyMail(p, c),
      RCPT: (p, c) => this.replyRcpt(p, c),
      DATA: (p, c, _t, ts) => this.replyData(p, c, ts),
      '.': (p, c) => this.replyDataEnd(p, c),
      BDAT: (p, c) => this.replyBdat(p, c),
      AUTH: (p, c, _t, ts) => this.replyAuth(p, c, ts),
      SASL: (p, c, _t, ts) => this.replyAuth(p, c, ts),
      STARTTLS: (p, c, _t, ts, f) => this.replyStartTls(c, ts, f),
      QUIT: (p, c) => {
        if (c === '221') this.quitAcked = true;
      },
    };
  }

  /** Client→server (`'client'`) or server→client bytes, in order; the bytes are not kept. */
  data(dir: Direction, bytes: Uint8Array, frame: number, ts: number): void {
    if (this.state === 'CLOSED' || bytes.length === 0) return;
    if (dir === 'server') {
      this.serverSeen = true;
      this.server.push(bytes, frame, ts);
      return;
    }
    this.client.push(bytes, frame, ts);
    if (this.tlsProbe !== undefined) {
      this.decideTls(ts);
      return;
    }
    this.checkHeld(ts);
  }

  /** `size` bytes of `dir` were lost: lines resynchronise, a body is marked incomplete. */
  gap(dir: Direction, size: number, ts: number): void {
    if (this.state === 'CLOSED' || size <= 0) return;
    this.gapSeen = true;
    if (dir === 'server') {
      this.serverSeen = true;
      // A reply cut in half is unusable; its command stays pending for the next one.
      this.reply = undefined;
      this.server.gap(size, ts);
    } else {
      this.client.gap(size, ts);
    }
  }

  /** Ends the session: held bytes are read, open units are emitted as they are. */
  close(reason: CloseReason, ts: number): void {
    if (this.state === 'CLOSED') return;
    this.closeReason = reason;
    // The server accepted STARTTLS and the client said nothing more: count the session as encrypted.
    if (this.tlsProbe !== undefined) this.enterTls(this.tlsProbe.ts, this.tlsProbe.frames, 'STARTTLS accepted; the rest of the session is encrypted');
    if (this.client.isPaused) this.releaseHeld(ts);
    this.client.flush(ts);
    this.server.flush(ts);
    if (this.reply !== undefined) this.finishReply(ts);
    const cur = this.current;
    if (cur !== undefined) {
      this.current = undefined;
      this.endBody(cur, ts, [], false);
    }
    for (const m of this.awaiting.splice(0)) this.emitMail(m);
    if (this.auth !== undefined) this.emitAuth(this.auth, undefined, ts);
    this.state = 'CLOSED';
  }

  /**
   * The session so far. Outcome, first rule that holds wins:
   * 1. 'encrypted': the server answered 220 to STARTTLS (or the client went on in TLS unanswered).
   * 2. 'delivered': at least one mail got a 2xx final reply.
   * 3. 'auth-failed': the last AUTH attempt failed.
   * 4. 'rejected': a greeting 554, or a 4xx/5xx to MAIL, RCPT, DATA, BDAT or a mail's final reply.
   * 5. 'aborted': closed by RST / FIN / port reuse with a transaction open (MAIL sent, its mail
   *    not answered) or a body in transfer.
   * 6. 'incomplete': gaps, a one-sided capture, or the capture ended (end-of-capture, timeout,
   *    limit, or not closed yet) before QUIT with a transaction open or a command unanswered.
   * 7. 'no-mail': otherwise.
   */
  summary(): ProtocolSummary {
    return {
      outcome: this.outcome(),
      authUser: this.lastAuth?.user,
      authMechanism: this.lastAuth?.mechanism,
      authSuccess: this.lastAuth?.success,
      encrypted: this.tlsStarted,
      mails: this.mailCount,
      helo: this.heloArg,
      greeting: this.greetingText,
    };
  }

  /** EHLO keywords of the last 2xx EHLO reply ("PIPELINING", "SIZE 10240000", ...). */
  get capabilities(): readonly string[] {
    return this.ehloCapabilities;
  }

  private outcome(): SessionOutcome {
    if (this.tlsStarted) return 'encrypted';
    if (this.delivered) return 'delivered';
    if (this.lastAuth !== undefined && this.lastAuth.success === false) return 'auth-failed';
    if (this.refusedSomething) return 'rejected';
    const inTransaction = this.tx !== undefined || this.current !== undefined || this.awaiting.length > 0;
    const r = this.closeReason;
    if ((r === 'rst' || r === 'fin' || r === 'reused') && inTransaction && this.serverSeen) return 'aborted';
    const captureCut = r === undefined || r === 'end-of-capture' || r === 'timeout' || r === 'limit';
    if (this.gapSeen || !this.serverSeen) return 'incomplete';
    if (captureCut && !this.quitAcked && (inTransaction || this.pending.length > 0 || !this.quitSent)) return 'incomplete';
    return 'no-mail';
  }

  // ---------------------------------------------------------------- client side

  private clientSink(): LineReaderSink {
    return {
      line: (line, info) => this.clientLine(line, info),
      body: (chunk, frame, ts) => this.current?.buffer.append(chunk, frame, ts),
      bodyEnd: (frames, ts) => this.dataBodyEnd(frames, ts),
      counted: (chunk, frame, ts) => this.bdatBytes(chunk, frame, ts),
      countedEnd: (ts, missing) => this.bdatChunkEnd(ts, missing),
      gap: (size, mode, ts) => this.clientGap(size, mode, ts),
    };
  }

  private clientGap(size: number, mode: ReaderMode, ts: number): void {
    const cur = this.current;
    if (cur === undefined) return;
    if (mode === 'dot') {
      cur.buffer.lost(size, ts);
    } else if (mode === 'count') {
      // Only the part of the gap inside the chunk belongs to the mail; the rest was commands.
      const lost = Math.min(size, this.bdatSize - this.bdatReceived);
      this.bdatReceived += lost;
      cur.buffer.lost(lost, ts);
    }
  }

  private bdatBytes(chunk: Uint8Array, frame: number, ts: number): void {
    this.bdatReceived += chunk.length;
    pushFrame(this.bdatFrames, frame, this.limits.maxFramesPerUnit);
    this.current?.buffer.append(chunk, frame, ts);
  }

  private clientLine(raw: Uint8Array, info: LineInfo): void {
    if (info.tooLong) this.anomaly('COMMAND_LINE_TOO_LONG', `client line longer than ${this.limits.maxLineBytes} bytes, truncated`, 'client', info);
    if (info.bareLf && !this.bareLfReported.client) {
      this.bareLfReported.client = true;
      this.anomaly('BARE_LF', 'client line ended in a bare LF', 'client', info);
    }
    const text = textDecoder.decode(raw);
    if (this.auth !== undefined && this.saslExpected > 0) {
      this.saslAnswer(text, info);
      return;
    }
    const sp = text.indexOf(' ');
    const verb = (sp === -1 ? text : text.slice(0, sp)).toUpperCase();
    const arg = sp === -1 ? '' : text.slice(sp + 1);
    const known = (SMTP_VERBS as readonly string[]).includes(verb);
    if (!this.serverSeen && this.earlyVerbs.length < 8) this.earlyVerbs.push(verb === '' ? '(empty line)' : verb.slice(0, 32));
    this.entry({ ts: info.ts, dir: 'client', kind: 'command', verb, arg: verb === 'AUTH' ? maskAuthArg(arg) : arg, frames: info.frames });
    if (!known) {
      this.anomaly('UNKNOWN_COMMAND', `unknown command ${JSON.stringify(verb.slice(0, 32))}`, 'client', info);
      this.enqueue({ kind: 'command', verb, ts: info.ts });
      return;
    }
    this.commandHandlers[verb as SmtpVerb](arg, info);
    // Handlers that need more than a plain pending entry enqueue it themselves.
    if (!HANDLERS_THAT_ENQUEUE.has(verb)) this.enqueue({ kind: 'command', verb, ts: info.ts });
  }

  private cmdHelo(arg: string): void {
    this.heloArg = arg.trim();
    // RFC 5321 §4.1.4: EHLO/HELO clears the transaction like RSET.
    this.tx = undefined;
  }

  private cmdMail(arg: string, info: LineInfo): void {
    const m = PATH_ARG.exec(arg);
    if (m === null || !/^FROM:/i.test(arg)) {
      this.anomaly('MALFORMED_ARGUMENT', 'MAIL without FROM:<path>', 'client', info);
    }
    const params = m?.[2]?.trim() ? m[2].trim().split(/\s+/) : [];
    const prevTx = this.tx?.dataSent === true ? undefined : this.tx;
    this.tx = { mailFrom: stripPath(m?.[1] ?? ''), mailParams: params, rcpts: [], dataSent: false };
    this.enqueue({ kind: 'command', verb: 'MAIL', ts: info.ts, tx: this.tx, prevTx });
  }

  private cmdRcpt(arg: string, info: LineInfo): void {
    const m = PATH_ARG.exec(arg);
    if (m === null || !/^TO:/i.test(arg)) this.anomaly('MALFORMED_ARGUMENT', 'RCPT without TO:<path>', 'client', info);
    const rcpt: Recipient = { address: stripPath(m?.[1] ?? ''), accepted: undefined };
    // A RCPT without MAIL still names a recipient; keep it in an envelope of its own.
    if (this.tx === undefined || this.tx.dataSent) this.tx = { mailFrom: '', mailParams: [], rcpts: [], dataSent: false };
    this.tx.rcpts.push(rcpt);
    this.enqueue({ kind: 'command', verb: 'RCPT', ts: info.ts, tx: this.tx, rcpt });
  }

  private cmdData(info: LineInfo): void {
    if (!this.serverSeen) {
      // One-sided capture (or a client talking before the greeting): assume the 354.
      this.startDataBody(info.ts);
      this.enqueue({ kind: 'command', verb: 'DATA', ts: info.ts, mail: this.current });
      return;
    }
    this.enqueue({ kind: 'command', verb: 'DATA', ts: info.ts, barrier: true });
    this.client.pause();
  }

  private startDataBody(ts: number): void {
    const bdat = this.current;
    if (bdat !== undefined) {
      // DATA after BDAT chunks without LAST: that mail will never end (Zeek: smtp_bdat_remaining_at_end_data).
      this.current = undefined;
      this.endBody(bdat, ts, [], false);
    }
    this.current = this.newMail('DATA', ts);
    this.state = 'IN_DATA';
    this.client.readDotBody();
  }

  private newMail(command: 'DATA' | 'BDAT', ts: number): MailInTransfer {
    return {
      index: ++this.mailCount,
      command,
      buffer: new MailBuffer(this.limits.maxMailBytes, this.limits.maxFramesPerUnit, ts),
      tx: this.tx,
      ended: false,
      emitted: false,
      finalReply: undefined,
      refusedBy: undefined,
    };
  }

  private dataBodyEnd(frames: readonly number[], ts: number): void {
    const cur = this.current;
    if (cur === undefined) return;
    this.current = undefined;
    this.state = 'READY';
    this.endBody(cur, ts, frames, true);
    this.enqueue({ kind: 'data-end', verb: '.', ts, mail: cur });
  }

  /** A DATA body or the LAST BDAT chunk ended (`seenEnd`), or the connection closed in it. */
  private endBody(mail: MailInTransfer, ts: number, frames: readonly number[], seenEnd: boolean): void {
    for (const f of frames) mail.buffer.addFrame(f);
    mail.buffer.endTs = Math.max(mail.buffer.endTs, ts);
    mail.ended = seenEnd;
    if (seenEnd && mail.tx !== undefined) mail.tx.dataSent = true;
    if (mail.command === 'DATA') {
      this.entry({ ts, dir: 'client', kind: 'data', verb: 'DATA', arg: bytesText(mail.buffer), frames: mail.buffer.frames.slice() });
    }
    for (const a of mailHeaderAnomalies(mail.buffer.bytes())) this.anomaly(a.code, `mail ${mail.index}: ${a.message}`, 'client', { frames: mail.buffer.frames, ts });
    if (!seenEnd) {
      this.emitMail(mail);
      return;
    }
    if (!this.serverSeen) {
      // No reply will come to the mails before this one: a one-sided capture holds one at most.
      for (const m of this.awaiting.splice(0)) this.emitMail(m);
    }
    this.awaiting.push(mail);
    while (this.awaiting.length > MAX_MAILS_AWAITING_REPLY) this.emitMail(this.awaiting.shift()!);
  }

  private cmdBdat(arg: string, info: LineInfo): void {
    const m = BDAT_ARG.exec(arg.trim());
    const sizeText = m?.[1];
    const lastText = m?.[2];
    let last = false;
    let size = -1;
    if (sizeText === undefined || !/^\d+$/.test(sizeText)) {
      this.anomaly('BDAT_INVALID_CHUNK_SIZE', `BDAT not followed by a valid chunk size: ${JSON.stringify(arg.slice(0, 64))}`, 'client', info);
    } else if (lastText !== undefined && lastText.toUpperCase() !== 'LAST') {
      this.anomaly('BDAT_INVALID_CHUNK_SIZE', `BDAT chunk size followed by junk: ${JSON.stringify(lastText.slice(0, 64))}`, 'client', info);
    } else {
      size = Number(sizeText);
      last = lastText !== undefined;
      if (!Number.isSafeInteger(size)) {
        this.anomaly('BDAT_CHUNK_SIZE_OVERFLOW', `BDAT chunk size ${sizeText.slice(0, 32)} is too large`, 'client', info);
        size = -1;
      }
    }
    if (size < 0) {
      // The server refuses it (521/501) and reads what follows as commands; so do we.
      this.enqueue({ kind: 'command', verb: 'BDAT', ts: info.ts });
      return;
    }
    if (this.current === undefined || this.current.command !== 'BDAT') this.current = this.newMail('BDAT', info.ts);
    const mail = this.current;
    this.enqueue({ kind: 'command', verb: 'BDAT', ts: info.ts, mail, last });
    this.bdatSize = size;
    this.bdatLast = last;
    this.bdatReceived = 0;
    this.bdatFrames = [];
    if (size === 0) {
      this.bdatChunkEnd(info.ts, 0);
      return;
    }
    this.state = 'IN_BDAT';
    this.client.readCount(size);
  }

  private bdatChunkEnd(ts: number, missing: number): void {
    const mail = this.current;
    this.state = 'READY';
    if (mail === undefined) return;
    const got = this.bdatSize - missing;
    const frames = this.bdatFrames;
    this.bdatFrames = [];
    this.entry({ ts, dir: 'client', kind: 'data', verb: 'BDAT', arg: missing > 0 ? `${got} bytes, ${missing} lost` : `${got} bytes`, frames });
    if (this.bdatLast) {
      this.current = undefined;
      this.endBody(mail, ts, [], true);
    }
  }

  private cmdRset(): void {
    this.tx = undefined;
    // RSET aborts a BDAT mail still being sent (RFC 3030 §4).
    if (this.current !== undefined) {
      const cur = this.current;
      this.current = undefined;
      this.endBody(cur, cur.buffer.endTs, [], false);
    }
  }

  private cmdQuit(): void {
    this.quitSent = true;
  }

  private cmdStartTls(info: LineInfo): void {
    if (!this.serverSeen) this.startTlsUnanswered = true;
    this.enqueue({ kind: 'command', verb: 'STARTTLS', ts: info.ts, barrier: true });
    this.client.pause();
  }

  // ---------------------------------------------------------------- AUTH (RFC 4954)

  private cmdAuth(arg: string, info: LineInfo): void {
    const parts = arg.trim().split(/\s+/);
    const mechanism = (parts[0] ?? '').toUpperCase();
    const initial = parts[1];
    if (this.auth !== undefined) this.emitAuth(this.auth, undefined, info.ts);
    const attempt: AuthAttempt = { mechanism, ts: info.ts, responses: [], frames: [...info.frames], cancelled: false, done: false };
    this.auth = attempt;
    if (initial !== undefined) this.recordResponse(attempt, initial, info);
    this.enqueue({ kind: 'command', verb: 'AUTH', ts: info.ts, auth: attempt, barrier: this.serverSeen });
    if (this.serverSeen) {
      this.saslExpected = 0;
      this.client.pause();
    } else {
      this.saslExpected = expectedAnswers(mechanism, initial);
    }
  }

  private saslAnswer(text: string, info: LineInfo): void {
    const attempt = this.auth!;
    this.saslExpected--;
    for (const f of info.frames) pushFrame(attempt.frames, f, this.limits.maxFramesPerUnit);
    this.recordResponse(attempt, text, info);
    this.enqueue({ kind: 'sasl', verb: 'SASL', ts: info.ts, auth: attempt, barrier: this.serverSeen });
    if (this.serverSeen) this.client.pause();
  }

  private recordResponse(attempt: AuthAttempt, text: string, info: LineInfo): void {
    const t = text.trim();
    if (t === '*') {
      attempt.cancelled = true;
      return;
    }
    const decoded = t === '=' ? new Uint8Array(0) : decodeBase64(t);
    if (decoded === undefined) this.anomaly('INVALID_BASE64', `${attempt.mechanism} response is not Base64`, 'client', info);
    attempt.responses.push(decoded);
  }

  private replyAuth(p: Pending, code: string, ts: number): void {
    const attempt = p.auth;
    if (attempt === undefined || attempt.done) return;
    if (code === '334') {
      this.saslExpected = 1;
      return;
    }
    this.saslExpected = 0;
    this.emitAuth(attempt, code.startsWith('2'), ts);
  }

  private emitAuth(attempt: AuthAttempt, success: boolean | undefined, ts: number): void {
    if (attempt.done) return;
    attempt.done = true;
    if (this.auth === attempt) {
      this.auth = undefined;
      this.saslExpected = 0;
    }
    const cred = decodeCredential(attempt);
    const outcome = attempt.cancelled ? 'cancelled' : success === undefined ? 'no reply' : success ? 'accepted' : 'refused';
    this.lastAuth = { mechanism: attempt.mechanism, user: cred.user, success: attempt.cancelled ? false : success };
    this.entry({
      ts,
      dir: 'client',
      kind: 'auth',
      verb: attempt.mechanism,
      arg: `${credentialText(cred)}, ${outcome}`,
      frames: attempt.frames.slice(),
      auth: { mechanism: attempt.mechanism, user: cred.user, password: cred.password, success: attempt.cancelled ? false : success },
    });
  }

  // ---------------------------------------------------------------- server side

  private serverSink(): LineReaderSink {
    const none = (): void => undefined;
    return { line: (line, info) => this.serverLine(line, info), body: none, bodyEnd: none, counted: none, countedEnd: none, gap: none };
  }

  private serverLine(raw: Uint8Array, info: LineInfo): void {
    if (info.tooLong) this.anomaly('REPLY_LINE_TOO_LONG', `server line longer than ${this.limits.maxLineBytes} bytes, truncated`, 'server', info);
    if (info.bareLf && !this.bareLfReported.server) {
      this.bareLfReported.server = true;
      this.anomaly('BARE_LF', 'server line ended in a bare LF', 'server', info);
    }
    const text = textDecoder.decode(raw);
    const m = REPLY_LINE.exec(text);
    if (m === null) {
      this.anomaly('MALFORMED_REPLY', `not a reply line: ${JSON.stringify(text.slice(0, 64))}`, 'server', info);
      return;
    }
    const code = m[1]!;
    const more = m[2] === '-';
    const lineText = m[3] ?? '';
    let r = this.reply;
    if (r === undefined) {
      r = { code, lines: [], frames: [], dropped: 0 };
      this.reply = r;
    }
    if (r.lines.length < this.limits.maxReplyLines) r.lines.push(lineText);
    else if (r.dropped++ === 0) this.anomaly('REPLY_TOO_MANY_LINES', `reply ${r.code} has more than ${this.limits.maxReplyLines} lines`, 'server', info);
    for (const f of info.frames) pushFrame(r.frames, f, this.limits.maxFramesPerUnit);
    if (!more) this.finishReply(info.ts);
  }

  private finishReply(ts: number): void {
    const r = this.reply!;
    this.reply = undefined;
    const frames = r.frames.sort((a, b) => a - b);
    const arg = r.lines.join('\n');
    if (this.isGreeting(r.code)) {
      this.entry({ ts, dir: 'server', kind: 'reply', verb: r.code, arg, frames });
      if (this.earlyVerbs.length > 0) {
        this.anomaly('CLIENT_SPOKE_BEFORE_GREETING', `${this.earlyVerbs.join(', ')} sent before the server said anything`, 'client', { frames, ts });
      }
      this.greetingText = r.lines[0] ?? '';
      if (r.code === '554') {
        this.state = 'REFUSED';
        this.refusedSomething = true;
      } else if (this.state === 'CONNECTED') {
        this.state = 'READY';
      }
      return;
    }
    if (this.state === 'CONNECTED') {
      this.state = 'READY';
      this.greetingMissed = true;
    }
    if (r.code === '354') this.skipToData(ts, frames);
    const p = this.pending.shift();
    this.entry({ ts, dir: 'server', kind: 'reply', verb: r.code, arg, frames, latencyUs: p === undefined ? undefined : ts - p.ts });
    // RFC 5321 §3.8: a server may send 421 unasked when it shuts the session down; others use
    // other 4xx / 5xx codes for it (Exchange: "451 4.7.0 Timeout waiting for client input",
    // zeek_smtp-multi-addr). Only an unasked positive reply is out of place.
    if (p === undefined && (r.code.startsWith('2') || r.code.startsWith('3'))) {
      this.anomaly('UNMATCHED_REPLY', `reply ${r.code} with no command waiting`, 'server', { frames, ts });
      return;
    }
    if (p === undefined) return;
    const handler = this.replyHandlers[p.kind === 'sasl' ? 'SASL' : p.kind === 'data-end' ? '.' : (p.verb as SmtpVerb)];
    handler?.(p, r.code, r.lines, ts, frames);
    if (p.barrier === true && this.client.isPaused && this.state !== 'IN_TLS' && this.tlsProbe === undefined && !this.pending.some((q) => q.barrier === true)) {
      this.client.resume();
      this.checkHeld(ts);
    }
  }

  /**
   * RFC 5321 §4.3.2: 354 answers DATA and nothing else. When a DATA waits behind other commands, the
   * replies are out of step with the commands (a reply went missing or was merged into another
   * line): the commands ahead of the DATA are given up, so that the 354 opens the body.
   */
  private skipToData(ts: number, frames: readonly number[]): void {
    const at = this.pending.findIndex((q) => q.kind === 'command' && q.verb === 'DATA');
    if (at <= 0) return;
    const skipped = this.pending.splice(0, at);
    this.anomaly('MISSING_REPLY', `354 arrived with ${skipped.map((q) => q.verb).join(', ')} still unanswered before DATA: their replies are missing`, 'server', { frames, ts });
    for (const q of skipped) this.abandon(q, ts);
  }

  /** A pending entry that will get no reply: a mail or an AUTH exchange it held is finished without one. */
  private abandon(dropped: Pending, ts: number): void {
    if (dropped.mail !== undefined && dropped.mail.ended && (dropped.kind === 'data-end' || dropped.last === true)) {
      this.dropAwaiting(dropped.mail);
      this.emitMail(dropped.mail);
    }
    if (dropped.auth !== undefined && !this.pending.some((q) => q.auth === dropped.auth)) this.emitAuth(dropped.auth, undefined, ts);
  }

  /** The first reply is the greeting, unless it cannot be (mid-stream pickup: a command waits and it is no 220/554/421). */
  private isGreeting(code: string): boolean {
    if (this.greetingText !== undefined || this.greetingMissed) return false;
    return code === '220' || code === '554' || code === '421' || this.pending.length === 0;
  }

  private replyEhlo(code: string, text: readonly string[]): void {
    if (code.startsWith('2')) this.ehloCapabilities = text.slice(1);
  }

  private replyMail(p: Pending, code: string): void {
    if (!code.startsWith('2')) {
      this.refusedSomething = true;
      // A refused MAIL opens no transaction and leaves an open one as it was (503 "sender already
      // given": zeek_smtp-mail-transactions-invalid's next mail still comes from the first sender).
      if (this.tx === p.tx) this.tx = p.prevTx;
    }
  }

  private replyRcpt(p: Pending, code: string): void {
    if (p.rcpt === undefined) return;
    p.rcpt.accepted = code.startsWith('2');
    if (!p.rcpt.accepted) this.refusedSomething = true;
  }

  private replyData(p: Pending, code: string, ts: number): void {
    const assumed = p.mail;
    if (code === '354') {
      if (assumed === undefined && this.current?.command !== 'DATA') this.startDataBody(ts);
      return;
    }
    this.refusedSomething = true;
    // The body was read on an assumed 354 (client before greeting): that mail was refused.
    if (assumed !== undefined && !assumed.emitted) {
      assumed.finalReply = code;
      const i = this.pending.findIndex((q) => q.mail === assumed);
      if (i !== -1) this.pending.splice(i, 1);
      if (this.current === assumed) {
        this.current = undefined;
        this.client.readLines();
        this.state = 'READY';
      }
      this.dropAwaiting(assumed);
      this.emitMail(assumed);
    }
  }

  private replyDataEnd(p: Pending, code: string): void {
    const mail = p.mail;
    if (mail === undefined) return;
    mail.finalReply = code;
    if (mail.tx === this.tx) this.tx = undefined;
    this.dropAwaiting(mail);
    this.emitMail(mail);
  }

  private replyBdat(p: Pending, code: string): void {
    const mail = p.mail;
    if (mail === undefined) {
      if (!code.startsWith('2')) this.refusedSomething = true;
      return;
    }
    if (!code.startsWith('2') && mail.refusedBy === undefined) mail.refusedBy = code;
    if (p.last !== true) return;
    mail.finalReply = mail.refusedBy ?? code;
    if (mail.tx === this.tx) this.tx = undefined;
    this.dropAwaiting(mail);
    this.emitMail(mail);
  }

  private replyStartTls(code: string, ts: number, frames: readonly number[]): void {
    if (code !== '220') return;
    // The client reader stays paused (STARTTLS is a barrier) until its next bytes decide.
    this.tlsProbe = { ts, frames: [...frames] };
    if (!this.client.isPaused) this.client.pause();
    this.decideTls(ts);
  }

  /** After an accepted STARTTLS: the client's first held byte tells TLS from plaintext. */
  private decideTls(ts: number): void {
    const probe = this.tlsProbe;
    if (probe === undefined || this.client.heldBytes === 0) return;
    this.tlsProbe = undefined;
    if (this.client.firstHeldByte === TLS_HANDSHAKE) {
      this.enterTls(probe.ts, probe.frames, 'STARTTLS accepted; the rest of the session is encrypted');
      return;
    }
    this.anomaly('STARTTLS_PLAINTEXT', 'STARTTLS was accepted but the client went on in plaintext (a capture decrypted before it was saved?): parsed as SMTP', 'client', { frames: probe.frames, ts });
    // RFC 3207 §4.2: after STARTTLS the client starts over with EHLO.
    this.state = 'READY';
    this.client.resume();
    this.checkHeld(ts);
  }

  private enterTls(ts: number, frames: readonly number[], arg: string): void {
    this.tlsProbe = undefined;
    this.tlsStarted = true;
    this.state = 'IN_TLS';
    this.client.ignore();
    this.server.ignore();
    this.reply = undefined;
    this.entry({ ts, dir: 'server', kind: 'tls', verb: 'STARTTLS', arg, frames: [...frames] });
  }

  // ---------------------------------------------------------------- held client bytes

  /** Bounds what the client sends past a command without waiting for its reply. */
  private checkHeld(ts: number): void {
    if (!this.client.isPaused || this.client.heldBytes === 0) return;
    if (this.startTlsUnanswered && !this.serverSeen) {
      this.releaseHeld(ts);
      return;
    }
    if (this.client.heldBytes > this.limits.maxBufferedBytesPerDirection) {
      this.anomaly('UNANSWERED_COMMAND', `client sent ${this.client.heldBytes} bytes without waiting for a reply`, 'client', { frames: [], ts });
      this.releaseHeld(ts);
    }
  }

  /** No reply will decide: read the held bytes as the client evidently meant them. */
  private releaseHeld(ts: number): void {
    const barrier = this.pending.find((q) => q.barrier === true);
    if (barrier?.verb === 'STARTTLS') {
      if (this.client.firstHeldByte === TLS_HANDSHAKE) {
        this.enterTls(ts, [], this.startTlsUnanswered ? 'client started TLS; the server was not captured' : 'client started TLS without a reply');
        return;
      }
    } else if (barrier?.verb === 'DATA') {
      if (this.current === undefined) this.startDataBody(ts);
    } else if (barrier?.auth !== undefined && this.auth === barrier.auth) {
      // Without a challenge the client's lines are still SASL answers, not commands.
      this.saslExpected = barrier.kind === 'sasl' ? 1 : expectedAnswers(barrier.auth.mechanism, barrier.auth.responses.length > 0 ? 'x' : undefined);
    }
    // Later barriers are released as well: they too will get no answer before the held bytes.
    for (let i = 0; i < this.pending.length; i++) {
      const q = this.pending[i]!;
      if (q.barrier === true) this.pending[i] = { ...q, barrier: false };
    }
    this.client.resume();
    if (this.client.isPaused) this.releaseHeld(ts);
  }

  // ---------------------------------------------------------------- output

  private enqueue(p: Pending): void {
    this.pending.push(p);
    if (this.pending.length <= this.limits.maxPendingCommands) return;
    const dropped = this.pending.shift()!;
    if (this.serverSeen) this.anomaly('TOO_MANY_PENDING_COMMANDS', `more than ${this.limits.maxPendingCommands} commands without a reply`, 'client', { frames: [], ts: p.ts });
    this.abandon(dropped, p.ts);
  }

  private dropAwaiting(mail: MailInTransfer): void {
    const i = this.awaiting.indexOf(mail);
    if (i !== -1) this.awaiting.splice(i, 1);
  }

  private emitMail(mail: MailInTransfer): void {
    if (mail.emitted) return;
    mail.emitted = true;
    const b = mail.buffer;
    if (mail.finalReply !== undefined && mail.finalReply.startsWith('2')) this.delivered = true;
    else if (mail.finalReply !== undefined) this.refusedSomething = true;
    const tx = mail.tx;
    const m: ExtractedMail = {
      index: mail.index,
      direction: 'sent',
      envelope: tx === undefined ? undefined : { mailFrom: tx.mailFrom, mailParams: tx.mailParams, rcptTo: tx.rcpts.filter((r) => r.accepted !== false).map((r) => r.address) },
      command: mail.command,
      raw: b.bytes(),
      size: b.size,
      complete: mail.ended && b.intact,
      finalReply: mail.finalReply,
      startTs: b.startTs,
      endTs: b.endTs,
      frames: b.frames.slice(),
    };
    this.sink.mail(m);
  }

  private entry(e: TimelineEntryInput): void {
    this.sink.entry(e);
  }

  private anomaly(code: SmtpAnomaly, message: string, dir: Direction, at: { readonly frames: readonly number[]; readonly ts: number }): void {
    this.entry({ ts: at.ts, dir, kind: 'anomaly', verb: code, arg: message, frames: at.frames.slice() });
  }

}

/** Verbs whose handler enqueues its own pending entry (with a transaction, a mail or a barrier). */
const HANDLERS_THAT_ENQUEUE: ReadonlySet<string> = new Set(['MAIL', 'SEND', 'SOML', 'SAML', 'RCPT', 'DATA', 'BDAT', 'AUTH', 'STARTTLS']);

/** `AUTH PLAIN <base64>` -> `PLAIN ****`: the initial response is a credential. `=` (empty) is kept. */
function maskAuthArg(arg: string): string {
  const parts = arg.trim().split(/\s+/);
  if (parts.length < 2) return arg;
  return parts[1] === '=' ? `${parts[0]} =` : `${parts[0]} ****`;
}

/** Client answers a mechanism needs when no server challenge can be seen (one-sided capture). */
function expectedAnswers(mechanism: string, initial: string | undefined): number {
  const hasInitial = initial !== undefined && initial !== '=';
  switch (mechanism) {
    case 'PLAIN':
    case 'XOAUTH2':
      return hasInitial ? 0 : 1;
    case 'LOGIN':
      return initial === undefined ? 2 : 1;
    case 'CRAM-MD5':
      return 1;
    case 'NTLM':
      // NEGOTIATE then AUTHENTICATE; the NEGOTIATE may ride on the AUTH line.
      return hasInitial ? 1 : 2;
    default:
      return 0;
  }
}

/** The user and password (or token) carried by an attempt's decoded answers; NTLM adds domain and workstation. */
function decodeCredential(a: AuthAttempt): SaslCredential {
  const answers = a.responses;
  if (a.mechanism === 'LOGIN') {
    return { user: saslText(answers[0]), password: saslText(answers[1]) };
  }
  if (a.mechanism === 'NTLM') {
    const c = parseNtlm(answers);
    return c === undefined ? {} : { user: c.user, domain: c.domain, workstation: c.workstation };
  }
  const parse = a.mechanism === 'PLAIN' ? parsePlain : a.mechanism === 'CRAM-MD5' ? parseCramMd5 : a.mechanism === 'XOAUTH2' ? parseXoauth2 : undefined;
  if (parse === undefined) return {};
  for (const bytes of answers) {
    if (bytes === undefined || bytes.length === 0) continue;
    const c = parse(textDecoder.decode(bytes));
    if (c !== undefined) return { user: c.user, password: c.password };
  }
  return {};
}

function saslText(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : textDecoder.decode(bytes);
}

/** `user "jack" domain "SMTPDOM" workstation "SMTPHOST"` for the auth entry's arg; never the password. */
function credentialText(c: SaslCredential): string {
  let s = c.user === undefined ? 'user unknown' : `user ${JSON.stringify(c.user)}`;
  if (c.domain !== undefined) s += ` domain ${JSON.stringify(c.domain)}`;
  if (c.workstation !== undefined) s += ` workstation ${JSON.stringify(c.workstation)}`;
  return s;
}

/** A line after a gap is taken for a command when it starts with a known verb. */
function looksLikeCommand(line: Uint8Array): boolean {
  const text = textDecoder.decode(line.subarray(0, 16));
  const sp = text.indexOf(' ');
  const verb = (sp === -1 ? text : text.slice(0, sp)).toUpperCase();
  return (SMTP_VERBS as readonly string[]).includes(verb);
}

/** `<a@b>` -> `a@b`; `<>` -> `` (the null reverse-path). */
function stripPath(path: string): string {
  return path.startsWith('<') && path.endsWith('>') ? path.slice(1, -1) : path;
}

function bytesText(b: MailBuffer): string {
  return b.intact ? `${b.size} bytes` : `${b.size} bytes, incomplete`;
}

function pushFrame(list: number[], frame: number, max: number): void {
  if (!list.includes(frame) && list.length < max) list.push(frame);
}
