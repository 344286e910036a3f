/**
 * A session's reassembled data flow, rebuilt from its stored frames (the bytes that were on the
 * wire, not the analyzer's reading of them): each frame is decoded and fed, in frame order, to the
 * engine's own TCP reassembler, so retransmissions, overlaps and gaps are resolved exactly as the
 * analyzer resolved them.
 */
import { decodeFrame } from '@mailscope/protocols/packet-decoder';
import { TcpReassembler } from '@mailscope/protocols/tcp-reassembler';
import type { Direction } from '@mailscope/protocols';

export interface FlowFrame {
  readonly frameNo: number;
  /** µs since the epoch. */
  readonly ts: number;
  readonly linkType: number;
  readonly raw: Uint8Array;
}

/** Consecutive bytes of one direction; a new chunk starts when the direction changes. */
export interface FlowChunk {
  readonly dir: Direction;
  /** µs of the first frame that carried it. */
  readonly ts: number;
  /** Frames that carried these bytes, ascending. */
  readonly frames: number[];
  /** The bytes as UTF-8 text (invalid sequences become U+FFFD); empty for a gap. */
  readonly text: string;
  readonly bytes: number;
  /** Bytes that were never captured (a hole in the stream), when this chunk is a gap. */
  readonly gap?: number;
}

export interface DataFlow {
  readonly chunks: FlowChunk[];
  readonly bytes: { client: number; server: number };
  /** True when a direction passed `maxBytesPerDirection` and the rest was left out. */
  readonly truncated: boolean;
}

interface Building {
  dir: Direction;
  ts: number;
  frames: number[];
  parts: Uint8Array[];
  bytes: number;
  gap?: number;
}

/**
 * Rebuilds the flow of the connection `serverPort` is the server side of, from `frames` in
 * capture order. Keeps at most `maxBytesPerDirection` bytes of each direction.
 */
export function rebuildDataFlow(frames: Iterable<FlowFrame>, serverPort: number, maxBytesPerDirection: number): DataFlow {
  const chunks: FlowChunk[] = [];
  const kept = { client: 0, server: 0 };
  const total = { client: 0, server: 0 };
  let truncated = false;
  let current: Building | undefined;
  const decoder = new TextDecoder('utf-8');

  const flush = (): void => {
    if (current === undefined) return;
    const buf = new Uint8Array(current.bytes);
    let at = 0;
    for (const p of current.parts) {
      buf.set(p, at);
      at += p.length;
    }
    chunks.push({
      dir: current.dir,
      ts: current.ts,
      frames: current.frames,
      text: current.gap === undefined ? decoder.decode(buf) : '',
      bytes: current.gap ?? current.bytes,
      ...(current.gap === undefined ? {} : { gap: current.gap }),
    });
    current = undefined;
  };

  // One connection is expected; a second one on the same tuple (port reuse) is appended too.
  const reassembler = new TcpReassembler({
    open: () => ({
      data(dir, bytes, frame, ts) {
        total[dir] += bytes.length;
        const room = maxBytesPerDirection - kept[dir];
        if (room <= 0) {
          truncated = true;
          return;
        }
        const take = bytes.length > room ? bytes.subarray(0, room) : bytes;
        if (take.length < bytes.length) truncated = true;
        kept[dir] += take.length;
        if (current === undefined || current.dir !== dir || current.gap !== undefined) {
          flush();
          current = { dir, ts, frames: [], parts: [], bytes: 0 };
        }
        current.parts.push(take.slice());
        current.bytes += take.length;
        if (current.frames[current.frames.length - 1] !== frame) current.frames.push(frame);
      },
      gap(dir, size, ts) {
        flush();
        current = { dir, ts, frames: [], parts: [], bytes: 0, gap: size };
        flush();
      },
      anomaly: () => undefined,
      close: () => undefined,
    }),
  }, { isServerPort: (port) => port === serverPort });

  let lastTs = 0;
  for (const f of frames) {
    const d = decodeFrame(f.linkType, f.raw);
    lastTs = f.ts;
    if (d.ok) reassembler.push(d.tcp, f.frameNo, f.ts);
  }
  reassembler.end(lastTs);
  flush();
  return { chunks, bytes: total, truncated };
}
