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

/** A packet's identity: frame numbers restart in every capture. */
export function packetKey(p: { readonly captureId: string; readonly frameNo: number }): string {
  return `${p.captureId}:${p.frameNo}`;
}

const FLAGS: readonly (readonly [bit: number, name: string, letter: string])[] = [
  [0x02, 'SYN', 'S'],
  [0x10, 'ACK', 'A'],
  [0x08, 'PSH', 'P'],
  [0x01, 'FIN', 'F'],
  [0x04, 'RST', 'R'],
  [0x20, 'URG', 'U'],
  [0x40, 'ECE', 'E'],
  [0x80, 'CWR', 'C'],
];

/** The flags set in `flags`, by name (`SYN, ACK`). */
export function flagNames(flags: number): string[] {
  return FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

/** Compact letters of the flags set (`SA`, `AP`, `FA`, `R`). */
export function flagLetters(flags: number): string {
  return FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, , letter]) => letter).join('');
}
