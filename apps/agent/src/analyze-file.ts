/**
 * Runs the engine over a pcap / pcapng file: streamed in 1 MiB chunks, never read whole, frames
 * through the Analyzer, mails summarised (postal-mime, async) with bounded concurrency, events
 * delivered in the engine's order.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Analyzer, type AnalyzerSettings } from '@mailscope/protocols/analyzer';
import { CaptureReader, type CaptureError, type CaptureFormat } from '@mailscope/protocols/capture-reader';
import type { AnalyzerEvent, MailEvent, MailSummary } from '@mailscope/protocols/events';
import { summarizeMail } from '@mailscope/protocols/mail-summary';
import type { Frame } from '@mailscope/protocols/types';

/** Read size; big enough that per-chunk overhead vanishes, small enough to keep memory flat. */
export const CHUNK_BYTES = 1024 * 1024;
/** Mails summarised at once; postal-mime is CPU-bound, more would only hold more mails in memory. */
export const MAX_SUMMARIES_IN_FLIGHT = 4;
/** Events held behind an unfinished summary before reading pauses. */
const MAX_QUEUED_EVENTS = 20_000;

export interface AnalyzeFileOptions {
  readonly settings: AnalyzerSettings;
  /** Which mails get a `summary` before delivery (default: none, they are delivered at once). */
  readonly summarize?: (mail: MailEvent) => boolean;
  /**
   * Every event, in the engine's order; mails the `summarize` predicate picked carry their summary.
   * With `withFrames`, a packet record comes with a copy of its frame (the import sends the bytes).
   */
  readonly onEvent: (e: AnalyzerEvent, frame?: Frame) => void;
  readonly withFrames?: boolean;
  /** Awaited after each chunk's events were delivered (the caller flushes its output here). */
  readonly afterChunk?: () => Promise<void>;
  /** Bytes read so far and the file's size, after each chunk. */
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export interface AnalyzeFileResult {
  readonly format: CaptureFormat | undefined;
  readonly frames: number;
  readonly bytesRead: number;
  readonly totalBytes: number;
  /** The capture problem that stopped reading; the events up to it were delivered. */
  readonly captureError?: CaptureError;
  /** Blocks the reader skipped (pcapng), counted. */
  readonly warnings: number;
}

/** The file could not be opened or read (missing, a directory, no permission, I/O error). */
export class FileReadError extends Error {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'FileReadError';
  }
}

function nodeSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface Queued {
  readonly event: AnalyzerEvent;
  readonly frame?: Frame;
  done: boolean;
  summary?: Promise<MailSummary>;
}

/**
 * Analyses the capture at `path`. Resolves when every event was delivered; rejects only with a
 * `FileReadError` (the file could not be read). A capture problem (not a capture, truncated,
 * corrupt) is not a rejection: it is `captureError` in the result, after every session open at
 * that point was closed by `Analyzer.end()` and delivered.
 */
export async function analyzeFile(path: string, options: AnalyzeFileOptions): Promise<AnalyzeFileResult> {
  let totalBytes: number;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    totalBytes = info.size;
  } catch (err) {
    throw toReadError(path, err);
  }

  const queue: Queued[] = [];
  let inFlight = 0;
  const deliver = (): void => {
    while (queue.length > 0 && queue[0]?.done === true) {
      const item = queue.shift() as Queued;
      options.onEvent(item.event, item.frame);
    }
  };
  const wantSummary = options.summarize ?? (() => false);
  const analyzer = new Analyzer({ ...options.settings, sha256: nodeSha256 }, (event) => {
    if (event.type === 'mail' && wantSummary(event)) {
      const item: Queued = { event, done: false };
      inFlight++;
      item.summary = summarizeMail(event.raw, { sha256: nodeSha256 }).then((summary) => {
        (item as { event: AnalyzerEvent }).event = { ...event, summary };
        item.done = true;
        inFlight--;
        return summary;
      });
      queue.push(item);
    } else if (event.type === 'packet' && current !== undefined) {
      queue.push({ event, frame: { ...current, data: current.data.slice() }, done: true });
    } else {
      queue.push({ event, done: true });
    }
  });
  let current: Frame | undefined;
  const reader = new CaptureReader();
  const settle = async (all: boolean): Promise<void> => {
    deliver();
    while (queue.length > 0 && (all || inFlight > MAX_SUMMARIES_IN_FLIGHT || queue.length > MAX_QUEUED_EVENTS)) {
      await queue[0]?.summary;
      deliver();
    }
  };

  const stream = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      reader.push(chunk, (frame) => {
        if (options.withFrames === true) current = frame;
        analyzer.push(frame);
        current = undefined;
      });
      await settle(false);
      await options.afterChunk?.();
      options.onProgress?.(reader.bytesRead, totalBytes);
      if (reader.error !== undefined) break;
    }
  } catch (err) {
    throw toReadError(path, err);
  } finally {
    stream.destroy();
  }
  const captureError = reader.error ?? reader.end();
  analyzer.end();
  await settle(true);
  await options.afterChunk?.();
  return {
    format: reader.format,
    frames: reader.frameCount,
    bytesRead: reader.bytesRead,
    totalBytes,
    ...(captureError !== undefined ? { captureError } : {}),
    warnings: reader.warningCount,
  };
}

function toReadError(path: string, err: unknown): FileReadError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EISDIR: 'is a directory, not a capture file',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
  };
  const reason = (code !== undefined ? reasons[code] : undefined) ?? (err instanceof Error ? err.message : String(err));
  return new FileReadError(path, code, reason);
}
