/** Messages between an upload's worker thread (upload-worker.ts) and the main thread (upload-analysis.ts). */
import type { AnalyzerSettings } from '@mailscope/protocols/analyzer';
import type { WireBatchPayload } from '@mailscope/shared';

export interface UploadWorkerData {
  /** The uploaded file (a temporary file of the API). */
  readonly path: string;
  /** The Capture row the analysis is stored as. */
  readonly captureId: string;
  readonly settings: AnalyzerSettings;
}

export interface UploadProgress {
  readonly bytesRead: number;
  readonly frames: number;
}

export type WorkerToMain =
  /** A batch in its wire form (packBatch: made in the worker, its binary parts transferred), as an agent sends it. */
  | { readonly type: 'batch'; readonly batch: WireBatchPayload; readonly progress: UploadProgress }
  /** The file was read to its end; `warning` when it ended early (truncated, corrupt) after some frames. */
  | { readonly type: 'done'; readonly frames: number; readonly bytesRead: number; readonly warning: string | null }
  | { readonly type: 'failed'; readonly error: string };

/** The main thread stored a batch (or gave up on it). */
export type MainToWorker = { readonly type: 'ack' };
