/**
 * The bounds of the agent protocol's payloads and the timeline kinds: constants that both the
 * schemas (agent-protocol.ts) and the binary block codecs (packet-block.ts, timeline-block.ts)
 * check, in a module of their own so that the codecs need not import the schemas' module, which
 * imports them.
 */

/** Bounds of every payload; each says where its number comes from. */
export const AGENT_PROTOCOL_LIMITS = {
  /** Packet records per batch: ~5,000 frames of ~1,500 bytes is ~7 MB, a few ms of a busy link. */
  maxBatchPackets: 5_000,
  /** Session events (opened + closed) per batch. */
  maxBatchSessions: 5_000,
  /** Timeline entries per batch (an SMTP session has ~10-30). */
  maxBatchTimeline: 20_000,
  /**
   * Mails per batch (their bytes travel together in `mailBytes`, within `maxBatchBytes`). It was 8
   * while each mail's bytes were a binary part of their own (socket.io refuses more than 10), and
   * a mail-heavy import then went in batches of a few hundred packets.
   */
  maxBatchMails: 1_000,
  /** Raw bytes (frames and mails together) per batch. */
  maxBatchBytes: 64 * 1024 * 1024,
  /** One frame's bytes: libpcap's largest snap length (the engine's maxCaptureRecordBytes). */
  maxFrameBytes: 256 * 1024,
  /** One mail's bytes: the engine's maxMailBytes. */
  maxMailBytes: 50 * 1024 * 1024,
  /** Frame numbers per timeline entry or mail: the engine's maxFramesPerUnit. */
  maxFramesPerUnit: 1024,
  /** An IPv4 / IPv6 address as text (45 characters at most) with room for a zone id. */
  maxAddressChars: 64,
  /** One protocol line (info, verb, HELO, greeting, envelope address): the engine's 16 KiB line limit plus a prefix. */
  maxLineChars: 20_000,
  /** A timeline entry's argument: a multi-line reply is up to 200 lines of 16 KiB. */
  maxArgChars: 4 * 1024 * 1024,
  /** A decoded header (Subject, From, ...): the engine flags headers past 64 KiB. */
  maxHeaderChars: 64 * 1024,
  /** Recipients, To / Cc addresses, mail parameters of one mail. */
  maxListItems: 10_000,
  /** Attachments of one mail. */
  maxAttachments: 1_000,
  /** Names: agent, host, version, interface, capture id, batch id. */
  maxNameChars: 256,
  /** Interfaces an agent reports. */
  maxInterfaces: 256,
  /** Addresses of one interface. */
  maxInterfaceAddresses: 64,
  /** An error text from the agent. */
  maxErrorChars: 4_096,
  /** Capture ids in a hello (captures running in the agent process); an agent with more leaves the list out. */
  maxHelloCaptures: 64,
  /** A packet's protocol label ('TCP', 'SMTP', ...). */
  maxProtocolChars: 32,
  /** TCP analysis labels of one packet ('retransmission', ...), and the length of each. */
  maxTcpAnalysis: 8,
  maxTcpAnalysisChars: 32,
  /** An AUTH mechanism name. */
  maxMechanismChars: 64,
} as const;

/** The kinds of timeline entry; a timeline block writes a kind as its index here. */
export const TIMELINE_KINDS = ['tcp', 'command', 'reply', 'data', 'auth', 'tls', 'anomaly'] as const;
