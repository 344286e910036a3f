/**
 * A batch as one file of the spool, in the form it travels in (`packBatch`), so that sending it
 * costs a read and the parse of a few ids rather than encoding every record again:
 *
 *     "MSB2", u32 LE lengths of the JSON, of the records, of the timeline block and of the packet block,
 *     the JSON of the wire batch's ids (captureId first, batchId, seq),
 *     its four binary parts: the records' JSON, the timeline block (timeline-block.ts), the packet
 *     block (packet-block.ts), the mails' bytes.
 *
 * Files written by agents before Nov 2026 (`MSB1`: the JSON of the batch with every `raw` replaced
 * by `[offset, length]` into the blob area after it) are still read, so a spool left by an older
 * agent is sent after an upgrade.
 */
import type { BatchPayload, WireBatchPayload } from '@mailscope/shared/agent-protocol';
import { packBatch, validateBatch } from '@mailscope/shared/agent-protocol';

const MAGIC = Buffer.from('MSB2');
const MAGIC_V1 = Buffer.from('MSB1');
const HEAD = 20;

/** A capture id (a uuid) as text. */
export const UUID_PATTERN = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const CAPTURE_ID_AT_START = new RegExp(`^\\{"captureId":"(${UUID_PATTERN})"`);

type RawRef = readonly [number, number];

/** Encodes a batch; the result owns its bytes. */
export function encodeBatch(batch: BatchPayload): Buffer {
  const { packets, timeline, records, mailBytes, ...ids } = packBatch(batch);
  const text = Buffer.from(JSON.stringify(ids), 'utf8');
  const head = Buffer.alloc(HEAD);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(text.byteLength, 4);
  head.writeUInt32LE(records.byteLength, 8);
  head.writeUInt32LE(timeline.byteLength, 12);
  head.writeUInt32LE(packets.byteLength, 16);
  return Buffer.concat([head, text, records, timeline, packets, mailBytes]);
}

/**
 * The wire form of a spooled batch, ready to send (the binary parts are views of `file`); throws
 * on a file that is not one (cut short, other format). Not validated: the API does that.
 */
export function decodeWire(file: Buffer): WireBatchPayload {
  if (file.byteLength >= 8 && file.subarray(0, 4).equals(MAGIC_V1)) return packBatch(decodeV1(file));
  if (file.byteLength < HEAD || !file.subarray(0, 4).equals(MAGIC)) throw new Error('not a spooled batch');
  const [jsonLen, recordsLen, timelineLen, blockLen] = [4, 8, 12, 16].map((at) => file.readUInt32LE(at)) as [number, number, number, number];
  if (HEAD + jsonLen + recordsLen + timelineLen + blockLen > file.byteLength) throw new Error('spooled batch cut short');
  const ids = JSON.parse(file.toString('utf8', HEAD, HEAD + jsonLen)) as Pick<WireBatchPayload, 'captureId' | 'batchId' | 'seq'>;
  let at = HEAD + jsonLen;
  const part = (n: number): Buffer => file.subarray(at, (at += n));
  const records = part(recordsLen);
  const timeline = part(timelineLen);
  const packets = part(blockLen);
  return { captureId: ids.captureId, batchId: ids.batchId, seq: ids.seq, packets, timeline, records, mailBytes: file.subarray(at) };
}

/**
 * The capture id at the start of a spooled batch's JSON, from the first bytes of its file (undefined
 * when they do not show it: not a batch, or one whose JSON does not start with it).
 */
export function captureIdOfHead(head: Buffer): string | undefined {
  const at = head.subarray(0, 4).equals(MAGIC_V1) ? 8 : HEAD;
  const m = CAPTURE_ID_AT_START.exec(head.toString('utf8', at));
  return m === null ? undefined : m[1]!.toLowerCase();
}

/** A spooled batch with its records (each packet and mail with its bytes); throws like `decodeWire`, or on a batch that does not validate. */
export function decodeBatch(file: Buffer): BatchPayload {
  const checked = validateBatch(decodeWire(file));
  if (!checked.ok) throw new Error(`spooled batch: ${checked.error}`);
  return checked.value;
}

/** An `MSB1` file. */
function decodeV1(file: Buffer): BatchPayload {
  const jsonLen = file.readUInt32LE(4);
  if (8 + jsonLen > file.byteLength) throw new Error('spooled batch cut short');
  const base = 8 + jsonLen;
  const parsed = JSON.parse(file.toString('utf8', 8, base)) as Omit<BatchPayload, 'packets' | 'mails'> & {
    packets: (Omit<BatchPayload['packets'][number], 'raw'> & { raw: RawRef })[];
    mails: (Omit<BatchPayload['mails'][number], 'raw'> & { raw?: RawRef })[];
  };
  const bytes = ([off, len]: RawRef): Uint8Array => {
    if (base + off + len > file.byteLength) throw new Error('spooled batch cut short');
    return file.subarray(base + off, base + off + len);
  };
  return {
    ...parsed,
    packets: parsed.packets.map((p) => ({ ...p, raw: bytes(p.raw) })),
    mails: parsed.mails.map((m) => (m.raw === undefined ? (m as BatchPayload['mails'][number]) : { ...m, raw: bytes(m.raw) })),
  };
}

/** Records in a batch (what `capture:status` counts as queued). */
export function batchRecords(batch: BatchPayload): number {
  return batch.packets.length + batch.sessions.length + batch.timeline.length + batch.mails.length;
}
