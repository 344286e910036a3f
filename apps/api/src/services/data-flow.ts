/**
 * A session's reassembled data flow, rebuilt from its stored frames (the bytes that were on the
 * wire, not the analyzer's reading of them): each frame is decoded and fed, in frame order, to the
 * engine's own TCP reassembler, so retransmissions, overlaps and gaps are resolved exactly as the
 * analyzer resolved them.
 */
import { decodeFrame } from '@mailscope/protocols/packet-decoder';
import { TcpReassembler } from '@mailscope/protocols/tcp-reassembler';
import type { Direction } from '@mailscope/protocols';
import { POP3_COMMANDS, SMTP_COMMANDS } from '@mailscope/shared/protocol-reference';

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

// ------------------------------------------------------------------ credentials

/** What a masked credential reads as (as in the timeline: sessions-repository's MASK). */
const MASK = '****';
/** A command whose argument is a secret: PASS x, AUTH MECH initial-response, APOP user digest. */
const SECRET_ARGUMENT = /^(PASS|AUTH[ \t]+\S+|APOP[ \t]+\S+)([ \t]+)\S.*$/i;
const COMMAND_VERBS: ReadonlySet<string> = new Set([...Object.keys(SMTP_COMMANDS), ...Object.keys(POP3_COMMANDS)]);

/**
 * One client line of a frame that carried a credential, masked: the argument of PASS, of an AUTH
 * with an initial response and of APOP; a line that is not a command at all is a SASL response
 * (Base64 of a user and password, a token, an NTLM or CRAM proof) and is masked whole. Other
 * commands (USER, AUTH LOGIN, a pipelined MAIL) and the SASL cancel `*` are kept.
 */
export function maskCredentialLine(line: string): string {
  const secret = SECRET_ARGUMENT.exec(line);
  if (secret !== null) return `${secret[1]}${secret[2]}${MASK}`;
  const trimmed = line.trim();
  if (trimmed === '' || trimmed === '*') return line;
  const verb = /^([A-Za-z]+)(?:[ \t]|$)/.exec(line)?.[1]?.toUpperCase();
  return verb !== undefined && COMMAND_VERBS.has(verb) ? line : MASK;
}

/** `text` (lines ending CRLF or LF) with every line masked by `maskCredentialLine`. */
export function maskCredentialText(text: string): string {
  return text.split(/(\r?\n)/).map((part, i) => (i % 2 === 1 ? part : maskCredentialLine(part))).join('');
}

/**
 * The flow with the client's credentials masked: chunks carried by `secretFrames` (the frames of
 * the session's credentials) go through `maskCredentialText`; mail bodies and the server's side
 * are never touched.
 */
export function maskFlowCredentials(flow: DataFlow, secretFrames: ReadonlySet<number>): DataFlow {
  if (secretFrames.size === 0) return flow;
  return {
    ...flow,
    chunks: flow.chunks.map((c) => (c.dir === 'client' && c.gap === undefined && c.frames.some((f) => secretFrames.has(f)) ? { ...c, text: maskCredentialText(c.text) } : c)),
  };
}
