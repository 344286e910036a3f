import type { PacketRow, SessionRow } from '@/lib/api-types';
/** The session page's data as the API returns it (apps/api/src/routes/sessions.ts, packets.ts, captures.ts). */

export interface Endpoint {
  readonly addr: string;
  readonly port: number;
}

export type Side = 'client' | 'server';

/** The session of GET /api/sessions/:id: the list row and what only the detail carries. */
export interface SessionInfo extends SessionRow {
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

export type { PacketRow } from '@/lib/api-types';

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
