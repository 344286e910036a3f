/**
 * The wire form of a batch's packet records: one binary block instead of a JSON array of objects.
 *
 * Why: packet records are 90 % of a batch's records. As JSON, the API spent more CPU per record on
 * them (parsing the text, checking every object against the schema, copying it to attach its
 * frame) than PostgreSQL spent storing it, and the agent as much again stringifying them. Here a
 * record is 64 fixed bytes, its texts are indices into a table of distinct strings (a batch has a
 * handful of addresses and protocols, repeated on every packet), and its frame bytes follow the
 * records, in packet order.
 *
 * Layout, integers little-endian:
 *
 *     u32 magic "MSP1"   u32 packet count   u32 string count
 *     strings:  per string, u32 byte length and its UTF-8 bytes
 *     records:  per packet, 64 bytes (RECORD below), then u32 string indices of its tcpAnalysis
 *     frames:   per packet, capturedLength bytes
 *
 * `decodePacketBlock` checks everything the schema of a packet record says (ranges, lengths of the
 * texts, the closed set of fields) and that the block holds exactly what its counts say; it reads
 * nothing out of bounds and allocates nothing in proportion to a count it has not checked against
 * the block's size. Each decoded packet's `raw` is a view into the block.
 */
import { AGENT_PROTOCOL_LIMITS as L } from './agent-limits.ts';
import type { BatchPacket } from './agent-protocol.ts';
import { BLOCK_HEADER_BYTES, StringTable, checkId, checkMicros, checkText, isMicros, isU32, openBlock } from './binary-block.ts';

const MAGIC = 0x3150534d; // "MSP1" read little-endian
/** Fixed bytes per record; the offsets are in `encodePacketBlock` / `decodePacketBlock`. */
const RECORD = 64;

/** Bits of a record's `present` field: which optional fields it has. */
const HAS_SRC_PORT = 1;
const HAS_DST_PORT = 2;
const HAS_TCP_FLAGS = 4;
const HAS_SEQ = 8;
const HAS_ACK = 16;
const HAS_PAYLOAD_LENGTH = 32;
const HAS_SESSION = 64;
const HAS_DIR = 128;
const DIR_SERVER = 256;
const KNOWN_BITS = 511;

/** A packet record as the engine makes it (its PacketRecord): the fields of a BatchPacket but its frame's. */
export type EnginePacketFields = Omit<BatchPacket, 'type' | 'linkType' | 'raw' | 'capturedLength' | 'tcpAnalysis'> & { readonly tcpAnalysis?: readonly string[] | undefined };

/**
 * The BatchPacket of an engine packet record and its frame (`raw`, at most the protocol's frame
 * size: `capturedLength` is its length; `tcpAnalysis` cut to the protocol's maxTcpAnalysis). Every field
 * is named, in one order, undefined where the engine gave none: records made by spreading the
 * engine's were ~5x slower to encode (0.55 against 5.9 µs a packet), as V8 did not give them one
 * fast shape.
 */
export function batchPacket(e: EnginePacketFields, linkType: number, raw: Uint8Array): BatchPacket {
  const a = e.tcpAnalysis;
  return {
    type: 'packet', no: e.no, ts: e.ts, src: e.src, dst: e.dst, srcPort: e.srcPort, dstPort: e.dstPort, protocol: e.protocol, length: e.length,
    capturedLength: raw.byteLength, tcpFlags: e.tcpFlags, seq: e.seq, ack: e.ack, payloadLength: e.payloadLength, info: e.info,
    sessionId: e.sessionId, dir: e.dir, tcpAnalysis: a === undefined ? undefined : a.slice(0, L.maxTcpAnalysis), linkType, raw,
  };
}

/**
 * `packets` as one block (see the module comment). Each `raw` must be `capturedLength` bytes long.
 * A value its field cannot hold (a port past 65535, a fraction, ...) throws a RangeError rather
 * than being cut to fit: the engine never makes one, and a silently changed record would be stored.
 */
export function encodePacketBlock(packets: readonly BatchPacket[]): Uint8Array {
  const table = new StringTable();
  let analysis = 0;
  let frameBytes = 0;
  for (const p of packets) {
    checkEncodable(p);
    table.intern(p.src);
    table.intern(p.dst);
    table.intern(p.protocol);
    table.intern(p.info);
    if (p.tcpAnalysis !== undefined) {
      analysis += p.tcpAnalysis.length;
      for (const a of p.tcpAnalysis) table.intern(a);
    }
    frameBytes += p.raw.byteLength;
  }
  const out = new Uint8Array(BLOCK_HEADER_BYTES + table.bound + packets.length * RECORD + analysis * 4 + frameBytes);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, packets.length, true);
  view.setUint32(8, table.strings.length, true);
  let at = table.write(out, view, BLOCK_HEADER_BYTES);
  for (const p of packets) {
    let present = 0;
    if (p.srcPort !== undefined) present |= HAS_SRC_PORT;
    if (p.dstPort !== undefined) present |= HAS_DST_PORT;
    if (p.tcpFlags !== undefined) present |= HAS_TCP_FLAGS;
    if (p.seq !== undefined) present |= HAS_SEQ;
    if (p.ack !== undefined) present |= HAS_ACK;
    if (p.payloadLength !== undefined) present |= HAS_PAYLOAD_LENGTH;
    if (p.sessionId !== undefined) present |= HAS_SESSION;
    if (p.dir !== undefined) present |= p.dir === 'server' ? HAS_DIR | DIR_SERVER : HAS_DIR;
    const tcpAnalysis = p.tcpAnalysis ?? [];
    view.setUint32(at, p.no, true);
    view.setFloat64(at + 4, p.ts, true);
    view.setUint32(at + 12, table.of(p.src), true);
    view.setUint32(at + 16, table.of(p.dst), true);
    view.setUint32(at + 20, table.of(p.protocol), true);
    view.setUint32(at + 24, table.of(p.info), true);
    view.setUint32(at + 28, p.length, true);
    view.setUint32(at + 32, p.capturedLength, true);
    view.setUint32(at + 36, p.seq ?? 0, true);
    view.setUint32(at + 40, p.ack ?? 0, true);
    view.setUint32(at + 44, p.payloadLength ?? 0, true);
    view.setUint32(at + 48, p.sessionId ?? 0, true);
    view.setUint16(at + 52, p.srcPort ?? 0, true);
    view.setUint16(at + 54, p.dstPort ?? 0, true);
    view.setUint16(at + 56, p.tcpFlags ?? 0, true);
    view.setUint16(at + 58, p.linkType, true);
    view.setUint16(at + 60, present, true);
    view.setUint16(at + 62, tcpAnalysis.length, true);
    at += RECORD;
    for (const a of tcpAnalysis) {
      view.setUint32(at, table.of(a), true);
      at += 4;
    }
  }
  for (const p of packets) {
    out.set(p.raw, at);
    at += p.raw.byteLength;
  }
  return out.subarray(0, at);
}

/**
 * At most how many bytes `p` adds to a block: its record, its frame, and its texts as if none were
 * shared. A block of packets whose bounds add up to N has at most N + BLOCK_HEADER_BYTES.
 */
export function packetBlockBound(p: BatchPacket): number {
  let n = RECORD + p.raw.byteLength + 16 + 3 * (p.src.length + p.dst.length + p.protocol.length + p.info.length);
  if (p.tcpAnalysis !== undefined) for (const a of p.tcpAnalysis) n += 8 + 3 * a.length;
  return n;
}

export type PacketBlockResult = { readonly ok: true; readonly packets: BatchPacket[] } | { readonly ok: false; readonly error: string };

/**
 * The packets of a block made by `encodePacketBlock`, checked against the protocol's bounds;
 * errors name the packet (`packets/3/srcPort: ...`) or the part of the block at fault.
 */
export function decodePacketBlock(block: Uint8Array): PacketBlockResult {
  // Errors of one record name it (`packets/3/srcPort: ...`); the others, the block.
  const fail = (error: string): PacketBlockResult => ({ ok: false, error: error.startsWith('packets/') ? error : `packets: ${error}` });
  const opened = openBlock(block, { magic: MAGIC, name: 'packet', records: 'packets', maxRecords: L.maxBatchPackets, stringsPerRecord: 4 + L.maxTcpAnalysis, recordBytes: RECORD });
  if (!opened.ok) return fail(opened.error);
  const { view, count, strings } = opened;
  const size = block.byteLength;
  let at = opened.at;
  const text = (i: number, field: string, index: number, max: number): string => checkText(strings, `packets/${i}/${field}`, index, max);
  const packets = new Array<BatchPacket>(count);
  let frameTotal = 0;
  for (let i = 0; i < count; i++) {
    if (at + RECORD > size) return fail(`packet ${i} runs past the end of the block`);
    const no = view.getUint32(at, true);
    const ts = view.getFloat64(at + 4, true);
    const src = view.getUint32(at + 12, true);
    const dst = view.getUint32(at + 16, true);
    const protocol = view.getUint32(at + 20, true);
    const info = view.getUint32(at + 24, true);
    const length = view.getUint32(at + 28, true);
    const capturedLength = view.getUint32(at + 32, true);
    const present = view.getUint16(at + 60, true);
    const analysisCount = view.getUint16(at + 62, true);
    const range = checkId(`packets/${i}/no`, no) || checkMicros(`packets/${i}/ts`, ts);
    if (range !== '') return fail(range);
    if (length > 0x7fffffff) return fail(`packets/${i}/length: must be at most 2147483647 (is ${length})`);
    if (capturedLength > L.maxFrameBytes) return fail(`packets/${i}/capturedLength: must be at most ${L.maxFrameBytes} (is ${capturedLength})`);
    if ((present & ~KNOWN_BITS) !== 0) return fail(`packets/${i}: unknown fields (flags 0x${present.toString(16)})`);
    if ((present & DIR_SERVER) !== 0 && (present & HAS_DIR) === 0) return fail(`packets/${i}/dir: a direction flag without a direction`);
    const bad =
      text(i, 'src', src, L.maxAddressChars) || text(i, 'dst', dst, L.maxAddressChars) ||
      text(i, 'protocol', protocol, L.maxProtocolChars) || text(i, 'info', info, L.maxLineChars);
    if (bad !== '') return fail(bad);
    const p: BatchPacket = {
      type: 'packet', no, ts, src: strings[src]!, dst: strings[dst]!, protocol: strings[protocol]!, length, capturedLength,
      info: strings[info]!, linkType: view.getUint16(at + 58, true), raw: EMPTY,
    };
    if ((present & HAS_SRC_PORT) !== 0) p.srcPort = view.getUint16(at + 52, true);
    if ((present & HAS_DST_PORT) !== 0) p.dstPort = view.getUint16(at + 54, true);
    if ((present & HAS_TCP_FLAGS) !== 0) {
      const flags = view.getUint16(at + 56, true);
      if (flags > 0xfff) return fail(`packets/${i}/tcpFlags: must be at most 4095 (is ${flags})`);
      p.tcpFlags = flags;
    }
    if ((present & HAS_SEQ) !== 0) p.seq = view.getUint32(at + 36, true);
    if ((present & HAS_ACK) !== 0) p.ack = view.getUint32(at + 40, true);
    if ((present & HAS_PAYLOAD_LENGTH) !== 0) {
      const n = view.getUint32(at + 44, true);
      if (n > 0x7fffffff) return fail(`packets/${i}/payloadLength: must be at most 2147483647 (is ${n})`);
      p.payloadLength = n;
    }
    if ((present & HAS_SESSION) !== 0) {
      const s = view.getUint32(at + 48, true);
      const e = checkId(`packets/${i}/sessionId`, s);
      if (e !== '') return fail(e);
      p.sessionId = s;
    }
    if ((present & HAS_DIR) !== 0) p.dir = (present & DIR_SERVER) !== 0 ? 'server' : 'client';
    at += RECORD;
    if (analysisCount > 0) {
      if (analysisCount > L.maxTcpAnalysis) return fail(`packets/${i}/tcpAnalysis: at most ${L.maxTcpAnalysis} items (has ${analysisCount})`);
      if (at + 4 * analysisCount > size) return fail(`packet ${i} runs past the end of the block`);
      const items: string[] = [];
      for (let k = 0; k < analysisCount; k++, at += 4) {
        const j = view.getUint32(at, true);
        const e = text(i, `tcpAnalysis/${k}`, j, L.maxTcpAnalysisChars);
        if (e !== '') return fail(e);
        items.push(strings[j]!);
      }
      p.tcpAnalysis = items;
    }
    packets[i] = p;
    frameTotal += capturedLength;
  }
  if (frameTotal !== size - at) return fail(`the frames take ${size - at} bytes but the packets' capturedLength add up to ${frameTotal}`);
  for (const p of packets) {
    p.raw = new Uint8Array(block.buffer, block.byteOffset + at, p.capturedLength);
    at += p.capturedLength;
  }
  return { ok: true, packets };
}

const EMPTY = new Uint8Array(0);

/** An optional field that is absent, or fits in a u16 / u32 field. */
const u16 = (v: number | undefined): boolean => v === undefined || (v & 0xffff) === v;
const u32 = (v: number | undefined): boolean => v === undefined || isU32(v);

function checkEncodable(p: BatchPacket): void {
  const ok = isU32(p.no) && isMicros(p.ts) && isU32(p.length) && isU32(p.capturedLength) && p.capturedLength === p.raw.byteLength &&
    u32(p.seq) && u32(p.ack) && u32(p.payloadLength) && u32(p.sessionId) &&
    u16(p.srcPort) && u16(p.dstPort) && u16(p.tcpFlags) && u16(p.linkType) && (p.tcpAnalysis?.length ?? 0) <= 0xffff;
  if (!ok) throw new RangeError(`packet ${p.no}: a field out of the range the packet block can hold (or capturedLength ${p.capturedLength} is not the frame's ${p.raw.byteLength} bytes)`);
}
