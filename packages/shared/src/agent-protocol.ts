/**
 * The socket contract between a capture agent and the API (`/agent` namespace), and the live
 * updates the API pushes to browsers (`/ui` namespace): TypeBox schemas with their static types,
 * the event maps for socket.io's typed `Server` / `Socket` generics, and one compiled validator per
 * payload (STYLE.md: socket payloads are validated like HTTP bodies; types alone do not validate).
 *
 * Agent → API:
 * - `hello` (HelloPayload) → ack HelloAck: the agent introduces itself after every (re)connect;
 *   the ack carries its id and the current mail-module settings. Its optional `captures` lists the
 *   captures running in the agent process: the API stops the agent's other running live captures.
 * - `capture:import` (CaptureImportPayload) → ack CaptureImportAck: `mailscope-agent import` asks
 *   for a capture of its own (source 'upload', status 'running') to send a file's batches to; a
 *   `capture:status` stopped for it closes it.
 * - `capture:status` (CaptureStatusPayload), optional ack CommandAck: state changes and counters of
 *   a capture; the ack comes once the state is recorded.
 * - `batch` (BatchPayload) → ack BatchAck: engine records of one capture, in the order the engine
 *   emitted them. Idempotent: a batch sent again (reconnect, spool replay) stores nothing twice.
 *   It travels as four binary parts (socket.io sends every Uint8Array as a message of its own and
 *   its parser refuses more than 10 per event): the packet records with their frames and the
 *   timeline entries as binary blocks (packet-block.ts, timeline-block.ts), the session events and
 *   mails as JSON bytes, and the mails' bytes concatenated. Build it with `packBatch`;
 *   `validateBatch` checks it and gives the records back, each packet and mail with its `raw`.
 *
 * API → agent:
 * - `settings` (MailModuleSettings): pushed whenever an admin changes them.
 * - `capture:start` (CaptureStartPayload) → ack CommandAck; `capture:stop` (CaptureStopPayload) →
 *   ack CommandAck.
 *
 * This package imports nothing internal (ARCHITECTURE.md), so the records are described here
 * structurally; the API checks at compile time that the engine's types fit them.
 *
 * Times are µs since the epoch (the engine's unit); ids of database rows travel as decimal strings
 * (they are BigInt in the store).
 */
import Type from 'typebox';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { MailModuleSettings } from './mail-settings.ts';
import { MAX_CAPTURE_FILTER_CHARS, MAX_SAVE_LOCATION_CHARS } from './mail-settings.ts';
import { AGENT_PROTOCOL_LIMITS, TIMELINE_KINDS } from './agent-limits.ts';
import { BLOCK_HEADER_BYTES } from './binary-block.ts';
import { decodePacketBlock, encodePacketBlock } from './packet-block.ts';
import { decodeTimelineBlock, encodeTimelineBlock } from './timeline-block.ts';

export { AGENT_PROTOCOL_LIMITS, TIMELINE_KINDS };


const L = AGENT_PROTOCOL_LIMITS;

const Str = (maxLength: number) => Type.String({ maxLength });
const UInt = (maximum = Number.MAX_SAFE_INTEGER) => Type.Integer({ minimum: 0, maximum });
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
/** µs since the epoch. */
const Micros = UInt();
const FrameList = Type.Array(Type.Integer({ minimum: 1, maximum: 0x7fffffff }), { maxItems: L.maxFramesPerUnit });
const Dir = Type.Union([Type.Literal('client'), Type.Literal('server')]);
/** A capture id: the Capture row's uuid. */
const CaptureId = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
const SessionNo = Type.Integer({ minimum: 1, maximum: 0x7fffffff });

/** Bytes: a Uint8Array (a Buffer on the API side, as socket.io delivers binary) of at most `max` bytes. */
function Bytes(max: number) {
  return Type.Refine(
    Type.Unsafe<Uint8Array>({}),
    (v) => v instanceof Uint8Array && v.byteLength <= max,
    (v) => (v instanceof Uint8Array ? `must be at most ${max} bytes (has ${v.byteLength})` : 'must be binary (a Uint8Array)'),
  );
}

const Strict = { additionalProperties: false } as const;

// ---- settings ----------------------------------------------------------------------------------

/** MailModuleSettings as pushed to agents (already validated by validateMailSettings on the way in). */
export const MailSettingsSchema = Type.Object({
  saveMail: Type.Boolean(),
  saveLocation: Type.Union([Type.Null(), Str(MAX_SAVE_LOCATION_CHARS)]),
  smtpPorts: Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { maxItems: 65535 }),
  pop3Ports: Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { maxItems: 65535 }),
  captureFilter: Str(MAX_CAPTURE_FILTER_CHARS),
  anyPort: Type.Boolean(),
}, Strict);

// ---- hello ---------------------------------------------------------------------------------------

export const AgentInterfaceSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: L.maxNameChars }),
  description: Type.Optional(Str(L.maxNameChars)),
  addresses: Type.Array(Str(L.maxAddressChars), { maxItems: L.maxInterfaceAddresses }),
}, Strict);
export type AgentInterface = Static<typeof AgentInterfaceSchema>;

export const HelloPayloadSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: L.maxNameChars }),
  host: Str(L.maxNameChars),
  version: Str(L.maxNameChars),
  interfaces: Type.Array(AgentInterfaceSchema, { maxItems: L.maxInterfaces }),
  /**
   * Ids of the captures running in this agent process right now. The API stops every other live
   * capture of the agent it has as running (the agent restarted: nothing captures for them any
   * more). Left out (older agents, `import`): the API changes no capture.
   */
  captures: Type.Optional(Type.Array(CaptureId, { maxItems: L.maxHelloCaptures })),
}, Strict);
export type HelloPayload = Static<typeof HelloPayloadSchema>;

export type HelloAck =
  | { readonly ok: true; readonly agentId: string; readonly settings: MailModuleSettings }
  | { readonly ok: false; readonly error: string };

// ---- capture control -----------------------------------------------------------------------------

export const CaptureStartPayloadSchema = Type.Object({
  captureId: CaptureId,
  interface: Type.String({ minLength: 1, maxLength: L.maxNameChars }),
  /** The complete BPF filter: port filter ANDed with the user's capture filter. */
  filter: Str(2 * MAX_CAPTURE_FILTER_CHARS),
}, Strict);
export type CaptureStartPayload = Static<typeof CaptureStartPayloadSchema>;

export const CaptureStopPayloadSchema = Type.Object({ captureId: CaptureId }, Strict);
export type CaptureStopPayload = Static<typeof CaptureStopPayloadSchema>;

/** The agent's answer to `capture:start` / `capture:stop`. */
export type CommandAck = { readonly ok: true } | { readonly ok: false; readonly error: string };

export const CommandAckSchema = Type.Union([
  Type.Object({ ok: Type.Literal(true) }),
  Type.Object({ ok: Type.Literal(false), error: Str(L.maxErrorChars) }),
]);

/** A file name as the agent reports it (display only): 1..255 characters, no control characters. */
export const MAX_IMPORT_FILE_NAME_CHARS = 255;

export const CaptureImportPayloadSchema = Type.Object({
  fileName: Type.String({ minLength: 1, maxLength: MAX_IMPORT_FILE_NAME_CHARS, pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]+$' }),
  sizeBytes: UInt(),
}, Strict);
export type CaptureImportPayload = Static<typeof CaptureImportPayloadSchema>;

/** The API's answer to `capture:import`: the id of the capture it created for the import. */
export type CaptureImportAck = { readonly ok: true; readonly captureId: string } | { readonly ok: false; readonly error: string };

export const CAPTURE_STATES = ['starting', 'running', 'stopped', 'error'] as const;
export type CaptureState = (typeof CAPTURE_STATES)[number];

export const CaptureStatusPayloadSchema = Type.Object({
  captureId: CaptureId,
  state: Type.Enum(CAPTURE_STATES),
  error: Type.Optional(Str(L.maxErrorChars)),
  /** Frames received from the interface since the capture started. */
  received: UInt(),
  /** Frames the kernel or the agent dropped since the capture started. */
  dropped: UInt(),
  /** Records waiting in the agent (memory and spool) to be sent. */
  queued: UInt(),
}, Strict);
export type CaptureStatusPayload = Static<typeof CaptureStatusPayloadSchema>;

// ---- batch ---------------------------------------------------------------------------------------

const EndpointSchema = Type.Object({ addr: Str(L.maxAddressChars), port: Port }, Strict);

/** The engine's PacketRecord plus the frame's link type and bytes. */
export const BatchPacketSchema = Type.Object({
  type: Type.Literal('packet'),
  no: Type.Integer({ minimum: 1, maximum: 0x7fffffff }),
  ts: Micros,
  src: Str(L.maxAddressChars),
  dst: Str(L.maxAddressChars),
  srcPort: Type.Optional(Port),
  dstPort: Type.Optional(Port),
  protocol: Str(L.maxProtocolChars),
  length: UInt(0x7fffffff),
  capturedLength: UInt(L.maxFrameBytes),
  tcpFlags: Type.Optional(UInt(0xfff)),
  seq: Type.Optional(UInt(0xffffffff)),
  ack: Type.Optional(UInt(0xffffffff)),
  payloadLength: Type.Optional(UInt(0x7fffffff)),
  info: Str(L.maxLineChars),
  sessionId: Type.Optional(SessionNo),
  dir: Type.Optional(Dir),
  tcpAnalysis: Type.Optional(Type.Array(Str(L.maxTcpAnalysisChars), { maxItems: L.maxTcpAnalysis })),
  /** pcap link type (DLT). */
  linkType: UInt(0xffff),
}, Strict);
/**
 * A packet record's fields (the schema is the contract; on the wire the records travel as one
 * binary block, packet-block.ts, which checks the same bounds).
 */
export type WireBatchPacket = Static<typeof BatchPacketSchema>;
/** A packet record with its frame's bytes (`capturedLength` of them). */
export type BatchPacket = WireBatchPacket & { raw: Uint8Array };

export const OUTCOMES = ['delivered', 'retrieved', 'auth-failed', 'rejected', 'encrypted', 'aborted', 'incomplete', 'no-mail'] as const;
export const CLOSE_REASONS = ['fin', 'rst', 'timeout', 'end-of-capture', 'reused', 'limit'] as const;
const MailProtocolSchema = Type.Union([Type.Literal('smtp'), Type.Literal('pop3')]);

export const SessionOpenedSchema = Type.Object({
  type: Type.Literal('session-opened'),
  sessionId: SessionNo,
  protocol: MailProtocolSchema,
  client: EndpointSchema,
  server: EndpointSchema,
  startTs: Micros,
  sawSyn: Type.Boolean(),
  detectedBy: Type.Union([Type.Literal('port'), Type.Literal('content')]),
}, Strict);
export type BatchSessionOpened = Static<typeof SessionOpenedSchema>;

const Count = UInt();
export const SessionClosedSchema = Type.Object({
  type: Type.Literal('session-closed'),
  sessionId: SessionNo,
  protocol: MailProtocolSchema,
  client: EndpointSchema,
  server: EndpointSchema,
  startTs: Micros,
  endTs: Micros,
  closeReason: Type.Enum(CLOSE_REASONS),
  outcome: Type.Enum(OUTCOMES),
  authUser: Type.Optional(Str(L.maxLineChars)),
  authMechanism: Type.Optional(Str(L.maxMechanismChars)),
  authSuccess: Type.Optional(Type.Boolean()),
  encrypted: Type.Boolean(),
  helo: Type.Optional(Str(L.maxLineChars)),
  greeting: Type.Optional(Str(L.maxLineChars)),
  mails: UInt(0x7fffffff),
  deleted: Type.Optional(Type.Array(UInt(0x7fffffff), { maxItems: L.maxListItems })),
  packets: Type.Object({ client: UInt(0x7fffffff), server: UInt(0x7fffffff) }, Strict),
  bytes: Type.Object({ client: Count, server: Count }, Strict),
  retransmissions: UInt(0x7fffffff),
  gaps: UInt(0x7fffffff),
  gapBytes: Count,
  anomalies: UInt(0x7fffffff),
}, Strict);
export type BatchSessionClosed = Static<typeof SessionClosedSchema>;

export const BatchSessionEventSchema = Type.Union([SessionOpenedSchema, SessionClosedSchema]);
export type BatchSessionEvent = Static<typeof BatchSessionEventSchema>;


export const BatchTimelineSchema = Type.Object({
  type: Type.Literal('timeline'),
  sessionId: SessionNo,
  seq: Type.Integer({ minimum: 1, maximum: 0x7fffffff }),
  ts: Micros,
  dir: Dir,
  kind: Type.Enum(TIMELINE_KINDS),
  verb: Str(L.maxLineChars),
  arg: Str(L.maxArgChars),
  frames: FrameList,
  latencyUs: Type.Optional(UInt()),
  auth: Type.Optional(Type.Object({
    mechanism: Str(L.maxMechanismChars),
    user: Type.Optional(Str(L.maxLineChars)),
    password: Type.Optional(Str(L.maxLineChars)),
    success: Type.Optional(Type.Boolean()),
  }, Strict)),
}, Strict);
export type BatchTimelineEntry = Static<typeof BatchTimelineSchema>;

const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$' });

export const AttachmentSummarySchema = Type.Object({
  filename: Type.Optional(Str(L.maxHeaderChars)),
  contentType: Str(1024),
  size: UInt(),
  sha256: Sha256Hex,
  disposition: Type.Optional(Str(256)),
}, Strict);

export const MailSummarySchema = Type.Object({
  subject: Type.Optional(Str(L.maxHeaderChars)),
  from: Type.Optional(Str(L.maxHeaderChars)),
  to: Type.Array(Str(L.maxHeaderChars), { maxItems: L.maxListItems }),
  cc: Type.Array(Str(L.maxHeaderChars), { maxItems: L.maxListItems }),
  date: Type.Optional(Str(1024)),
  messageId: Type.Optional(Str(L.maxHeaderChars)),
  attachments: Type.Array(AttachmentSummarySchema, { maxItems: L.maxAttachments }),
  parseError: Type.Optional(Str(L.maxErrorChars)),
}, Strict);
export type BatchMailSummary = Static<typeof MailSummarySchema>;

/**
 * The engine's MailEvent after `summarizeMail`: the summary is required, the bytes optional (an
 * agent may leave them out while Save Mail is off; the API drops them then anyway).
 */
export const BatchMailSchema = Type.Object({
  type: Type.Literal('mail'),
  sessionId: SessionNo,
  index: Type.Integer({ minimum: 1, maximum: 0x7fffffff }),
  direction: Type.Union([Type.Literal('sent'), Type.Literal('retrieved')]),
  command: Type.Union([Type.Literal('DATA'), Type.Literal('BDAT'), Type.Literal('RETR'), Type.Literal('TOP')]),
  messageNumber: Type.Optional(UInt(0x7fffffff)),
  envelope: Type.Optional(Type.Object({
    mailFrom: Str(L.maxLineChars),
    mailParams: Type.Array(Str(L.maxLineChars), { maxItems: 64 }),
    rcptTo: Type.Array(Str(L.maxLineChars), { maxItems: L.maxListItems }),
  }, Strict)),
  size: UInt(0x7fffffff),
  sha256: Sha256Hex,
  complete: Type.Boolean(),
  finalReply: Type.Optional(Str(L.maxLineChars)),
  startTs: Micros,
  endTs: Micros,
  frames: FrameList,
  /** Its bytes' length in the batch's `mailBytes`; absent when the bytes are not sent. */
  rawLength: Type.Optional(UInt(L.maxMailBytes)),
  summary: MailSummarySchema,
}, Strict);
/** A mail as it travels: its bytes, if sent, are in the batch's `mailBytes`. */
export type WireBatchMail = Static<typeof BatchMailSchema>;
/** A mail as agents build it and the API stores it: with its `raw` bytes, or without them. */
export type BatchMail = Omit<WireBatchMail, 'rawLength'> & { raw?: Uint8Array };

/** A batch's session events and mails: what travels as the JSON in `records`. */
export const BatchRecordsSchema = Type.Object({
  sessions: Type.Array(BatchSessionEventSchema, { maxItems: L.maxBatchSessions }),
  mails: Type.Array(BatchMailSchema, { maxItems: L.maxBatchMails }),
}, Strict);
export type BatchRecords = Static<typeof BatchRecordsSchema>;

/**
 * A batch as it travels: four binary parts and the ids. Packets and timeline entries, nine in ten
 * of the records, travel as binary blocks (packet-block.ts, timeline-block.ts); session events and
 * mails as UTF-8 JSON bytes (`records`) rather than as objects of the socket.io message: socket.io
 * walks every object of a message for binary parts on both sides, and the agent sends what its
 * spool holds without parsing and stringifying it again.
 */
export const BatchPayloadSchema = Type.Object({
  captureId: CaptureId,
  /** The agent's id for this batch (unique per capture), for logs and acks. */
  batchId: Type.String({ minLength: 1, maxLength: 64 }),
  /** Order of the batch within the capture, from 0. */
  seq: UInt(),
  /** The packet records and their frames, as one block (packet-block.ts). */
  packets: Bytes(L.maxBatchBytes + BLOCK_HEADER_BYTES),
  /** The timeline entries, as one block (timeline-block.ts). */
  timeline: Bytes(L.maxBatchBytes),
  /** BatchRecordsSchema as UTF-8 JSON (mails with the `rawLength` of their bytes in `mailBytes`). */
  records: Bytes(L.maxBatchBytes),
  /** The mails' bytes, concatenated in mail order (those with a `rawLength`). */
  mailBytes: Bytes(L.maxBatchBytes),
}, Strict);
/** A batch as it travels (see BatchPayloadSchema). */
export type WireBatchPayload = Static<typeof BatchPayloadSchema>;
/** A batch as agents build it and the API stores it: each packet and mail with its `raw` bytes. */
export type BatchPayload = Omit<WireBatchPayload, 'packets' | 'timeline' | 'records' | 'mailBytes'> & Omit<BatchRecords, 'mails'> & {
  packets: BatchPacket[];
  timeline: BatchTimelineEntry[];
  mails: BatchMail[];
};

/**
 * The wire form of `batch`: the packets as one binary block with their frames (packet-block.ts),
 * the mails' bytes concatenated into `mailBytes`. Each raw must be `capturedLength` bytes long.
 */
export function packBatch(batch: BatchPayload): WireBatchPayload {
  const packets = encodePacketBlock(batch.packets);
  let mailTotal = 0;
  for (const m of batch.mails) mailTotal += m.raw?.byteLength ?? 0;
  const mailBytes = new Uint8Array(mailTotal);
  const mails: WireBatchMail[] = [];
  let at = 0;
  for (const m of batch.mails) {
    const { raw, ...rest } = m;
    if (raw === undefined) {
      mails.push(rest);
    } else {
      mailBytes.set(raw, at);
      at += raw.byteLength;
      mails.push({ ...rest, rawLength: raw.byteLength });
    }
  }
  const timeline = encodeTimelineBlock(batch.timeline);
  const records = textEncoder.encode(JSON.stringify({ sessions: batch.sessions, mails }));
  return { captureId: batch.captureId, batchId: batch.batchId, seq: batch.seq, packets, timeline, records, mailBytes };
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Rows a batch added (0 each for a batch already stored). */
export interface StoredCounts {
  readonly packets: number;
  readonly sessions: number;
  readonly timeline: number;
  readonly mails: number;
}

/**
 * The answer to a batch. `ok: false` with `retry: true`: the API could not store it for a reason
 * of its own (its database away, ...), and the agent sends it again later; without `retry`, the
 * batch itself is refused (it would be refused again) and the agent sets it aside.
 */
export type BatchAck =
  | { readonly ok: true; readonly stored: StoredCounts }
  | { readonly ok: false; readonly error: string; readonly retry?: boolean };

// ---- event maps ----------------------------------------------------------------------------------

/** `/agent`: what the agent emits (socket.io's ClientToServerEvents). */
export interface AgentToServerEvents {
  hello: (payload: HelloPayload, ack: (res: HelloAck) => void) => void;
  'capture:import': (payload: CaptureImportPayload, ack: (res: CaptureImportAck) => void) => void;
  /** The ack is optional: an agent that asks for one learns once the state is recorded (or why not). */
  'capture:status': (payload: CaptureStatusPayload, ack?: (res: CommandAck) => void) => void;
  batch: (payload: WireBatchPayload, ack: (res: BatchAck) => void) => void;
}

/** `/agent`: what the API emits (socket.io's ServerToClientEvents). */
export interface ServerToAgentEvents {
  settings: (settings: MailModuleSettings) => void;
  'capture:start': (payload: CaptureStartPayload, ack: (res: CommandAck) => void) => void;
  'capture:stop': (payload: CaptureStopPayload, ack: (res: CommandAck) => void) => void;
}

/** `auth` of the `/agent` handshake: `io(url + '/agent', { auth: { token } })`. */
export interface AgentHandshakeAuth {
  readonly token: string;
}

/** The connect_error message of a refused agent handshake. */
export const INVALID_AGENT_TOKEN = 'invalid agent token';

// ---- validators ----------------------------------------------------------------------------------

export type Validation<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Errors listed in a refusal; the rest are counted. */
const MAX_REPORTED_ERRORS = 5;

/**
 * A compiled validator for `schema`: `ok` with the value typed, or one message naming the fields
 * at fault (`packets/3/raw: must be at most 262144 bytes (has 300000)`). Never throws.
 */
export function compileValidator<S extends TSchema>(schema: S, what: string): (value: unknown) => Validation<Static<S>> {
  const validator = Compile(schema);
  return (value) => {
    if (validator.Check(value)) return { ok: true, value: value as Static<S> };
    return { ok: false, error: describeErrors(what, validator.Errors(value)) };
  };
}

interface ErrorLike {
  readonly keyword: string;
  readonly instancePath: string;
  readonly message: string;
  readonly params: unknown;
}

function describeErrors(what: string, errors: readonly ErrorLike[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // A failed union reports every branch; the branch names carry no information for the sender.
    if (e.keyword === 'boolean' && e.message === 'schema is false') continue;
    const params = e.params as { additionalProperties?: readonly string[]; requiredProperties?: readonly string[] } | undefined;
    let message = e.message;
    const allowed = (e.params as { allowedValues?: readonly unknown[] } | undefined)?.allowedValues;
    if (allowed !== undefined) message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    if (e.keyword === 'pattern') message = e.instancePath.endsWith('captureId') ? 'must be a capture id (uuid)' : e.instancePath.endsWith('sha256') ? 'must be a sha256 in lowercase hex' : e.instancePath.endsWith('fileName') ? 'must not contain control characters' : 'has not the expected form';
    if (e.keyword === 'additionalProperties' && params?.additionalProperties) message = `unknown field${params.additionalProperties.length > 1 ? 's' : ''} ${params.additionalProperties.join(', ')}`;
    const line = `${e.instancePath === '' ? '(payload)' : e.instancePath.slice(1)}: ${message}`;
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  if (lines.length === 0) return `invalid ${what}`;
  const shown = lines.slice(0, MAX_REPORTED_ERRORS);
  const more = lines.length - shown.length;
  return `invalid ${what}: ${shown.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`;
}

export const validateHello = compileValidator(HelloPayloadSchema, 'hello');
export const validateCaptureImport = compileValidator(CaptureImportPayloadSchema, 'capture:import');
export const validateCaptureStatus = compileValidator(CaptureStatusPayloadSchema, 'capture:status');
export const validateCaptureStart = compileValidator(CaptureStartPayloadSchema, 'capture:start');
export const validateCaptureStop = compileValidator(CaptureStopPayloadSchema, 'capture:stop');
export const validateCommandAck = compileValidator(CommandAckSchema, 'capture command ack');
export const validateMailSettingsPayload = compileValidator(MailSettingsSchema, 'settings');

const checkBatchShape = compileValidator(BatchPayloadSchema, 'batch');
const checkBatchRecords = compileValidator(BatchRecordsSchema, 'batch');

/**
 * Validates a batch in its wire form (`packBatch`): its shape; its `records` (JSON, then
 * BatchRecordsSchema); its timeline and packet blocks (each record within the bounds of its
 * schema, the frames exactly as long as the packets' capturedLength together); then what one
 * schema cannot say - `mailBytes` exactly as long as the mails' rawLength together, the raw bytes
 * of the batch within `maxBatchBytes`, frame numbers and (session, seq) / (session, index) keys
 * once each. The value returned has each packet's `raw` (a view into the block) and each sent
 * mail's (a view into `mailBytes`).
 */
export function validateBatch(value: unknown): Validation<BatchPayload> {
  const shape = checkBatchShape(value);
  if (!shape.ok) return shape;
  const wire = shape.value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(wire.records));
  } catch (e) {
    return fail(`records: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const recordsShape = checkBatchRecords(parsed);
  if (!recordsShape.ok) return recordsShape;
  const { sessions } = recordsShape.value;
  const wireMails = recordsShape.value.mails;
  const decodedTimeline = decodeTimelineBlock(wire.timeline);
  if (!decodedTimeline.ok) return fail(decodedTimeline.error);
  const timeline = decodedTimeline.entries;
  const decoded = decodePacketBlock(wire.packets);
  if (!decoded.ok) return fail(decoded.error);
  const packets = decoded.packets;
  let bytes = 0;
  for (const p of packets) bytes += p.capturedLength;
  let mailExpected = 0;
  for (const m of wireMails) mailExpected += m.rawLength ?? 0;
  if (mailExpected !== wire.mailBytes.byteLength) return fail(`mailBytes: has ${wire.mailBytes.byteLength} bytes but the mails' rawLength add up to ${mailExpected}`);
  const mailBytes = wire.mailBytes;
  const mails: BatchMail[] = new Array<BatchMail>(wireMails.length);
  let at = 0;
  for (let i = 0; i < wireMails.length; i++) {
    const { rawLength, ...m } = wireMails[i]!;
    if (rawLength === undefined) {
      mails[i] = m;
    } else {
      mails[i] = { ...m, raw: mailBytes.subarray(at, at + rawLength) };
      at += rawLength;
    }
  }
  const batch: BatchPayload = { captureId: wire.captureId, batchId: wire.batchId, seq: wire.seq, packets, sessions, timeline, mails };
  const frameNos = new Set<number>();
  for (let i = 0; i < batch.packets.length; i++) {
    const p = batch.packets[i]!;
    if (frameNos.has(p.no)) return fail(`packets/${i}/no: frame ${p.no} appears twice in the batch`);
    frameNos.add(p.no);
  }
  for (const m of batch.mails) bytes += m.raw?.byteLength ?? 0;
  if (bytes > L.maxBatchBytes) return fail(`(payload): ${bytes} raw bytes, at most ${L.maxBatchBytes} per batch`);
  const keys = new Set<string>();
  for (let i = 0; i < batch.sessions.length; i++) {
    const s = batch.sessions[i]!;
    const key = `${s.type}:${s.sessionId}`;
    if (keys.has(key)) return fail(`sessions/${i}: ${s.type} of session ${s.sessionId} appears twice in the batch`);
    keys.add(key);
  }
  keys.clear();
  for (let i = 0; i < batch.timeline.length; i++) {
    const t = batch.timeline[i]!;
    const key = `${t.sessionId}:${t.seq}`;
    if (keys.has(key)) return fail(`timeline/${i}: entry ${t.seq} of session ${t.sessionId} appears twice in the batch`);
    keys.add(key);
  }
  keys.clear();
  for (let i = 0; i < batch.mails.length; i++) {
    const m = batch.mails[i]!;
    const key = `${m.sessionId}:${m.index}`;
    if (keys.has(key)) return fail(`mails/${i}: mail ${m.index} of session ${m.sessionId} appears twice in the batch`);
    keys.add(key);
  }
  return { ok: true, value: batch };
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error: `invalid batch: ${error}` };
}

// ---- /ui -----------------------------------------------------------------------------------------

/** A capture's state and counters, as the Capture row holds them. */
export interface UiCaptureStatus {
  readonly captureId: string;
  readonly source: 'live' | 'upload';
  /** Live: 'starting', 'running', 'stopped', 'failed'; upload: 'queued', 'analysing', 'done', 'failed'. */
  readonly status: string;
  readonly error: string | null;
  readonly packets: number;
  readonly drops: number;
  readonly sessions: number;
  readonly mails: number;
  readonly bytes: number;
}

export interface UiSessionOpened {
  readonly captureId: string;
  /** Session.id. */
  readonly id: string;
  readonly engineSessionId: number;
  readonly protocol: 'smtp' | 'pop3';
  readonly client: { readonly addr: string; readonly port: number };
  readonly server: { readonly addr: string; readonly port: number };
  readonly startTs: number;
}

/** New timeline entries or packets of an open session. */
export interface UiSessionUpdated {
  readonly captureId: string;
  readonly id: string;
  readonly engineSessionId: number;
  readonly timelineEntries: number;
  readonly packets: number;
  /** µs: the newest timeline entry or packet of this update. */
  readonly lastTs: number;
}

export interface UiSessionClosed {
  readonly captureId: string;
  readonly id: string;
  readonly engineSessionId: number;
  readonly endTs: number;
  readonly outcome: string;
  readonly closeReason: string;
  readonly mails: number;
  readonly authUser: string | null;
}

export interface UiMail {
  readonly captureId: string;
  /** Mail.id. */
  readonly id: string;
  readonly sessionId: string;
  readonly index: number;
  readonly direction: 'sent' | 'retrieved';
  readonly subject: string | null;
  readonly from: string | null;
  readonly size: number;
  readonly sha256: string;
  readonly saved: boolean;
}

/** Once a second while rows are arriving: totals stored since the previous tick. */
export interface UiStatsTick {
  /** ms since the epoch (server clock). */
  readonly at: number;
  readonly packets: number;
  readonly sessions: number;
  readonly timeline: number;
  readonly mails: number;
  readonly bytes: number;
}

export interface UiUploadProgress {
  readonly captureId: string;
  readonly fileName: string;
  readonly state: 'queued' | 'analysing' | 'done' | 'failed';
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly frames: number;
  readonly error: string | null;
}

/** `/ui`: what the API pushes to browsers. Browsers send nothing on this namespace. */
export interface ServerToUiEvents {
  'capture:status': (status: UiCaptureStatus) => void;
  'session:opened': (session: UiSessionOpened) => void;
  'session:updated': (session: UiSessionUpdated) => void;
  'session:closed': (session: UiSessionClosed) => void;
  mail: (mail: UiMail) => void;
  stats: (tick: UiStatsTick) => void;
  'upload:progress': (progress: UiUploadProgress) => void;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface UiToServerEvents {}
