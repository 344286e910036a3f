/**
 * Writes classic pcap files (little-endian, version 2.4), e.g. to let a user download one session's
 * packets. Pure: it returns bytes and the caller writes them wherever they go.
 */

/** libpcap's largest snap length (MAXIMUM_SNAPLEN), the default here. */
const DEFAULT_SNAPLEN = 262144;

/** Options of a `PcapWriter`. */
export interface PcapWriterOptions {
  /** Write nanosecond timestamps (magic a1b23c4d); µs inputs then end in 000. Default false. */
  readonly nanosecond?: boolean;
  /** Snap length written in the header; longer frames are cut to it. Default 262144. */
  readonly snaplen?: number;
}

/**
 * Builds a pcap file piece by piece: `header()` once first, then `record()` per frame, in order.
 * Each call returns a new array the caller owns.
 */
export class PcapWriter {
  private readonly linkType: number;
  private readonly nanosecond: boolean;
  private readonly snaplen: number;

  /** `linkType` is the LINKTYPE_* value of every frame that will be written. */
  constructor(linkType: number, opts?: PcapWriterOptions) {
    this.linkType = linkType;
    this.nanosecond = opts?.nanosecond ?? false;
    this.snaplen = opts?.snaplen ?? DEFAULT_SNAPLEN;
  }

  /** The 24-byte file header. */
  header(): Uint8Array {
    const out = new Uint8Array(24);
    const v = new DataView(out.buffer);
    v.setUint32(0, this.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, this.linkType, true);
    return out;
  }

  /**
   * One record: `ts` in µs since the epoch (negative times are written as 0, fractions of a µs
   * dropped), the frame's captured bytes (cut to the snap length) and its length on the wire
   * (default `data.length`).
   */
  record(ts: number, data: Uint8Array, origLen?: number): Uint8Array {
    const incl = Math.min(data.length, this.snaplen);
    const out = new Uint8Array(16 + incl);
    this.writeRecord(out, 0, ts, data, incl, origLen ?? data.length);
    return out;
  }

  /** Writes a record of `incl` bytes into `out` at `at`; used by `writePcap` to avoid copies. */
  writeRecord(out: Uint8Array, at: number, ts: number, data: Uint8Array, incl: number, origLen: number): void {
    const v = new DataView(out.buffer, out.byteOffset + at, 16);
    const us = ts > 0 ? Math.floor(ts) : 0;
    const sec = Math.floor(us / 1_000_000);
    const frac = us - sec * 1_000_000;
    v.setUint32(0, sec, true);
    v.setUint32(4, this.nanosecond ? frac * 1000 : frac, true);
    v.setUint32(8, incl, true);
    v.setUint32(12, Math.max(origLen, incl), true);
    out.set(incl === data.length ? data : data.subarray(0, incl), at + 16);
  }

  /** Captured bytes a frame of `len` bytes takes in a record (the snap length cuts it). */
  capturedLength(len: number): number {
    return Math.min(len, this.snaplen);
  }
}

/**
 * A whole pcap file (µs, little-endian, snap length 262144) of `frames` in the order given.
 * `origLen` defaults to `data.length`.
 */
export function writePcap(linkType: number, frames: Iterable<{ ts: number; data: Uint8Array; origLen?: number }>): Uint8Array {
  const w = new PcapWriter(linkType);
  const list = Array.from(frames);
  let size = 24;
  for (const f of list) size += 16 + w.capturedLength(f.data.length);
  const out = new Uint8Array(size);
  out.set(w.header(), 0);
  let at = 24;
  for (const f of list) {
    const incl = w.capturedLength(f.data.length);
    w.writeRecord(out, at, f.ts, f.data, incl, f.origLen ?? f.data.length);
    at += 16 + incl;
  }
  return out;
}
