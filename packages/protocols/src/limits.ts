/**
 * Every limit of the engine in one object, each with the reason for its number. Whatever comes off
 * the wire or out of a file, these bound the memory the engine holds. Hitting one is an anomaly on
 * the session's timeline, never an exception.
 */
export interface EngineLimits {
  /** Longest pcap/pcapng record or block accepted; libpcap's own maximum snap length is 256 KiB. */
  readonly maxCaptureRecordBytes: number;
  /** Connections tracked at once; past it the least recently active one is closed ('limit'). */
  readonly maxConnections: number;
  /** Out-of-order bytes buffered per direction before the hole is declared a gap (gopacket's MaxBufferedPagesPerConnection). */
  readonly maxBufferedBytesPerDirection: number;
  /** Out-of-order bytes buffered across all connections. */
  readonly maxBufferedBytesTotal: number;
  /** A connection with no packet for this long (packet time, µs) is closed ('timeout'). */
  readonly idleTimeoutUs: number;
  /** Longest command or reply line kept; RFC 5321 §4.5.3.1.4 allows 512 (commands) and 512 (replies); real servers send up to a few KiB. */
  readonly maxLineBytes: number;
  /** Lines of one multi-line reply kept (an EHLO answer has ~20). */
  readonly maxReplyLines: number;
  /** Commands waiting for their reply (PIPELINING); RFC 2920 clients send a few dozen at most. */
  readonly maxPendingCommands: number;
  /** Bytes of one mail kept; the rest is counted and the mail is marked truncated. */
  readonly maxMailBytes: number;
  /** Timeline entries per session; past it only anomalies and the close are recorded. */
  readonly maxTimelineEntries: number;
  /** Frame numbers remembered per timeline entry or mail (a 50 MB mail spans ~35,000 frames). */
  readonly maxFramesPerUnit: number;
}

export const DEFAULT_LIMITS: EngineLimits = {
  maxCaptureRecordBytes: 256 * 1024,
  maxConnections: 100_000,
  maxBufferedBytesPerDirection: 1024 * 1024,
  maxBufferedBytesTotal: 64 * 1024 * 1024,
  idleTimeoutUs: 10 * 60 * 1_000_000,
  maxLineBytes: 16 * 1024,
  maxReplyLines: 200,
  maxPendingCommands: 1000,
  maxMailBytes: 50 * 1024 * 1024,
  maxTimelineEntries: 20_000,
  maxFramesPerUnit: 1024,
};
