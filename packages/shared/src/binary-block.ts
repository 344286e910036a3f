/**
 * What the binary blocks of a batch (packet-block.ts, timeline-block.ts) share: a 12-byte header
 * (u32 LE magic, record count, string count), then the table of distinct texts (per string, a u32
 * LE byte length and its UTF-8 bytes), then the records, which name texts by their index.
 */

/** Bytes of a block's header. */
export const BLOCK_HEADER_BYTES = 12;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Collects the distinct texts of a block while its records are counted, then writes them. */
export class StringTable {
  private readonly index = new Map<string, number>();
  readonly strings: string[] = [];
  /** At most how many bytes `write` takes. */
  bound = 0;

  intern(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.index.set(s, i);
      this.strings.push(s);
      this.bound += 4 + 3 * s.length;
    }
    return i;
  }

  /** The index of a text `intern` was given. */
  of(s: string): number {
    return this.index.get(s)!;
  }

  /** Writes the table at `at`; returns where it ends. */
  write(out: Uint8Array, view: DataView, at: number): number {
    for (const s of this.strings) {
      const { written } = encoder.encodeInto(s, out.subarray(at + 4));
      view.setUint32(at, written, true);
      at += 4 + written;
    }
    return at;
  }
}

/** What a block's header says, checked: its record count, its strings, where its records start. */
export interface OpenedBlock {
  readonly ok: true;
  readonly view: DataView;
  readonly count: number;
  readonly strings: string[];
  readonly at: number;
}

export interface BlockShape {
  /** The block's magic number (its 4 first bytes, little-endian). */
  readonly magic: number;
  /** 'packet', 'timeline': for the messages. */
  readonly name: string;
  /** 'packets', 'entries': for the messages. */
  readonly records: string;
  readonly maxRecords: number;
  /** Texts one record can name at most. */
  readonly stringsPerRecord: number;
  /** Fixed bytes of a record. */
  readonly recordBytes: number;
}

/**
 * Reads and checks a block's header and string table: a block too short, of another kind, with
 * more records than allowed, or with more strings or records than it can hold is refused before
 * anything is allocated for it. Errors do not name the block (the caller prefixes them).
 */
export function openBlock(block: Uint8Array, shape: BlockShape): OpenedBlock | { readonly ok: false; readonly error: string } {
  const size = block.byteLength;
  if (size < BLOCK_HEADER_BYTES) return { ok: false, error: `a ${shape.name} block has at least ${BLOCK_HEADER_BYTES} bytes (has ${size})` };
  const view = new DataView(block.buffer, block.byteOffset, size);
  if (view.getUint32(0, true) !== shape.magic) return { ok: false, error: `not a ${shape.name} block (wrong magic number)` };
  const count = view.getUint32(4, true);
  if (count > shape.maxRecords) return { ok: false, error: `${count} ${shape.records}, at most ${shape.maxRecords} per batch` };
  const table = readStringTable(block, view, BLOCK_HEADER_BYTES, view.getUint32(8, true), count * shape.stringsPerRecord, `${count} ${shape.records}`);
  if (!table.ok) return table;
  if (count * shape.recordBytes > size - table.end) return { ok: false, error: `${count} ${shape.name} records cannot fit in the block` };
  return { ok: true, view, count, strings: table.strings, at: table.end };
}

/**
 * '' when `strings[index]` exists and has at most `max` characters; else why not, naming the
 * record's field (`packets/3/info: ...`).
 */
export function checkText(strings: readonly string[], field: string, index: number, max: number): string {
  if (index >= strings.length) return `${field}: string ${index} does not exist (the block has ${strings.length})`;
  const n = strings[index]!.length;
  return n > max ? `${field}: must be at most ${max} characters (has ${n})` : '';
}

type StringTableRead = { readonly ok: true; readonly strings: string[]; readonly end: number } | { readonly ok: false; readonly error: string };

/**
 * Reads `count` strings from `at`. Refuses a count that the block cannot hold (each string takes
 * at least its 4-byte length) or that is above `max` (what the block's records can name) before
 * allocating for it, and a string that runs past the end.
 */
function readStringTable(block: Uint8Array, view: DataView, at: number, count: number, max: number, what: string): StringTableRead {
  const size = block.byteLength;
  if (count > (size - at) / 4) return { ok: false, error: `${count} strings cannot fit in ${size} bytes` };
  // A table of millions of empty strings would cost a hostile sender nothing and the decoder seconds.
  if (count > max) return { ok: false, error: `${count} strings for ${what}, which name at most ${max}` };
  const strings = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    if (at + 4 > size) return { ok: false, error: `string ${i} runs past the end of the block` };
    const n = view.getUint32(at, true);
    at += 4;
    if (n > size - at) return { ok: false, error: `string ${i} runs past the end of the block` };
    strings[i] = decodeText(block, at, n);
    at += n;
  }
  return { ok: true, strings, end: at };
}

/** UTF-8 bytes as text; bytes that are not UTF-8 become U+FFFD, as JSON text from a socket would. */
function decodeText(block: Uint8Array, at: number, n: number): string {
  // ASCII, the usual case: checked byte by byte, then one latin1 slice where the block is a
  // Buffer (as socket.io delivers it: native and cheap for short strings), else one
  // String.fromCharCode of the bytes (a block transferred from a worker is a plain Uint8Array).
  if (n <= 256) {
    const end = at + n;
    for (let k = at; k < end; k++) if (block[k]! > 0x7f) return decoder.decode(block.subarray(at, end));
    const latin1 = (block as { latin1Slice?: (start: number, end: number) => string }).latin1Slice;
    if (latin1 !== undefined) return latin1.call(block, at, end);
    return String.fromCharCode.apply(null, block.subarray(at, end) as unknown as number[]);
  }
  return decoder.decode(block.subarray(at, at + n));
}

/** '' when `v` is one of the protocol's numbers from 1 (frame number, session id, seq); else why not, naming `field`. */
export function checkId(field: string, v: number): string {
  return v >= 1 && v <= 0x7fffffff ? '' : `${field}: must be from 1 to 2147483647 (is ${v})`;
}

/** '' when `v` is a time in µs (`isMicros`); else why not, naming `field`. */
export function checkMicros(field: string, v: number): string {
  return isMicros(v) ? '' : `${field}: must be a whole number of µs from 0 to 2^53 - 1 (is ${v})`;
}

/** A whole number that fits in a u32 field. */
export const isU32 = (v: number): boolean => v >>> 0 === v;
/** A time or duration in µs: a whole number from 0 to 2^53 - 1. */
export const isMicros = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;
