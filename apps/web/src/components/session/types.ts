/** The session page's data as the API returns it (apps/api/src/routes/sessions.ts, packets.ts, captures.ts). */

export interface Endpoint {
  readonly addr: string;
  readonly port: number;
}

export type Side = 'client' | 'server';

export interface SessionInfo {
  readonly id: string;
  readonly captureId: string;
  readonly protocol: 'smtp' | 'pop3';
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** µs since the epoch. */
  readonly startTs: number;
  readonly endTs: number | null;
  readonly state: string;
  readonly outcome: string | null;
  readonly authUser: string | null;
  readonly authMechanism: string | null;
  readonly authSuccess: boolean | null;
  readonly encrypted: boolean;
  readonly helo: string | null;
  readonly mails: number;
  readonly packets: { readonly client: number; readonly server: number };
  readonly bytes: { readonly client: number; readonly server: number };
  readonly retransmissions: number;
  readonly gaps: number;
  readonly anomalies: number;
  readonly engineSessionId: number;
  readonly greeting: string | null;
  readonly sawSyn: boolean;
  readonly detectedBy: string;
  readonly closeReason: string | null;
  readonly deleted: readonly number[];
  readonly gapBytes: number;
}

export interface AuthInfo {
  readonly mechanism: string | null;
  readonly user: string | null;
  /** '****' when a password was captured (never the password itself), null when none was. */
  readonly password: string | null;
  readonly success: boolean | null;
}

export type TimelineKind = 'tcp' | 'command' | 'reply' | 'data' | 'auth' | 'tls' | 'anomaly';

export interface TimelineEntry {
  readonly seq: number;
  readonly ts: number;
  readonly dir: Side;
  readonly kind: TimelineKind | (string & {});
  /** Command verb, reply code, TCP event or anomaly code. */
  readonly verb: string;
  readonly arg: string;
  readonly frames: readonly number[];
  readonly latencyUs: number | null;
  readonly auth: AuthInfo | null;
  /** `data` entries: the index of the mail they carried. */
  readonly mail?: number | null;
  /** RETRANSMISSION entries: the packet repeated and the entry its bytes belong to. */
  readonly retransmission?: { readonly originalFrame: number | null; readonly entrySeq: number | null } | null;
}

export interface SessionMail {
  readonly id: string;
  readonly index: number;
  readonly direction: 'sent' | 'retrieved';
  readonly command?: string;
  readonly messageNumber?: number | null;
  readonly mailFrom?: string | null;
  readonly rcptTo?: readonly string[];
  readonly from?: string | null;
  readonly to?: readonly string[];
  readonly subject: string | null;
  readonly date?: string | null;
  readonly startTs?: number;
  readonly size: number;
  readonly attachments?: number;
  readonly complete?: boolean;
  readonly finalReply?: string | null;
  /** False when Save Mail was off: there is no .eml to download. */
  readonly hasRaw: boolean;
}

export interface SessionDetail {
  readonly session: SessionInfo;
  readonly timeline: readonly TimelineEntry[];
  readonly timelineTruncated: boolean;
  readonly mails: readonly SessionMail[];
}

export interface PacketRow {
  readonly captureId: string;
  readonly frameNo: number;
  readonly sessionId: string | null;
  readonly ts: number;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number | null;
  readonly dstPort: number | null;
  readonly protocol: string;
  readonly length: number;
  readonly capturedLength: number;
  readonly tcpFlags: number | null;
  readonly seq: number | null;
  readonly ack: number | null;
  readonly payloadLength: number | null;
  readonly info: string;
  readonly dir: Side | null;
  readonly tcpAnalysis: readonly string[];
}

export interface PacketPage {
  readonly packets: PacketRow[];
  readonly next: string | null;
}

export interface FlowChunk {
  readonly dir: Side;
  readonly ts: number;
  readonly frames: readonly number[];
  readonly text: string;
  readonly bytes: number;
  /** Bytes never captured, when this chunk is a hole in the stream. */
  readonly gap?: number;
}

export interface DataFlow {
  readonly chunks: readonly FlowChunk[];
  readonly bytes: { readonly client: number; readonly server: number };
  readonly truncated: boolean;
}

export interface CaptureInfo {
  readonly id: string;
  readonly agentName: string | null;
  readonly source: 'live' | 'upload';
  readonly interface: string | null;
  readonly fileName: string | null;
  readonly startedAt: string;
  readonly status: string;
}

/** What is selected across the tabs: a dialogue entry (and so its frames) or one packet. */
export type Selection = { readonly kind: 'entry'; readonly seq: number } | { readonly kind: 'packet'; readonly frame: number } | null;
