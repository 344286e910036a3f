/**
 * The contract between the TCP reassembler, the protocol analyzers (SMTP, POP3) and the Analyzer
 * pipeline that drives them.
 *
 * Call order for one connection, modelled on gopacket's `reassembly.Stream`:
 *   factory.open(conn) -> handler            once, when the first packet of the connection is seen
 *   handler.data / handler.gap               zero or more times, each direction in sequence order
 *   handler.close(reason)                    exactly once
 * Bytes handed to `data` are views the reassembler may reuse: copy what you keep.
 */
import type { Anomaly, Direction } from './types.ts';

export interface Endpoint {
  readonly addr: string;
  readonly port: number;
}

/** Why a connection ended. */
export type CloseReason =
  /** Both sides sent FIN (or one FIN and the capture ended). */
  | 'fin'
  /** A RST was seen. */
  | 'rst'
  /** No packet for the idle timeout, measured in packet time. */
  | 'timeout'
  /** The capture ended with the connection still open. */
  | 'end-of-capture'
  /** A new SYN reused the 4-tuple of a finished connection. */
  | 'reused'
  /** The reassembler dropped the connection to stay within its memory limits. */
  | 'limit';

export interface TcpConnectionInfo {
  /** 1-based, in order of the connection's first packet in the capture. */
  readonly id: number;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** Capture time of the first packet, µs. */
  readonly startTs: number;
  /** Frame number of the first packet. */
  readonly firstFrame: number;
  /** True when the connection was seen from its SYN; false when picked up mid-stream. */
  readonly sawSyn: boolean;
}

export interface StreamHandler {
  /** In-order bytes of one direction, carried by frame `frame` at time `ts` (µs). */
  data(dir: Direction, bytes: Uint8Array, frame: number, ts: number): void;
  /** `size` bytes of `dir` were never captured; the next `data` of `dir` follows them. */
  gap(dir: Direction, size: number, ts: number): void;
  /** Transport-level anomaly on this connection (retransmission with different bytes, limits hit, ...). */
  anomaly(a: Anomaly): void;
  /** Exactly once; no call follows it. */
  close(reason: CloseReason, ts: number): void;
}

/** A timeline entry as a protocol analyzer produces it; the Analyzer numbers them. */
export interface TimelineEntryInput {
  readonly ts: number;
  readonly dir: Direction;
  readonly kind: 'tcp' | 'command' | 'reply' | 'data' | 'auth' | 'tls' | 'anomaly';
  /** Command verb (upper case), reply code ("250", "+OK"), TCP event ("SYN"), or anomaly code. */
  readonly verb: string;
  /** Argument, reply text (lines joined by "\n"), or a description. Credentials never appear here. */
  readonly arg: string;
  /** Frames that carried the unit, ascending, without duplicates. */
  readonly frames: readonly number[];
  /** Replies: µs since the command they answer was sent. */
  readonly latencyUs?: number;
  /** `auth` entries: the decoded credential. The password is the only secret field of the engine. */
  readonly auth?: AuthCredential;
}

export interface AuthCredential {
  readonly mechanism: string;
  readonly user?: string;
  readonly password?: string;
  /** Whether the server accepted it; undefined until its reply is seen. */
  readonly success?: boolean;
}

/** A mail cut out of a session by the byte convention of ARCHITECTURE.md. */
export interface ExtractedMail {
  /** 1-based index within the session. */
  readonly index: number;
  readonly direction: 'sent' | 'retrieved';
  /** SMTP envelope; absent for POP3. */
  readonly envelope?: {
    readonly mailFrom: string;
    readonly mailParams: readonly string[];
    readonly rcptTo: readonly string[];
  };
  /** POP3: the message number and the command that fetched it. SMTP: 'DATA' or 'BDAT'. */
  readonly command: 'DATA' | 'BDAT' | 'RETR' | 'TOP';
  readonly messageNumber?: number;
  /** The mail's bytes, at most `limits.maxMailBytes` of them. */
  readonly raw: Uint8Array;
  /** Bytes seen on the wire for the mail (after unstuffing), including any beyond `raw`. */
  readonly size: number;
  /** False when a gap, a limit or the end of the connection cut it short. */
  readonly complete: boolean;
  /** SMTP: the final reply code to the data ("250"), when seen. POP3: "+OK". */
  readonly finalReply?: string;
  readonly startTs: number;
  readonly endTs: number;
  readonly frames: readonly number[];
}

/** What a protocol analyzer reports about its session so far. */
export interface ProtocolSummary {
  readonly outcome: SessionOutcome;
  readonly authUser?: string;
  readonly authMechanism?: string;
  readonly authSuccess?: boolean;
  readonly encrypted: boolean;
  readonly mails: number;
  /** POP3: message numbers deleted by a successful QUIT. */
  readonly deleted?: readonly number[];
  /** SMTP: EHLO/HELO argument. POP3: absent. */
  readonly helo?: string;
  /** Server greeting text (first line). */
  readonly greeting?: string;
}

export type SessionOutcome =
  | 'delivered'
  | 'retrieved'
  | 'auth-failed'
  | 'rejected'
  | 'encrypted'
  | 'aborted'
  | 'incomplete'
  | 'no-mail';

/** Where a protocol analyzer sends what it finds. */
export interface SessionSink {
  entry(e: TimelineEntryInput): void;
  mail(m: ExtractedMail): void;
}

/**
 * A protocol analyzer (SMTP, POP3): consumes one connection's reassembled bytes, emits timeline
 * entries and mails to its sink. Never throws on traffic.
 */
export interface ProtocolAnalyzer extends Pick<StreamHandler, 'data' | 'gap' | 'close'> {
  readonly protocol: MailProtocol;
  summary(): ProtocolSummary;
}

export type MailProtocol = 'smtp' | 'pop3';
