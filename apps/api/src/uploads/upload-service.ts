/**
 * Analysis of uploaded captures: one at a time (the machine's cores also serve the ingest and the
 * database), each in a worker thread running the engine (upload-worker.ts). The worker's batches
 * are validated like an agent's and stored through the ingest service; progress goes to /ui and
 * is kept for GET /api/uploads/:id. A file that is no capture, or an engine failure, ends the
 * capture with status 'failed' and a message; the API itself is never at risk (another thread,
 * and every error is caught).
 */
import { rm } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { Database } from '@mailscope/db';
import type { UiUploadProgress } from '@mailscope/shared';
import { validateBatch } from '@mailscope/shared';
import type { FastifyBaseLogger } from 'fastify';
import type { IngestService } from '../ingest/ingest-service.ts';
import type { MailSettingsCache } from '../ingest/settings-cache.ts';
import type { UiBroadcaster } from '../ingest/ui-broadcaster.ts';
import type { MainToWorker, UploadWorkerData, WorkerToMain } from './upload-messages.ts';

export interface UploadServiceOptions {
  readonly db: Database;
  readonly log: FastifyBaseLogger;
  readonly ingest: IngestService;
  readonly settings: MailSettingsCache;
  readonly broadcaster: UiBroadcaster;
}

interface Job {
  readonly captureId: string;
  readonly path: string;
  readonly progress: { -readonly [K in keyof UiUploadProgress]: UiUploadProgress[K] };
}

const WORKER_URL = new URL('./upload-worker-boot.mjs', import.meta.url);

/** Progress of finished uploads kept for GET /api/uploads/:id (the Capture row has the rest). */
const MAX_KEPT_PROGRESS = 1_000;
/** Batches of an upload being stored at once (their packets and timeline overlap). */
const STORING_AT_ONCE = 3;

export class UploadService {
  private readonly queue: Job[] = [];
  private readonly progress = new Map<string, Job['progress']>();
  private running: Promise<void> | undefined;
  private current: Worker | undefined;
  private closed = false;

  constructor(private readonly opts: UploadServiceOptions) {}

  /** Queues the analysis of `path` (a temporary file, deleted afterwards) for capture `captureId`. */
  enqueue(captureId: string, path: string, fileName: string, totalBytes: number): void {
    const progress: Job['progress'] = { captureId, fileName, state: 'queued', bytesRead: 0, totalBytes, frames: 0, error: null };
    this.progress.set(captureId, progress);
    if (this.progress.size > MAX_KEPT_PROGRESS) {
      const oldest = this.progress.keys().next().value;
      if (oldest !== undefined) this.progress.delete(oldest);
    }
    this.queue.push({ captureId, path, progress });
    this.opts.broadcaster.emit('upload:progress', { ...progress });
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  progressOf(captureId: string): UiUploadProgress | undefined {
    const p = this.progress.get(captureId);
    return p === undefined ? undefined : { ...p };
  }

  /** Resolves when every queued upload has been analysed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) await rm(job.path, { force: true });
    await this.current?.terminate();
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job !== undefined && !this.closed; job = this.queue.shift()) {
      try {
        await this.analyse(job);
      } catch (e) {
        this.opts.log.error({ err: e, captureId: job.captureId }, 'upload analysis failed');
        await this.finish(job, 'failed', 'analysis failed; see the API log').catch(() => undefined);
      } finally {
        await rm(job.path, { force: true }).catch(() => undefined);
      }
    }
  }

  private async analyse(job: Job): Promise<void> {
    const { captureId } = job;
    const settings = this.opts.settings.current;
    await this.opts.db.prisma.capture.update({ where: { id: captureId }, data: { status: 'analysing' } });
    job.progress.state = 'analysing';
    this.opts.broadcaster.emit('upload:progress', { ...job.progress });
    const workerData: UploadWorkerData = { path: job.path, captureId, settings: { smtpPorts: settings.smtpPorts, pop3Ports: settings.pop3Ports, anyPort: settings.anyPort } };
    const worker = new Worker(WORKER_URL, { workerData });
    this.current = worker;
    let failure: string | undefined;
    let warning: string | null = null;
    // Batches are handed to the store in order; the worker waits for the acks. Up to
    // STORING_AT_ONCE are being stored at a time: the ingest overlaps their records (see
    // ingest-service.ts), and the worker analyses on meanwhile.
    let chain = Promise.resolve();
    const storing: Promise<void>[] = [];
    await new Promise<void>((resolve) => {
      let settled = false;
      const end = (): void => {
        if (settled) return;
        settled = true;
        void chain.then(() => Promise.all(storing)).then(() => resolve());
      };
      worker.on('message', (msg: WorkerToMain) => {
        if (msg.type === 'batch') {
          chain = chain.then(async () => {
            if (failure === undefined) {
              const checked = validateBatch(msg.batch);
              if (!checked.ok) {
                failure = `the engine produced a batch the store refuses: ${checked.error}`;
              } else {
                storing.push(this.opts.ingest.ingest(captureId, checked.value).then(
                  () => undefined,
                  (e: unknown) => {
                    this.opts.log.error({ err: e, captureId }, 'could not store a batch of an upload');
                    failure ??= 'could not store the analysis; see the API log';
                  },
                ));
                while (storing.length >= STORING_AT_ONCE) await storing.shift();
              }
              job.progress.bytesRead = msg.progress.bytesRead;
              job.progress.frames = msg.progress.frames;
              this.opts.broadcaster.emit('upload:progress', { ...job.progress });
            }
            if (failure !== undefined) {
              void worker.terminate();
              end();
              return;
            }
            worker.postMessage({ type: 'ack' } satisfies MainToWorker);
          });
        } else if (msg.type === 'done') {
          warning = msg.warning;
          job.progress.bytesRead = msg.bytesRead;
          job.progress.frames = msg.frames;
          end();
        } else {
          failure = msg.error;
          end();
        }
      });
      worker.on('error', (e) => {
        failure ??= `analysis failed: ${e.message}`;
        end();
      });
      worker.on('exit', (code) => {
        if (!settled && code !== 0) failure ??= `analysis stopped (worker exit code ${code})`;
        end();
      });
    });
    this.current = undefined;
    await worker.terminate();
    this.opts.ingest.forget(captureId);
    if (failure !== undefined) await this.finish(job, 'failed', failure);
    else await this.finish(job, 'done', warning);
  }

  private async finish(job: Job, state: 'done' | 'failed', error: string | null): Promise<void> {
    const row = await this.opts.db.prisma.capture.update({ where: { id: job.captureId }, data: { status: state, error, stoppedAt: new Date() } });
    job.progress.state = state;
    job.progress.error = error;
    this.opts.log.info({ captureId: job.captureId, state, error, frames: job.progress.frames }, 'upload analysed');
    this.opts.broadcaster.emit('upload:progress', { ...job.progress });
    this.opts.broadcaster.emit('capture:status', {
      captureId: row.id, source: row.source, status: row.status, error: row.error, packets: Number(row.packets), drops: Number(row.drops),
      sessions: row.sessions, mails: row.mails, bytes: Number(row.bytes),
    });
  }
}
