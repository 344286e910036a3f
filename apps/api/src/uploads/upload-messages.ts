/** Messages between an upload's worker thread (upload-worker.ts) and the main thread (upload-analysis.ts). */
import type { AnalyzerSettings } from '@mailscope/protocols/analyzer';
import type { BatchPayload } from '@mailscope/shared';

export interface UploadWorkerData {
  /** The uploaded file (a temporary file of the API). */
  readonly path: string;
  readonly settings: AnalyzerSettings;
}

/** A batch without its capture id (the main thread knows it). */
export type WorkerBatch = Omit<BatchPayload, 'captureId'>;

export interface UploadProgress {
  readonly bytesRead: number;
  readonly frames: number;
}

export type WorkerToMain =
  | { readonly type: 'batch'; readonly batch: WorkerBatch; readonly progress: UploadProgress }
  /** The file was read to its end; `warning` when it ended early (truncated, corrupt) after some frames. */
  | { readonly type: 'done'; readonly frames: number; readonly bytesRead: number; readonly warning: string | null }
  | { readonly type: 'failed'; readonly error: string };

/** The main thread stored a batch (or gave up on it). */
export type MainToWorker = { readonly type: 'ack' };
