/**
 * Worker thread of an upload: reads the capture file in chunks, runs the engine on it (the same
 * CaptureReader -> Analyzer pipeline as the agent, with the port lists of the current settings,
 * node:crypto's sha256 and summarizeMail) and posts batches to the main thread, which stores them
 * through the ingest service. Contract of the messages: upload-messages.ts.
 *
 * Flow control: at most `MAX_BATCHES_IN_FLIGHT` batches wait for the main thread's `ack`; the file
 * is not read further meanwhile, so memory stays bounded whatever the file's size.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Analyzer } from '@mailscope/protocols/analyzer';
import { CaptureReader } from '@mailscope/protocols/capture-reader';
import type { AnalyzerEvent, MailEvent } from '@mailscope/protocols/events';
import { summarizeMail } from '@mailscope/protocols/mail-summary';
import { packBatch } from '@mailscope/shared';
import type { BatchMail, BatchPacket, BatchSessionEvent, BatchTimelineEntry } from '@mailscope/shared';
import { batchPacket } from '@mailscope/shared/packet-block';
import type { UploadWorkerData, WorkerToMain, MainToWorker } from './upload-messages.ts';

const CHUNK_BYTES = 1024 * 1024;
const MAX_BATCHES_IN_FLIGHT = 2;
/** Flush a batch past any of these (well inside the protocol's per-batch limits). */
const FLUSH = { packets: 2_000, sessions: 2_000, timeline: 10_000, mails: 500, bytes: 8 * 1024 * 1024 };

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const port = parentPort;
if (port === null) throw new Error('upload-worker runs as a worker thread');
const data = workerData as UploadWorkerData;

let inFlight = 0;
let wake: (() => void) | undefined;
port.on('message', (msg: MainToWorker) => {
  if (msg.type === 'ack') {
    inFlight--;
    wake?.();
  }
});

function post(msg: WorkerToMain, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

/** A batch whose mails still need their summary. */
interface SealedBatch {
  readonly packets: BatchPacket[];
  readonly sessions: BatchSessionEvent[];
  readonly timeline: BatchTimelineEntry[];
  readonly mails: MailEvent[];
}

/**
 * Collects the engine's records (synchronously, from its callback) into batches within the
 * protocol's limits: a batch is sealed as soon as one of them is reached, even in the middle of a
 * chunk; `send` summarises and posts the sealed ones.
 */
class BatchBuilder {
  private packets: BatchPacket[] = [];
  private sessions: BatchSessionEvent[] = [];
  private timeline: BatchTimelineEntry[] = [];
  private mails: MailEvent[] = [];
  private bytes = 0;
  private seq = 0;
  private readonly sealed: SealedBatch[] = [];

  packet(p: BatchPacket): void {
    this.packets.push(p);
    this.bytes += p.raw.byteLength;
    this.check();
  }

  session(s: BatchSessionEvent): void {
    this.sessions.push(s);
    this.check();
  }

  entry(t: BatchTimelineEntry): void {
    this.timeline.push(t);
    this.check();
  }

  mail(m: MailEvent): void {
    this.mails.push(m);
    this.bytes += m.raw.byteLength;
    this.check();
  }

  private check(): void {
    if (this.packets.length >= FLUSH.packets || this.sessions.length >= FLUSH.sessions || this.timeline.length >= FLUSH.timeline
      || this.mails.length >= FLUSH.mails || this.bytes >= FLUSH.bytes) this.seal();
  }

  seal(): void {
    if (this.packets.length + this.sessions.length + this.timeline.length + this.mails.length === 0) return;
    this.sealed.push({ packets: this.packets, sessions: this.sessions, timeline: this.timeline, mails: this.mails });
    this.packets = [];
    this.sessions = [];
    this.timeline = [];
    this.mails = [];
    this.bytes = 0;
  }

  /** Summarises the mails of the sealed batches and posts them; waits while too many are unacknowledged. */
  async send(progress: { bytesRead: number; frames: number }): Promise<void> {
    for (let b = this.sealed.shift(); b !== undefined; b = this.sealed.shift()) {
      const mails: BatchMail[] = [];
      for (const m of b.mails) {
        // One at a time: concurrent parses would hold every parse's state at once.
        const summary = await summarizeMail(m.raw, { sha256 });
        mails.push({ ...m, summary } as unknown as BatchMail);
      }
      // Packed here rather than on the main thread, which only checks it (validateBatch): the
      // encoding is off the API's event loop, and four binary parts are transferred instead of
      // thousands of records cloned.
      const batch = packBatch({ captureId: data.captureId, batchId: `upload-${this.seq}`, seq: this.seq, packets: b.packets, sessions: b.sessions, timeline: b.timeline, mails });
      this.seq++;
      const transfer = [batch.packets, batch.timeline, batch.records, batch.mailBytes].map((part) => part.buffer as ArrayBuffer);
      while (inFlight >= MAX_BATCHES_IN_FLIGHT) await new Promise<void>((resolve) => (wake = resolve));
      inFlight++;
      post({ type: 'batch', batch, progress }, transfer);
    }
  }
}

async function run(): Promise<void> {
  const builder = new BatchBuilder();
  /** Copies of frames whose packet record the engine has not emitted yet (content detection holds some). */
  const raws = new Map<number, { linkType: number; raw: Uint8Array }>();
  const analyzer = new Analyzer({ ...data.settings, sha256 }, (e: AnalyzerEvent) => {
    switch (e.type) {
      case 'packet': {
        const frame = raws.get(e.no);
        raws.delete(e.no);
        if (frame === undefined) return;
        builder.packet(batchPacket(e, frame.linkType, frame.raw));
        return;
      }
      case 'session-opened':
      case 'session-closed':
        builder.session(e as BatchSessionEvent);
        return;
      case 'timeline':
        builder.entry({ ...e, frames: [...e.frames] } as BatchTimelineEntry);
        return;
      case 'mail':
        builder.mail(e);
        return;
    }
  });
  const reader = new CaptureReader();
  const file = await open(data.path, 'r');
  const chunk = new Uint8Array(CHUNK_BYTES);
  let bytesRead = 0;
  try {
    while (true) {
      const { bytesRead: n } = await file.read(chunk, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      bytesRead += n;
      reader.push(chunk.subarray(0, n), (frame) => {
        raws.set(frame.no, { linkType: frame.linkType, raw: frame.data.slice() });
        analyzer.push(frame);
      });
      if (reader.error !== undefined) break;
      await builder.send({ bytesRead, frames: reader.frameCount });
    }
  } finally {
    await file.close();
  }
  reader.end();
  const error = reader.error;
  if (error !== undefined && (error.code === 'NOT_A_CAPTURE' || reader.frameCount === 0)) {
    post({ type: 'failed', error: describe(error.code, error.message) });
    return;
  }
  analyzer.end();
  builder.seal();
  await builder.send({ bytesRead, frames: reader.frameCount });
  while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
  post({
    type: 'done',
    frames: reader.frameCount,
    bytesRead,
    warning: error === undefined ? null : describe(error.code, error.message),
  });
}

function describe(code: string, message: string): string {
  return code === 'NOT_A_CAPTURE' ? `not a pcap or pcapng capture: ${message}` : `${code}: ${message}`;
}

run().catch((e: unknown) => {
  post({ type: 'failed', error: `analysis failed: ${e instanceof Error ? e.message : String(e)}` });
});
