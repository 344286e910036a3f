/**
 * A batch as one file of the spool: `MSB1`, the JSON of the batch with every `raw` replaced by
 * `[offset, length]` into the blob area, then the blobs. Frames and mails stay bytes on disk (no
 * base64), and read back as views of the file's buffer without a copy.
 */
import type { BatchPayload } from '@mailscope/shared/agent-protocol';

const MAGIC = Buffer.from('MSB1');

type RawRef = readonly [number, number];

/** Encodes a batch; the result owns its bytes. */
export function encodeBatch(batch: BatchPayload): Buffer {
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const ref = (raw: Uint8Array): RawRef => {
    const r: RawRef = [offset, raw.byteLength];
    blobs.push(raw);
    offset += raw.byteLength;
    return r;
  };
  const json = JSON.stringify({
    ...batch,
    packets: batch.packets.map((p) => ({ ...p, raw: ref(p.raw) })),
    mails: batch.mails.map((m) => (m.raw === undefined ? m : { ...m, raw: ref(m.raw) })),
  });
  const text = Buffer.from(json, 'utf8');
  const head = Buffer.alloc(8);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(text.byteLength, 4);
  return Buffer.concat([head, text, ...blobs]);
}

/** Decodes what `encodeBatch` wrote; throws on a file that is not one (cut short, other format). */
export function decodeBatch(file: Buffer): BatchPayload {
  if (file.byteLength < 8 || !file.subarray(0, 4).equals(MAGIC)) throw new Error('not a spooled batch');
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
