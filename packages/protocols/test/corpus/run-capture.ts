/**
 * `runCapture(path, ports)`: one capture through the engine as the agent's file import does it -
 * chunks (64 KiB) into CaptureReader, frames into Analyzer, then `summarizeMail` on every mail - in
 * a worker thread with a wall-clock timeout and a heap cap, so that a hang or a runaway allocation
 * in the engine is a failed check, not a stuck or crashed test run.
 */
import { Worker } from 'node:worker_threads';
import { Analyzer, type AnalyzerSettings } from '../../src/analyzer.ts';
import { CaptureReader, type CaptureError } from '../../src/capture-reader.ts';
import type {
  AnalyzerEvent,
  MailEvent,
  MailSummary,
  SessionClosedEvent,
  SessionOpenedEvent,
  TimelineEvent,
} from '../../src/events.ts';
import { summarizeMail } from '../../src/mail-summary.ts';

/** Chunk size of the file import; any size must give the same result (the reader is streaming). */
export const CHUNK_BYTES = 64 * 1024;
/** The whole corpus is ~2 MB: a capture that takes longer than this is hung. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Heap cap of the worker; the largest capture is 400 KB, so anything near this is a leak. */
export const DEFAULT_MAX_HEAP_MB = 256;

export interface CapturedMail {
  readonly event: MailEvent;
  readonly summary: MailSummary;
}

export interface CapturedSession {
  readonly opened: SessionOpenedEvent;
  readonly timeline: TimelineEvent[];
  readonly mails: CapturedMail[];
  /** Undefined only if the engine never closed the session (a contract violation). */
  closed?: SessionClosedEvent;
}

export interface CaptureRun {
  /** False when the run threw, timed out or ran out of memory; `error` says which. */
  readonly finished: boolean;
  readonly error?: string;
  readonly captureError?: CaptureError;
  readonly frames: number;
  readonly sessions: CapturedSession[];
  /** Session events that named a session id never opened (a contract violation). */
  readonly orphanEvents: number;
  /** Packet records whose tcpAnalysis said retransmission / out-of-order / ... keyed by observation. */
  readonly tcpAnalysis: Record<string, number>;
  readonly elapsedMs: number;
  /** Largest V8 heap use sampled after each chunk, bytes (includes the worker's own baseline). */
  readonly peakHeapBytes: number;
}

export interface WorkerInput {
  readonly path: string;
  readonly settings: AnalyzerSettings;
}

/** Runs the engine over `file` in the current thread. Exported for the worker; tests use `runCapture`. */
export async function collectCapture(
  file: Uint8Array,
  input: WorkerInput,
  heapUsed: () => number,
): Promise<CaptureRun> {
  const started = performance.now();
  const sessions = new Map<number, CapturedSession>();
  const tcpAnalysis: Record<string, number> = {};
  let frames = 0;
  let orphanEvents = 0;
  let peakHeapBytes = heapUsed();
  const pendingMails: { session: CapturedSession; event: MailEvent }[] = [];
  const onEvent = (e: AnalyzerEvent): void => {
    switch (e.type) {
      case 'packet':
        for (const a of e.tcpAnalysis ?? []) tcpAnalysis[a] = (tcpAnalysis[a] ?? 0) + 1;
        return;
      case 'session-opened':
        sessions.set(e.sessionId, { opened: e, timeline: [], mails: [] });
        return;
      default: {
        const s = sessions.get(e.sessionId);
        if (!s) {
          orphanEvents++;
          return;
        }
        if (e.type === 'timeline') s.timeline.push(e);
        else if (e.type === 'mail') pendingMails.push({ session: s, event: { ...e, raw: e.raw.slice() } });
        else s.closed = e;
      }
    }
  };
  let captureError: CaptureError | undefined;
  try {
    const reader = new CaptureReader();
    const analyzer = new Analyzer({ ...input.settings }, onEvent);
    for (let o = 0; o < file.length; o += CHUNK_BYTES) {
      reader.push(file.subarray(o, o + CHUNK_BYTES), (f) => {
        frames++;
        analyzer.push(f);
      });
      peakHeapBytes = Math.max(peakHeapBytes, heapUsed());
    }
    captureError = reader.end();
    analyzer.end();
    for (const { session, event } of pendingMails) {
      session.mails.push({ event, summary: await summarizeMail(event.raw) });
    }
    peakHeapBytes = Math.max(peakHeapBytes, heapUsed());
  } catch (err) {
    return {
      finished: false,
      error: `engine threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      frames,
      sessions: [...sessions.values()],
      orphanEvents,
      tcpAnalysis,
      elapsedMs: performance.now() - started,
      peakHeapBytes,
    };
  }
  return {
    finished: true,
    ...(captureError ? { captureError } : {}),
    frames,
    sessions: [...sessions.values()],
    orphanEvents,
    tcpAnalysis,
    elapsedMs: performance.now() - started,
    peakHeapBytes,
  };
}

export interface RunOptions {
  readonly timeoutMs?: number;
  readonly maxHeapMb?: number;
}

/**
 * Runs one capture file in a worker thread. Never rejects: a crash, a timeout or an out-of-memory
 * comes back as `finished: false` with `error` saying what happened.
 */
export function runCapture(path: string, settings: AnalyzerSettings, options: RunOptions = {}): Promise<CaptureRun> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const failed = (error: string): CaptureRun => ({
    finished: false,
    error,
    frames: 0,
    sessions: [],
    orphanEvents: 0,
    tcpAnalysis: {},
    elapsedMs: 0,
    peakHeapBytes: 0,
  });
  // Node 20 does not apply `--import tsx` from execArgv before a worker's .ts entry loads, so the
  // worker registers tsx itself and then imports the entry.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./capture-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Promise((resolvePromise) => {
    let done = false;
    const finish = (run: CaptureRun): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void worker.terminate();
      resolvePromise(run);
    };
    const input: WorkerInput = { path, settings };
    const worker = new Worker(code, {
      eval: true,
      workerData: input,
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? DEFAULT_MAX_HEAP_MB },
    });
    const timer = setTimeout(() => finish(failed(`did not finish within ${timeoutMs} ms`)), timeoutMs);
    worker.on('message', (run: CaptureRun) => finish(run));
    worker.on('error', (err: Error) => finish(failed(`worker failed: ${err.stack ?? err.message}`)));
    worker.on('exit', (code) => finish(failed(`worker exited with code ${code} before posting a result`)));
  });
}
