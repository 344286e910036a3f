/**
 * One live capture end to end inside the agent: LiveCapture frames -> Analyzer -> mails summarised
 * (async, order kept) -> BatchBuilder -> Spool. The sender (agent-runner.ts) takes batches from
 * the spool; this file never talks to the API.
 *
 * Settings changed during the capture (`updateSettings`): the engine learns the new port lists
 * first, then the capture switches to the new filter, so the first frame on a newly listed port
 * is already classified; sessions in flight keep their state because the engine is not replaced.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Analyzer } from '@mailscope/protocols/analyzer';
import type { AnalyzerEvent } from '@mailscope/protocols/events';
import { summarizeMail } from '@mailscope/protocols/mail-summary';
import type { Frame } from '@mailscope/protocols/types';
import type { MailModuleSettings } from '@mailscope/shared';
import type { BatchPayload } from '@mailscope/shared/agent-protocol';
import type { Spool } from '../spool/spool.ts';
import { BatchBuilder, type BatchLimits } from '../spool/batch-builder.ts';
import { buildBpfFilter } from './bpf-filter.ts';
import { LiveCapture } from './live-capture.ts';

export function nodeSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * How often the open batch is closed and spooled when the spool is empty (the sender idle): the
 * floor of the capture-to-stored latency at low rates; at high rates batches close on their size
 * limits long before.
 */
export const DEFAULT_FLUSH_MS = 100;

/**
 * How long the open batch may stay open while earlier batches wait in the spool (being sent, or
 * the API away). Closing a batch every DEFAULT_FLUSH_MS whatever the sender is doing queues small
 * batches behind the one being stored, each a round trip of its own; held open, the batch grows
 * while the one before is stored and leaves as one (up to its size limits) once the spool is
 * empty. bench:live showed no latency change from this alone (the bench's limit was elsewhere);
 * the bound keeps records from waiting in memory, rather than on disk, for long while the API is
 * away.
 */
export const MAX_HOLD_MS = 1000;

export interface CapturePipelineOptions {
  readonly captureId: string;
  readonly device: string;
  readonly settings: MailModuleSettings;
  /** The filter to start with; default: built from the settings. */
  readonly filter?: string;
  readonly spool: Spool;
  /** Called after batches were spooled (the sender wakes up). */
  readonly onSpooled?: () => void;
  /** Every event in the engine's order, mails with their summary (tests, logs). */
  readonly onEvent?: (event: AnalyzerEvent) => void;
  readonly flushMs?: number;
  readonly bufferBytes?: number;
  readonly batchLimits?: Partial<BatchLimits>;
}

interface Queued {
  event: AnalyzerEvent;
  readonly frame: Frame | undefined;
  done: boolean;
  summary?: Promise<unknown>;
}

export interface PipelineStatus {
  readonly received: number;
  /** libpcap's drops when known, plus records the full spool refused. */
  readonly dropped: number;
  /** Records waiting in memory (batch being built, mails being summarised). */
  readonly queuedInMemory: number;
}

export class CapturePipeline {
  readonly captureId: string;
  private settings: MailModuleSettings;
  private readonly analyzer: Analyzer;
  private readonly builder: BatchBuilder;
  private capture: LiveCapture | undefined;
  private currentFrame: Frame | undefined;
  private readonly queue: Queued[] = [];
  private summariesInFlight: Promise<unknown>[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the last batch was spooled (performance.now()). */
  private lastSpooled = performance.now();
  private spoolRefused = 0;
  private stopped = false;

  constructor(private readonly options: CapturePipelineOptions) {
    this.captureId = options.captureId;
    this.settings = options.settings;
    this.analyzer = new Analyzer({ ...options.settings, sha256: nodeSha256 }, (e) => this.onEngineEvent(e));
    this.builder = new BatchBuilder(
      { captureId: options.captureId, saveMail: () => this.settings.saveMail, ...(options.batchLimits ? { limits: options.batchLimits } : {}) },
      (batch) => this.spoolBatch(batch),
    );
  }

  /** The filter the capture runs with. */
  get filter(): string {
    return this.capture?.filter ?? this.options.filter ?? buildBpfFilter(this.settings);
  }

  /** Opens the interface; throws a CaptureError (see LiveCapture.open). */
  start(): void {
    this.capture = LiveCapture.open({
      device: this.options.device,
      filter: this.filter,
      ...(this.options.bufferBytes !== undefined ? { bufferBytes: this.options.bufferBytes } : {}),
      onFrame: (frame) => {
        this.currentFrame = frame;
        this.analyzer.push(frame);
        this.currentFrame = undefined;
        this.deliver();
      },
    });
    this.timer = setInterval(() => {
      if (this.options.spool.length === 0 || performance.now() - this.lastSpooled >= MAX_HOLD_MS) this.builder.flush();
    }, this.options.flushMs ?? DEFAULT_FLUSH_MS);
  }

  /** New mail-module settings during the capture; rejects (settings unchanged) on a filter that does not compile. */
  async updateSettings(settings: MailModuleSettings): Promise<void> {
    const filter = buildBpfFilter(settings);
    const previous = this.settings;
    this.settings = settings;
    this.analyzer.updateSettings(settings);
    try {
      await this.capture?.setFilter(filter);
    } catch (err) {
      this.settings = previous;
      this.analyzer.updateSettings(previous);
      throw err;
    }
  }

  status(): PipelineStatus {
    const stats = this.capture?.stats();
    return {
      received: stats?.received ?? 0,
      dropped: (stats?.dropped ?? 0) + this.spoolRefused,
      queuedInMemory: this.builder.pending + this.queue.length,
    };
  }

  /**
   * Stops capturing, closes the sessions still open (`Analyzer.end`), waits for their mails'
   * summaries and spools the last batch. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.capture?.close();
    this.analyzer.end();
    this.deliver();
    while (this.queue.length > 0) {
      await Promise.all(this.summariesInFlight);
      this.deliver();
    }
    this.builder.flush();
  }

  private onEngineEvent(e: AnalyzerEvent): void {
    const item: Queued = { event: e, frame: e.type === 'packet' ? this.currentFrame : undefined, done: true };
    if (e.type === 'mail') {
      item.done = false;
      const p = summarizeMail(e.raw, { sha256: nodeSha256 }).then(
        (summary) => {
          item.event = { ...e, summary };
        },
        (err: unknown) => {
          item.event = { ...e, summary: { to: [], cc: [], attachments: [], parseError: err instanceof Error ? err.message : String(err) } };
        },
      );
      item.summary = p.finally(() => {
        item.done = true;
        this.summariesInFlight = this.summariesInFlight.filter((x) => x !== item.summary);
        this.deliver();
      });
      this.summariesInFlight.push(item.summary);
    }
    this.queue.push(item);
  }

  /** Hands the events whose summaries are ready, in order, to the batch builder. */
  private deliver(): void {
    while (this.queue.length > 0 && this.queue[0]?.done === true) {
      const item = this.queue.shift() as Queued;
      this.options.onEvent?.(item.event);
      this.builder.add(item.event, item.frame);
    }
  }

  private spoolBatch(batch: BatchPayload): void {
    this.lastSpooled = performance.now();
    if (!this.options.spool.append(batch)) {
      this.spoolRefused += batch.packets.length + batch.sessions.length + batch.timeline.length + batch.mails.length;
      return;
    }
    this.options.onSpooled?.();
  }
}
