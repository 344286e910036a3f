/**
 * Collects the bytes of one mail in transfer (DATA body, BDAT chunks, RETR body) up to the mail
 * limit, counting what goes beyond it, and the frames that carried it. Chunks handed in are views
 * and are copied.
 *
 * The bytes go into blocks that double from 4 KiB up to 256 KiB, not into one copy per chunk: a
 * mail arrives in ~1460-byte pieces, and an array per piece was hundreds of thousands of buffer
 * allocations a second (each a backing store the GC tracks). A block is never more than twice
 * what it holds plus 4 KiB, so memory stays proportional to the bytes received.
 */
const FIRST_BLOCK = 4 * 1024;
const MAX_BLOCK = 256 * 1024;

export class MailBuffer {
  /** Full blocks, in order. */
  private blocks: Uint8Array[] = [];
  /** The block being filled, `used` bytes of it. */
  private block: Uint8Array | undefined;
  private used = 0;
  private kept = 0;
  /** Bytes seen, kept or not. */
  size = 0;
  /** False once a byte was lost (gap) or dropped (limit). */
  intact = true;
  readonly frames: number[] = [];
  readonly startTs: number;
  endTs: number;

  constructor(
    private readonly maxBytes: number,
    private readonly maxFrames: number,
    ts: number,
  ) {
    this.startTs = ts;
    this.endTs = ts;
  }

  append(chunk: Uint8Array, frame: number, ts: number): void {
    this.size += chunk.length;
    this.endTs = ts;
    this.addFrame(frame);
    const room = this.maxBytes - this.kept;
    if (room <= 0) {
      this.intact = false;
      return;
    }
    let n = chunk.length;
    if (n > room) {
      n = room;
      this.intact = false;
    }
    let from = 0;
    while (from < n) {
      let block = this.block;
      if (block === undefined || this.used === block.length) {
        if (block !== undefined) this.blocks.push(block);
        const grown = block === undefined ? FIRST_BLOCK : Math.min(block.length * 2, MAX_BLOCK);
        block = new Uint8Array(Math.max(1, Math.min(grown, this.maxBytes - this.kept)));
        this.block = block;
        this.used = 0;
      }
      const take = Math.min(n - from, block.length - this.used);
      block.set(from === 0 && take === chunk.length ? chunk : chunk.subarray(from, from + take), this.used);
      this.used += take;
      this.kept += take;
      from += take;
    }
  }

  /** `size` bytes were never captured. */
  lost(size: number, ts: number): void {
    this.intact = false;
    this.size += size;
    this.endTs = ts;
  }

  addFrame(frame: number): void {
    const f = this.frames;
    if (f[f.length - 1] !== frame && f.length < this.maxFrames) f.push(frame);
  }

  /** The kept bytes as one array of exactly their length (a fresh copy the caller owns). */
  bytes(): Uint8Array {
    const block = this.block;
    if (this.blocks.length === 0 && block !== undefined && this.used === block.length) return block;
    const out = new Uint8Array(this.kept);
    let o = 0;
    for (const b of this.blocks) {
      out.set(b, o);
      o += b.length;
    }
    if (block !== undefined) out.set(block.subarray(0, this.used), o);
    this.blocks = [];
    this.block = out;
    this.used = out.length;
    return out;
  }
}
