/**
 * Core value types shared by every stage of the engine. Units: times are microseconds since the
 * Unix epoch (a JS number holds them exactly until the year 2255); sizes are bytes.
 *
 * Ownership: a `Frame`'s `data` belongs to whoever made the frame. Every stage that keeps bytes
 * past the call that handed them over copies them (`slice`), because live capture reuses its buffer.
 */

/** A captured link-layer frame, as read from a file or a live interface. */
export interface Frame {
  /** 1-based position in the capture (a file's frame number, or the live capture's counter). */
  readonly no: number;
  /** Capture time, µs since the Unix epoch. */
  readonly ts: number;
  /** LINKTYPE_* value of the interface the frame came from (pcap / pcapng). */
  readonly linkType: number;
  /** The captured bytes (may be shorter than `origLen` when the snap length cut it). */
  readonly data: Uint8Array;
  /** Length of the frame on the wire. */
  readonly origLen: number;
}

/** LINKTYPE_* values the decoder understands (tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** TCP flag bits as they sit in the header's flags byte. */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** A TCP segment decoded from a frame. Addresses are printable strings ("192.0.2.1", "2001:db8::1"). */
export interface TcpSegment {
  readonly ipVersion: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** Sequence and acknowledgement numbers, unsigned 32-bit. */
  readonly seq: number;
  readonly ack: number;
  /** Flags byte (see `TcpFlag`). */
  readonly flags: number;
  readonly window: number;
  /** TCP payload; a view into the frame's bytes (copy before keeping it). */
  readonly payload: Uint8Array;
  /** Payload length the IP header claims; larger than `payload.length` when the snap length cut it. */
  readonly payloadLenOnWire: number;
  /** VLAN ids from outer to inner, empty when untagged. */
  readonly vlans: readonly number[];
}

/** The result of decoding a frame: a TCP segment, or a value that says why not. Never thrown. */
export type DecodeResult =
  | { readonly ok: true; readonly tcp: TcpSegment }
  | {
      readonly ok: false;
      /** Layer that could not be decoded or is not TCP: 'link' | 'ip' | 'tcp'. */
      readonly layer: 'link' | 'ip' | 'tcp';
      /** Short, stable reason: 'unsupported-linktype', 'truncated', 'not-tcp', 'fragment', ... */
      readonly reason: string;
      /** Addresses when the IP layer was read, so a packet list can still show them. */
      readonly src?: string;
      readonly dst?: string;
      readonly protocol?: number;
    };

/** Direction of a byte or a unit within a connection. */
export type Direction = 'client' | 'server';
/** `client` = sent by the client (client→server); `server` = sent by the server (server→client). */

/** An anomaly: a protocol or transport violation, recorded as data with a stable code. */
export interface Anomaly {
  /** UPPER_SNAKE code, stable across versions (e.g. `UNMATCHED_REPLY`, `TCP_GAP`). */
  readonly code: string;
  readonly message: string;
  readonly ts: number;
  readonly dir?: Direction;
  readonly frames?: readonly number[];
}
