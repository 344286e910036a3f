/**
 * Splits one direction of a text protocol (SMTP, POP3) into lines, dot-terminated bodies and
 * counted byte runs, carrying partial lines and a split `CRLF.CRLF` terminator across chunks.
 * Modelled on nodemailer smtp-server's `smtp-stream.js`.
 *
 * Call order: `push` / `gap` any number of times. The sink's callbacks run synchronously inside
 * `push`; a callback may change the mode (`readDotBody`, `readCount`, `readLines`, `ignore`) and
 * the rest of the chunk is read in the new mode. Bytes passed to the sink are views into the
 * pushed chunk or into the reader's carry buffer: copy what you keep.
 */
import { copyBytes } from './bytes.ts';

export interface LineInfo {
  /** Frames that carried the line's bytes, ascending, without duplicates (capped by `maxFrames`). */
  readonly frames: readonly number[];
  /** Time of the frame that completed the line, µs. */
  readonly ts: number;
  /** The line was longer than `maxLineBytes`; `line` holds its first `maxLineBytes` bytes. */
  readonly tooLong: boolean;
  /** The line ended in a bare LF instead of CRLF. */
  readonly bareLf: boolean;
}

export interface LineReaderSink {
  /** A complete line, without its line ending. */
  line(line: Uint8Array, info: LineInfo): void;
  /** Part of a dot-terminated body, dot-stuffing removed, line endings kept. */
  body(chunk: Uint8Array, frame: number, ts: number): void;
  /** The terminating `.` line of a body was read. */
  bodyEnd(frames: readonly number[], ts: number): void;
  /** Part of a counted run (BDAT chunk). */
  counted(chunk: Uint8Array, frame: number, ts: number): void;
  /** The counted run is complete (`missing` of its bytes were lost in gaps). */
  countedEnd(ts: number, missing: number): void;
  /** Bytes were lost in this direction; in line mode the reader discards up to the next line end. */
  gap(size: number, mode: ReaderMode, ts: number): void;
}

export type ReaderMode = 'line' | 'dot' | 'count' | 'ignore';

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/** Dot-body scanner state at a chunk boundary. */
const enum DotState {
  /** Inside a line. */
  MidLine,
  /** At the start of a line. */
  LineStart,
  /** A line started with '.', nothing after it yet. */
  Dot,
  /** A line started with ".\r". */
  DotCr,
}

export class LineReader {
  private mode: ReaderMode = 'line';
  private carry: Uint8Array;
  private carryLen = 0;
  private carryTooLong = false;
  /** After a gap in line mode: drop bytes until the next LF. */
  private resync = false;
  private frames: number[] = [];
  private dotState: DotState = DotState.LineStart;
  private countLeft = 0;
  private countMissing = 0;
  /** Frames that carried the terminator line of a body (usually one). */
  private termFrames: number[] = [];
  /** Last byte appended to the carry's line, kept even when the carry is full (CR detection). */
  private lastByte = -1;
  private paused = false;
  /** The next push is the first after a line-mode gap: its first line may start right at the hole's end. */
  private resyncFresh = false;

  /**
   * Optional: after a gap in line mode, a line that starts exactly where the first chunk after the
   * gap starts is delivered when this returns true for it (segments usually start at a line start,
   * so a line that looks like a command or a reply is one). Otherwise it is dropped as before.
   */
  acceptAfterGap: ((line: Uint8Array) => boolean) | undefined;
  /** Chunks and gaps that arrived while paused, in order; chunks are copies. */
  private held: HeldItem[] = [];
  private heldLen = 0;

  constructor(
    private readonly sink: LineReaderSink,
    private readonly maxLineBytes: number,
    private readonly maxFrames: number,
  ) {
    this.carry = new Uint8Array(Math.min(256, maxLineBytes));
  }

  get currentMode(): ReaderMode {
    return this.mode;
  }

  /** Bytes left in the current counted run. */
  get countRemaining(): number {
    return this.countLeft;
  }

  /** Back to line mode (also ends a body or count without the sink's end callback). */
  readLines(): void {
    this.mode = 'line';
  }

  /** Read a dot-terminated body, starting at the beginning of a line. */
  readDotBody(): void {
    this.mode = 'dot';
    this.dotState = DotState.LineStart;
    this.termFrames = [];
  }

  /** Read exactly `n` bytes as a counted run, then return to line mode. */
  readCount(n: number): void {
    this.countMissing = 0;
    if (n <= 0) {
      this.mode = 'line';
      this.countLeft = 0;
      return;
    }
    this.mode = 'count';
    this.countLeft = n;
  }

  /** Drop everything from now on (the session switched to TLS), including held bytes. */
  ignore(): void {
    this.mode = 'ignore';
    this.carryLen = 0;
    this.carryTooLong = false;
    this.held = [];
    this.heldLen = 0;
    this.paused = false;
  }

  /**
   * Stop reading until `resume()`: the rest of the current chunk and everything pushed (and every
   * gap) meanwhile is kept, in order, copied. For a peer that may have gone on talking before the
   * reply that decides how its bytes are read (SMTP DATA -> 354, AUTH -> 334, STARTTLS -> 220).
   * May be called from a sink callback; the reader stops right after that callback.
   */
  pause(): void {
    this.paused = true;
  }

  /** Whether the reader is paused. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Bytes held since `pause()` (the caller bounds them). */
  get heldBytes(): number {
    return this.heldLen;
  }

  /** First held byte, or -1 when nothing is held (lets a caller sniff, e.g. a TLS record). */
  get firstHeldByte(): number {
    for (const h of this.held) {
      if (h.bytes !== undefined && h.bytes.length > 0) return h.bytes[0]!;
    }
    return -1;
  }

  /**
   * Read what was held, in the current mode, as it was pushed (same frames, same times). Stops
   * again if a callback pauses; what is left stays held.
   */
  resume(): void {
    this.paused = false;
    const list = this.held;
    this.held = [];
    this.heldLen = 0;
    for (let i = 0; i < list.length; i++) {
      const h = list[i]!;
      if (this.paused || this.mode === 'ignore') {
        if (this.mode === 'ignore') return;
        this.hold(h);
        continue;
      }
      if (h.bytes !== undefined) this.push(h.bytes, h.frame, h.ts);
      else this.gap(h.size, h.ts);
    }
  }

  private hold(h: HeldItem): void {
    this.held.push(h);
    if (h.bytes !== undefined) this.heldLen += h.bytes.length;
  }

  /** Whether a partial line is waiting for more bytes. */
  get hasPartialLine(): boolean {
    return this.carryLen > 0 || this.carryTooLong;
  }

  push(bytes: Uint8Array, frame: number, ts: number): void {
    let pos = 0;
    const end = bytes.length;
    while (pos < end) {
      if (this.paused) {
        if (this.mode !== 'ignore') this.hold({ bytes: copyBytes(bytes, pos), frame, ts, size: 0 });
        return;
      }
      switch (this.mode) {
        case 'ignore':
          return;
        case 'line':
          pos = this.pushLine(bytes, pos, frame, ts);
          break;
        case 'dot':
          pos = this.pushDot(bytes, pos, frame, ts);
          break;
        case 'count':
          pos = this.pushCount(bytes, pos, frame, ts);
          break;
      }
    }
  }

  gap(size: number, ts: number): void {
    if (this.paused) {
      if (this.mode !== 'ignore') this.hold({ bytes: undefined, frame: 0, ts, size });
      return;
    }
    const mode = this.mode;
    if (mode === 'line') {
      // The partial line is unusable: its middle is missing. Resume at the next line start.
      this.carryLen = 0;
      this.carryTooLong = false;
      this.frames = [];
      this.resync = true;
      this.resyncFresh = true;
    } else if (mode === 'dot') {
      // The terminator can only be recognised at a line start; we do not know where lines start.
      this.dotState = DotState.MidLine;
    } else if (mode === 'count') {
      const lost = Math.min(size, this.countLeft);
      this.countLeft -= lost;
      this.countMissing += lost;
      // The gap also swallowed the start of whatever line follows the run.
      if (size > lost) {
        this.carryLen = 0;
        this.carryTooLong = false;
        this.frames = [];
        this.resync = true;
        this.resyncFresh = true;
      }
    }
    this.sink.gap(size, mode, ts);
    if (mode === 'count' && this.countLeft === 0) {
      this.mode = 'line';
      this.sink.countedEnd(ts, this.countMissing);
    }
  }

  /**
   * At end of stream: a partial last line is delivered as a line (a peer may omit the final CRLF).
   * Does nothing while paused: resume (or ignore) first.
   */
  flush(ts: number): void {
    if (this.mode === 'line' && this.carryLen > 0 && !this.resync && !this.paused) {
      const tooLong = this.carryTooLong || this.carryLen > this.maxLineBytes;
      const line = this.carry.subarray(0, Math.min(this.carryLen, this.maxLineBytes));
      const frames = this.frames;
      this.carryLen = 0;
      this.carryTooLong = false;
      this.frames = [];
      this.sink.line(line, { frames, ts, tooLong, bareLf: false });
    }
  }

  private addFrame(list: number[], frame: number): void {
    if (list.length === 0 || list[list.length - 1] !== frame) {
      if (list.length < this.maxFrames) list.push(frame);
    }
  }

  private pushLine(bytes: Uint8Array, start: number, frame: number, ts: number): number {
    const lf = bytes.indexOf(LF, start);
    const stop = lf === -1 ? bytes.length : lf;
    if (this.resync) {
      const fresh = this.resyncFresh && start === 0;
      this.resyncFresh = false;
      if (lf === -1) return bytes.length;
      this.resync = false;
      const accept = this.acceptAfterGap;
      if (!fresh || accept === undefined || lf - start > this.maxLineBytes) return lf + 1;
      const lineEnd = lf > start && bytes[lf - 1] === CR ? lf - 1 : lf;
      if (!accept(bytes.subarray(start, lineEnd))) return lf + 1;
    }
    this.addFrame(this.frames, frame);
    if (lf !== -1 && this.carryLen === 0 && !this.carryTooLong) {
      // Fast path: the whole line is inside this chunk.
      let lineEnd = lf;
      const bareLf = !(lineEnd > start && bytes[lineEnd - 1] === CR);
      if (!bareLf) lineEnd--;
      const tooLong = lineEnd - start > this.maxLineBytes;
      const line = bytes.subarray(start, tooLong ? start + this.maxLineBytes : lineEnd);
      const frames = this.frames;
      this.frames = [];
      this.sink.line(line, { frames, ts, tooLong, bareLf });
      return lf + 1;
    }
    this.appendCarry(bytes, start, stop);
    if (lf === -1) return bytes.length;
    let len = this.carryLen;
    // A full carry dropped the line's tail: the byte before the LF is `lastByte`, not the carry's last.
    const bareLf = this.carryTooLong ? this.lastByte !== CR : !(len > 0 && this.carry[len - 1] === CR);
    if (!bareLf && !this.carryTooLong) len--;
    const tooLong = this.carryTooLong || len > this.maxLineBytes;
    const line = this.carry.subarray(0, Math.min(len, this.maxLineBytes));
    const frames = this.frames;
    this.frames = [];
    this.carryLen = 0;
    this.carryTooLong = false;
    this.sink.line(line, { frames, ts, tooLong, bareLf });
    return lf + 1;
  }

  private appendCarry(bytes: Uint8Array, start: number, stop: number): void {
    // Keep one byte beyond the limit so a CR that ends an exactly-full line is still seen.
    const room = this.maxLineBytes + 1 - this.carryLen;
    let n = stop - start;
    if (n > 0) this.lastByte = bytes[stop - 1]!;
    if (n > room) {
      n = room;
      this.carryTooLong = true;
    }
    if (n <= 0) return;
    if (this.carryLen + n > this.carry.length) {
      const next = new Uint8Array(Math.min(this.maxLineBytes + 1, Math.max(this.carry.length * 2, this.carryLen + n)));
      next.set(this.carry.subarray(0, this.carryLen));
      this.carry = next;
    }
    this.carry.set(bytes.subarray(start, start + n), this.carryLen);
    this.carryLen += n;
  }

  private pushCount(bytes: Uint8Array, start: number, frame: number, ts: number): number {
    const n = Math.min(this.countLeft, bytes.length - start);
    this.countLeft -= n;
    const chunk = bytes.subarray(start, start + n);
    if (this.countLeft === 0) this.mode = 'line';
    this.sink.counted(chunk, frame, ts);
    if (this.countLeft === 0) this.sink.countedEnd(ts, this.countMissing);
    return start + n;
  }

  /**
   * Scans a dot-terminated body. Runs of bytes without a line-initial dot are passed on as views;
   * a line-initial dot is dropped (unstuffing), and `.` CRLF (or `.` LF) ends the body.
   */
  private pushDot(bytes: Uint8Array, start: number, frame: number, ts: number): number {
    const end = bytes.length;
    let pos = start;
    let runStart = start;
    while (pos < end) {
      switch (this.dotState) {
        case DotState.MidLine: {
          // Only a dot at a line start matters, so look for dots, not line ends: a base64 part
          // (most of a mail with an attachment) has a line end every 76 bytes and no dot at all.
          const dot = bytes.indexOf(DOT, pos + 1);
          if (dot === -1) {
            this.dotState = bytes[end - 1] === LF ? DotState.LineStart : DotState.MidLine;
            pos = end;
            break;
          }
          pos = dot;
          this.dotState = bytes[dot - 1] === LF ? DotState.LineStart : DotState.MidLine;
          if (this.dotState === DotState.MidLine) pos = dot + 1;
          break;
        }
        case DotState.LineStart: {
          if (bytes[pos] === DOT) {
            if (pos > runStart) this.sink.body(bytes.subarray(runStart, pos), frame, ts);
            this.termFrames = [frame];
            pos++;
            runStart = pos;
            this.dotState = DotState.Dot;
          } else {
            this.dotState = DotState.MidLine;
          }
          break;
        }
        case DotState.Dot: {
          const b = bytes[pos];
          this.addFrame(this.termFrames, frame);
          if (b === LF) {
            return this.endBody(pos + 1, ts);
          } else if (b === CR) {
            pos++;
            runStart = pos;
            this.dotState = DotState.DotCr;
          } else {
            // A stuffed dot: the dot is gone, the line goes on.
            this.dotState = DotState.MidLine;
          }
          break;
        }
        case DotState.DotCr: {
          this.addFrame(this.termFrames, frame);
          if (bytes[pos] === LF) return this.endBody(pos + 1, ts);
          // ".\r" followed by something else: keep the CR, it is content.
          this.sink.body(CR_BYTES, frame, ts);
          this.dotState = DotState.MidLine;
          break;
        }
      }
    }
    if (pos > runStart) {
      this.sink.body(bytes.subarray(runStart, pos), frame, ts);
    }
    return end;
  }

  private endBody(next: number, ts: number): number {
    this.mode = 'line';
    this.dotState = DotState.LineStart;
    const frames = this.termFrames;
    this.termFrames = [];
    this.sink.bodyEnd(frames, ts);
    return next;
  }
}

const CR_BYTES = new Uint8Array([CR]);

/** A chunk (`bytes` set) or a gap (`bytes` undefined, `size` lost) that arrived while paused. */
interface HeldItem {
  readonly bytes: Uint8Array | undefined;
  readonly frame: number;
  readonly ts: number;
  readonly size: number;
}
