/**
 * Row shapes of the API's list routes, shared by the pages that show them (the sessions list and
 * the session page; the packet list and the session's packets tab).
 */

/** A session as GET /api/sessions returns it (SessionRowSchema, apps/api/src/routes/sessions.ts). */
export interface SessionRow {
  readonly id: string;
  readonly captureId: string;
  readonly protocol: 'smtp' | 'pop3';
  readonly client: { readonly addr: string; readonly port: number };
  readonly server: { readonly addr: string; readonly port: number };
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
}

/** A packet as GET /api/packets and GET /api/sessions/:id/packets return it (PacketRowSchema, apps/api/src/routes/packets.ts). */
export interface PacketRow {
  readonly captureId: string;
  /** 1-based within its capture; the timeline's `frames` are these numbers. */
  readonly frameNo: number;
  readonly sessionId: string | null;
  /** µs since the epoch. */
  readonly ts: number;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number | null;
  readonly dstPort: number | null;
  /** 'SMTP', 'POP3' (TCP carrying a session's payload), 'TCP', or 'UDP', 'ICMP', 'ARP', ... */
  readonly protocol: string;
  /** Bytes on the wire. */
  readonly length: number;
  /** Bytes captured (less than `length` with a snap length). */
  readonly capturedLength: number;
  /** TCP flags byte (FIN 0x01 ... CWR 0x80); null when not TCP. */
  readonly tcpFlags: number | null;
  readonly seq: number | null;
  readonly ack: number | null;
  readonly payloadLength: number | null;
  /** One line: the payload's first line ("C: EHLO x", credentials masked) or the TCP header fields. */
  readonly info: string;
  readonly dir: 'client' | 'server' | null;
  /** 'retransmission', 'out-of-order', 'overlap', 'keep-alive', 'zero-window'. */
  readonly tcpAnalysis: readonly string[];
}
