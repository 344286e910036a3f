/**
 * Streaming reader for pcap and pcapng files: bytes go in as chunks of any size (even one byte),
 * frames come out as they complete. The format is detected from the first four bytes.
 *
 * Formats:
 * - pcap (libpcap): magic a1b2c3d4 (µs) and a1b23c4d (ns) in either byte order, and the
 *   modified/Kuznetzov magic a1b2cd34 (µs, 24-byte record header).
 * - pcapng (draft-ietf-opsawg-pcapng): sections in either byte order, IDB (link type, snap length,
 *   `if_tsresol` in both the 10^-n and 2^-n forms, `if_tsoffset`), EPB, SPB, OPB (obsolete packet
 *   block, type 2); every other block is skipped by its length.
 *
 * Memory: a frame that lies inside one chunk is handed out as a view into that chunk. Only a
 * record or block that spans chunks is copied, into one reusable carry buffer, so the reader never
 * holds more than `maxCaptureRecordBytes` (plus a header) whatever the input.
 *
 * Errors are values, never exceptions. A fatal error (the stream cannot be framed any more) stops
 * the reader; a problem confined to one pcapng block (an EPB naming an unknown interface, a
 * captured length larger than its block) skips that block and is counted in `warningCount`.
 */
import type { Frame } from './types.ts';
import { DEFAULT_LIMITS } from './limits.ts';

/** The container format, known once the first four bytes are in. */
export type CaptureFormat = 'pcap' | 'pcapng';

/** Why a capture could not be read (fatal) or why one block was skipped (warning). */
export interface CaptureError {
  /**
   * NOT_A_CAPTURE: the first bytes are no pcap/pcapng magic. TRUNCATED: the input ended inside a
   * header, record or block. CORRUPT: a length field makes the rest unframeable (fatal), or one
   * block's content is inconsistent (warning). RECORD_TOO_LARGE: a record or block is longer
   * than `maxCaptureRecordBytes`. UNSUPPORTED: a version this reader does not know.
   */
  readonly code: 'NOT_A_CAPTURE' | 'TRUNCATED' | 'CORRUPT' | 'RECORD_TOO_LARGE' | 'UNSUPPORTED';
  readonly message: string;
  /** Byte offset in the input of the header, record or block at fault. */
  readonly offset: number;
}

/** Reader options; anything left out comes from `DEFAULT_LIMITS`. */
export interface CaptureReaderOptions {
  /**
   * Longest pcap record (its captured bytes) accepted; a pcapng block may be 1024 bytes longer,
   * for its own fields and options. Blocks of every type count, including skipped ones.
   */
  readonly maxCaptureRecordBytes?: number;
}

/** Warnings kept in `warnings`; later ones are only counted, so a hostile file cannot grow memory. */
const MAX_KEPT_WARNINGS = 64;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const BLOCK_IDB = 1;
const BLOCK_OPB = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;

/** Room for a pcapng block's own fields and options around a packet of the maximum size. */
const BLOCK_OVERHEAD = 1024;

const TWO_POW_32 = 4294967296;

const ST_START = 0;
const ST_PCAP = 1;
const ST_PCAPNG = 2;
const ST_DONE = 3;

/** How one pcapng interface turns its 64-bit timestamps into µs. */
interface PcapngInterface {
  readonly linkType: number;
  readonly snaplen: number;
  /** True for the default 10^-6 resolution and no offset: ts = hi * 2^32 + lo. */
  readonly plainMicros: boolean;
  /** Resolution 10^-n (`pow2` false) or 2^-n (`pow2` true). */
  readonly exp: number;
  readonly pow2: boolean;
  /** `if_tsoffset` in µs. */
  readonly offsetUs: number;
}

/**
 * Converts a pcapng timestamp of a non-µs interface to µs since the epoch, rounding down.
 * Resolutions 10^-7..10^-9 use exact number arithmetic (2^32 = A * d + B, so raw / d =
 * hi * A + (hi * B + lo) / d); everything else goes through BigInt, which is rare.
 */
function slowTs(iface: PcapngInterface, hi: number, lo: number): number {
  if (!iface.pow2) {
    if (iface.exp === 6) return hi * TWO_POW_32 + lo + iface.offsetUs;
    if (iface.exp < 6) return (hi * TWO_POW_32 + lo) * 10 ** (6 - iface.exp) + iface.offsetUs;
    if (iface.exp <= 9) {
      const d = 10 ** (iface.exp - 6);
      const a = Math.floor(TWO_POW_32 / d);
      const b = TWO_POW_32 - a * d;
      return hi * a + Math.floor((hi * b + lo) / d) + iface.offsetUs;
    }
  }
  const raw = (BigInt(hi) << 32n) | BigInt(lo);
  const us = iface.pow2
    ? (raw * 1_000_000n) >> BigInt(iface.exp)
    : raw / 10n ** BigInt(iface.exp - 6);
  return Number(us) + iface.offsetUs;
}

/**
 * Streaming pcap/pcapng reader.
 *
 * Call order: `push` any number of times, then `end` once. Frames are numbered from 1 in file
 * order. `Frame.data` is a view into the pushed chunk or into the reader's carry buffer, valid
 * only during the `onFrame` call: copy what you keep. `onFrame` must not throw (if it does, the
 * exception propagates and the reader's state is unspecified).
 */
export class CaptureReader {
  private readonly maxRecord: number;
  private state = ST_START;
  private le = true;
  private nanos = false;
  private pcapRecordHeader = 16;
  private pcapLinkType = 0;
  private readonly interfaces: PcapngInterface[] = [];
  private lastTs = 0;
  /** Input offset of the unit (header, record, block) being read. */
  private offset = 0;
  private carry: Uint8Array = new Uint8Array(0);
  private carryView: DataView = new DataView(this.carry.buffer);
  private carryLen = 0;
  private fatal: CaptureError | undefined;
  private readonly kept: CaptureError[] = [];
  private frames = 0;
  private read = 0;
  private warningsSeen = 0;
  private fmt: CaptureFormat | undefined;

  /** `limits.maxCaptureRecordBytes` bounds a record's captured bytes (pcap) or a block (pcapng). */
  constructor(limits?: CaptureReaderOptions) {
    this.maxRecord = limits?.maxCaptureRecordBytes ?? DEFAULT_LIMITS.maxCaptureRecordBytes;
  }

  /** The fatal error so far (including the one `end` found), or undefined. */
  get error(): CaptureError | undefined {
    return this.fatal;
  }

  /** Detected format; undefined until the first four bytes have been pushed. */
  get format(): CaptureFormat | undefined {
    return this.fmt;
  }

  /** Frames delivered so far. */
  get frameCount(): number {
    return this.frames;
  }

  /** Bytes accepted by `push` (pushes after a fatal error or `end` are not counted). */
  get bytesRead(): number {
    return this.read;
  }

  /** Non-fatal problems: one pcapng block skipped each. At most 64 are kept; see `warningCount`. */
  get warnings(): readonly CaptureError[] {
    return this.kept;
  }

  /** Number of non-fatal problems, including those not kept in `warnings`. */
  get warningCount(): number {
    return this.warningsSeen;
  }

  /**
   * Feeds the next chunk; calls `onFrame` synchronously for every frame it completes. `Frame.data`
   * is a view valid only during the callback. The chunk itself is not kept past the call. After a
   * fatal error or `end`, further pushes do nothing.
   */
  push(chunk: Uint8Array, onFrame: (f: Frame) => void): void {
    if (this.fatal !== undefined || this.state === ST_DONE) return;
    this.read += chunk.length;
    let pos = 0;
    const n = chunk.length;
    if (this.carryLen > 0) {
      while (true) {
        const need = this.unitLength(this.carryView, 0, this.carryLen);
        if (need < 0) return;
        if (this.carryLen >= need) {
          this.carryLen = 0;
          this.unit(this.carry, this.carryView, 0, need, onFrame);
          this.offset += need;
          if (this.fatal !== undefined) return;
          break;
        }
        if (pos === n) return;
        const take = Math.min(need - this.carryLen, n - pos);
        this.ensureCarry(need);
        this.carry.set(chunk.subarray(pos, pos + take), this.carryLen);
        this.carryLen += take;
        pos += take;
      }
    }
    if (pos === n) return;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (pos < n) {
      const avail = n - pos;
      const need = this.unitLength(view, pos, avail);
      if (need < 0) return;
      if (avail < need) {
        this.ensureCarry(need);
        this.carry.set(chunk.subarray(pos), 0);
        this.carryLen = avail;
        return;
      }
      this.unit(chunk, view, pos, need, onFrame);
      if (this.fatal !== undefined) return;
      pos += need;
      this.offset += need;
    }
  }

  /**
   * End of input. Reports TRUNCATED when a partial header, record or block is left over, and
   * NOT_A_CAPTURE for an empty input. Returns the error (fatal, or found now), if any; it is also
   * available as `error` afterwards.
   */
  end(): CaptureError | undefined {
    if (this.fatal !== undefined || this.state === ST_DONE) return this.fatal;
    if (this.read === 0) {
      this.fail('NOT_A_CAPTURE', 'empty input', 0);
    } else if (this.carryLen > 0 || this.state === ST_START) {
      this.fail('TRUNCATED', `input ended ${this.carryLen} bytes into a ${this.unitName()}`, this.offset);
    }
    this.carryLen = 0;
    this.state = ST_DONE;
    return this.fatal;
  }

  private unitName(): string {
    if (this.state === ST_PCAP) return 'pcap record';
    if (this.state === ST_PCAPNG) return 'pcapng block';
    return 'file header';
  }

  private ensureCarry(size: number): void {
    if (this.carry.length >= size) return;
    const grown = new Uint8Array(Math.max(size, this.carry.length * 2, 4096));
    grown.set(this.carry.subarray(0, this.carryLen));
    this.carry = grown;
    this.carryView = new DataView(grown.buffer);
  }

  private fail(code: CaptureError['code'], message: string, offset: number): void {
    this.fatal = { code, message, offset };
  }

  private warn(code: CaptureError['code'], message: string, offset: number): void {
    this.warningsSeen++;
    if (this.kept.length < MAX_KEPT_WARNINGS) this.kept.push({ code, message, offset });
  }

  /**
   * Length of the unit starting at `off`: its full length once its header is in `avail`,
   * otherwise the header's length (always <= the full length). -1 after a fatal error.
   */
  private unitLength(v: DataView, off: number, avail: number): number {
    if (this.state === ST_PCAP) {
      const h = this.pcapRecordHeader;
      if (avail < h) return h;
      const incl = v.getUint32(off + 8, this.le);
      if (incl > this.maxRecord) {
        this.fail('RECORD_TOO_LARGE', `pcap record of ${incl} bytes exceeds the limit of ${this.maxRecord}`, this.offset);
        return -1;
      }
      return h + incl;
    }
    if (this.state === ST_PCAPNG) return this.blockLength(v, off, avail);
    if (avail < 4) return 4;
    const m = v.getUint32(off, false);
    if (m === PCAPNG_SHB) {
      this.state = ST_PCAPNG;
      this.fmt = 'pcapng';
      return this.blockLength(v, off, avail);
    }
    if (m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xa1b2cd34) this.le = false;
    else if (m === 0xd4c3b2a1 || m === 0x4d3cb2a1 || m === 0x34cdb2a1) this.le = true;
    else {
      this.fail('NOT_A_CAPTURE', 'no pcap or pcapng magic at the start of the input', 0);
      return -1;
    }
    this.fmt = 'pcap';
    return 24;
  }

  private blockLength(v: DataView, off: number, avail: number): number {
    if (avail < 8) return 8;
    const type = v.getUint32(off, this.le);
    if (type === PCAPNG_SHB) {
      if (avail < 12) return 12;
      const bom = v.getUint32(off + 8, true);
      if (bom === PCAPNG_BOM) this.le = true;
      else if (bom === 0x4d3c2b1a) this.le = false;
      else {
        this.fail('CORRUPT', 'section header block without a valid byte-order magic', this.offset);
        return -1;
      }
    }
    const len = v.getUint32(off + 4, this.le);
    if (len < 12 || len % 4 !== 0 || (type === PCAPNG_SHB && len < 28)) {
      this.fail('CORRUPT', `pcapng block length ${len} is invalid`, this.offset);
      return -1;
    }
    if (len > this.maxRecord + BLOCK_OVERHEAD) {
      this.fail('RECORD_TOO_LARGE', `pcapng block of ${len} bytes exceeds the limit of ${this.maxRecord}`, this.offset);
      return -1;
    }
    return len;
  }

  /** Handles one complete unit of `len` bytes at `off`. */
  private unit(b: Uint8Array, v: DataView, off: number, len: number, onFrame: (f: Frame) => void): void {
    const le = this.le;
    if (this.state === ST_PCAP) {
      const h = this.pcapRecordHeader;
      const sec = v.getUint32(off, le);
      const frac = v.getUint32(off + 4, le);
      const ts = sec * 1_000_000 + (this.nanos ? Math.floor(frac / 1000) : frac);
      this.lastTs = ts;
      onFrame({
        no: ++this.frames,
        ts,
        linkType: this.pcapLinkType,
        data: b.subarray(off + h, off + len),
        origLen: v.getUint32(off + 12, le),
      });
      return;
    }
    if (this.state === ST_PCAPNG) {
      this.block(b, v, off, len, onFrame);
      return;
    }
    // pcap file header
    const magic = v.getUint32(off, false);
    const major = v.getUint16(off + 4, le);
    if (major !== 2) {
      this.fail('UNSUPPORTED', `pcap version ${major} is not supported`, 0);
      return;
    }
    this.nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    this.pcapRecordHeader = magic === 0xa1b2cd34 || magic === 0x34cdb2a1 ? 24 : 16;
    // The top bits carry the FCS length and flags (libpcap's LT_LINKTYPE mask).
    this.pcapLinkType = v.getUint32(off + 20, le) & 0x03ffffff;
    this.state = ST_PCAP;
  }

  private block(b: Uint8Array, v: DataView, off: number, len: number, onFrame: (f: Frame) => void): void {
    const le = this.le;
    if (v.getUint32(off + len - 4, le) !== len) {
      this.fail('CORRUPT', 'pcapng block trailing length differs from its leading length', this.offset);
      return;
    }
    const type = v.getUint32(off, le);
    switch (type) {
      case BLOCK_EPB:
      case BLOCK_OPB: {
        if (len < 32) {
          this.warn('CORRUPT', 'packet block too short', this.offset);
          return;
        }
        const ifId = type === BLOCK_EPB ? v.getUint32(off + 8, le) : v.getUint16(off + 8, le);
        const iface = this.interfaces[ifId];
        if (iface === undefined) {
          this.warn('CORRUPT', `packet block names unknown interface ${ifId}`, this.offset);
          return;
        }
        const capLen = v.getUint32(off + 20, le);
        if (capLen > len - 32) {
          this.warn('CORRUPT', `captured length ${capLen} exceeds its block`, this.offset);
          return;
        }
        const hi = v.getUint32(off + 12, le);
        const lo = v.getUint32(off + 16, le);
        const ts = iface.plainMicros ? hi * TWO_POW_32 + lo : slowTs(iface, hi, lo);
        this.lastTs = ts;
        onFrame({
          no: ++this.frames,
          ts,
          linkType: iface.linkType,
          data: b.subarray(off + 28, off + 28 + capLen),
          origLen: v.getUint32(off + 24, le),
        });
        return;
      }
      case BLOCK_SPB: {
        const iface = this.interfaces[0];
        if (iface === undefined || len < 16) {
          this.warn('CORRUPT', 'simple packet block without interface 0', this.offset);
          return;
        }
        const origLen = v.getUint32(off + 8, le);
        let capLen = Math.min(origLen, len - 16);
        if (iface.snaplen > 0 && capLen > iface.snaplen) capLen = iface.snaplen;
        onFrame({
          no: ++this.frames,
          ts: this.lastTs,
          linkType: iface.linkType,
          data: b.subarray(off + 12, off + 12 + capLen),
          origLen,
        });
        return;
      }
      case BLOCK_IDB:
        this.interfaceBlock(v, off, len);
        return;
      case PCAPNG_SHB: {
        const major = v.getUint16(off + 12, le);
        if (major !== 1) {
          this.fail('UNSUPPORTED', `pcapng version ${major} is not supported`, this.offset);
          return;
        }
        this.interfaces.length = 0;
        return;
      }
      default:
        return;
    }
  }

  private interfaceBlock(v: DataView, off: number, len: number): void {
    const le = this.le;
    if (len < 20) {
      this.warn('CORRUPT', 'interface description block too short', this.offset);
      // Keep interface numbering aligned with the file even though this one is unusable.
      this.interfaces.push({ linkType: 0xffff, snaplen: 0, plainMicros: true, exp: 6, pow2: false, offsetUs: 0 });
      return;
    }
    const linkType = v.getUint16(off + 8, le);
    const snaplen = v.getUint32(off + 12, le);
    let exp = 6;
    let pow2 = false;
    let offsetUs = 0;
    let p = off + 16;
    const end = off + len - 4;
    while (p + 4 <= end) {
      const code = v.getUint16(p, le);
      const olen = v.getUint16(p + 2, le);
      const val = p + 4;
      if (code === 0 || val + olen > end) break;
      if (code === 9 && olen >= 1) {
        const r = v.getUint8(val);
        pow2 = (r & 0x80) !== 0;
        exp = r & 0x7f;
      } else if (code === 14 && olen >= 8) {
        offsetUs = Number(v.getBigInt64(val, le)) * 1_000_000;
      }
      p = val + ((olen + 3) & ~3);
    }
    this.interfaces.push({ linkType, snaplen, plainMicros: !pow2 && exp === 6 && offsetUs === 0, exp, pow2, offsetUs });
  }
}
