/**
 * What the `Analyzer` emits, in order: for each frame its packet record, then the session events
 * that frame caused (session-opened before the session's first timeline entry, mails after the
 * entries that completed them, session-closed last). These are the records the agent batches to the
 * API and the CLI prints; they are plain data (JSON-safe except `Uint8Array` mail bytes).
 */
import type { Direction } from './types.ts';
import type { AuthCredential, CloseReason, Endpoint, MailProtocol, SessionOutcome } from './session.ts';

export interface PacketRecord {
  readonly type: 'packet';
  readonly no: number;
  /** µs since the epoch. */
  readonly ts: number;
  readonly src: string;
  readonly dst: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** 'TCP', 'SMTP', 'POP3', or the IP protocol / link layer when not TCP ('UDP', 'ICMP', 'ARP', ...). */
  readonly protocol: string;
  readonly length: number;
  readonly capturedLength: number;
  readonly tcpFlags?: number;
  readonly seq?: number;
  readonly ack?: number;
  readonly payloadLength?: number;
  /** A one-line summary like a packet list shows ("[SYN] Seq=0", "C: EHLO mail.example.com"). */
  readonly info: string;
  /** Session the packet belongs to, when it is part of a mail session. */
  readonly sessionId?: number;
  readonly dir?: Direction;
  /** Transport observations: 'retransmission', 'out-of-order', 'overlap', 'keep-alive', 'zero-window'. */
  readonly tcpAnalysis?: readonly string[];
}

export interface SessionOpenedEvent {
  readonly type: 'session-opened';
  readonly sessionId: number;
  readonly protocol: MailProtocol;
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly startTs: number;
  readonly sawSyn: boolean;
  /** How the protocol was chosen: by the port lists or by content on another port. */
  readonly detectedBy: 'port' | 'content';
}

export interface TimelineEvent {
  readonly type: 'timeline';
  readonly sessionId: number;
  /** 1-based, wire order within the session. */
  readonly seq: number;
  readonly ts: number;
  readonly dir: Direction;
  readonly kind: 'tcp' | 'command' | 'reply' | 'data' | 'auth' | 'tls' | 'anomaly';
  readonly verb: string;
  readonly arg: string;
  readonly frames: readonly number[];
  readonly latencyUs?: number;
  readonly auth?: AuthCredential;
}

export interface MailSummary {
  readonly subject?: string;
  readonly from?: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly date?: string;
  readonly messageId?: string;
  readonly attachments: readonly AttachmentSummary[];
  /** Set when the MIME library could not parse the mail. */
  readonly parseError?: string;
}

export interface AttachmentSummary {
  readonly filename?: string;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
  readonly disposition?: string;
}

export interface MailEvent {
  readonly type: 'mail';
  readonly sessionId: number;
  readonly index: number;
  readonly direction: 'sent' | 'retrieved';
  readonly command: 'DATA' | 'BDAT' | 'RETR' | 'TOP';
  readonly messageNumber?: number;
  readonly envelope?: {
    readonly mailFrom: string;
    readonly mailParams: readonly string[];
    readonly rcptTo: readonly string[];
  };
  readonly size: number;
  readonly sha256: string;
  readonly complete: boolean;
  readonly finalReply?: string;
  readonly startTs: number;
  readonly endTs: number;
  readonly frames: readonly number[];
  /** The mail's bytes (at most the mail limit); the consumer decides whether to keep them (Save Mail). */
  readonly raw: Uint8Array;
  /** Filled by `summarizeMail` (async: the MIME library is); absent from the synchronous stream. */
  readonly summary?: MailSummary;
}

export interface SessionClosedEvent {
  readonly type: 'session-closed';
  readonly sessionId: number;
  readonly protocol: MailProtocol;
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly startTs: number;
  readonly endTs: number;
  readonly closeReason: CloseReason;
  readonly outcome: SessionOutcome;
  readonly authUser?: string;
  readonly authMechanism?: string;
  readonly authSuccess?: boolean;
  readonly encrypted: boolean;
  readonly helo?: string;
  readonly greeting?: string;
  readonly mails: number;
  readonly deleted?: readonly number[];
  readonly packets: { readonly client: number; readonly server: number };
  readonly bytes: { readonly client: number; readonly server: number };
  readonly retransmissions: number;
  readonly gaps: number;
  readonly gapBytes: number;
  readonly anomalies: number;
}

export type SessionEvent = SessionOpenedEvent | TimelineEvent | MailEvent | SessionClosedEvent;
export type AnalyzerEvent = PacketRecord | SessionEvent;
