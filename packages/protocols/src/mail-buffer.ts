/**
 * Collects the bytes of one mail in transfer (DATA body, BDAT chunks, RETR body) up to the mail
 * limit, counting what goes beyond it, and the frames that carried it. Chunks handed in are views
 * and are copied.
 */
import { copyBytes } from './bytes.ts';
export class MailBuffer {
  private chunks: Uint8Array[] = [];
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
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length < chunk.length) this.intact = false;
    this.chunks.push(copyBytes(part));
    this.kept += part.length;
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

  /** The kept bytes as one array. */
  bytes(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.kept);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.chunks = [out];
    return out;
  }
}
