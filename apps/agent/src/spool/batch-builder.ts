/**
 * Cuts the engine's event stream into `batch` payloads: records added in the engine's order, a
 * batch closed when one of its lists or its bytes reach their limit, or when the caller flushes
 * (on a timer, at the end). Batches are numbered 0, 1, 2, ... per capture; a batch id is the
 * builder's run id and that number, so ids stay unique when an agent restarts a capture id.
 */
import { randomUUID } from 'node:crypto';
import type { AnalyzerEvent, MailEvent, MailSummary } from '@mailscope/protocols/events';
import type { Frame } from '@mailscope/protocols/types';
import { AGENT_PROTOCOL_LIMITS, type BatchMail, type BatchPacket, type BatchPayload } from '@mailscope/shared/agent-protocol';
import { batchPacket, packetBlockBound } from '@mailscope/shared/packet-block';
import { timelineBlockBound } from '@mailscope/shared/timeline-block';

export interface BatchLimits {
  readonly packets: number;
  readonly sessions: number;
  readonly timeline: number;
  readonly mails: number;
  /**
   * Bytes: of the mails, and of the packets and timeline entries as their blocks hold them
   * (packetBlockBound, timelineBlockBound); a single larger mail still makes a batch of its own.
   */
  readonly bytes: number;
}

/**
 * The protocol's bounds (AGENT_PROTOCOL_LIMITS): no batch passes them, whatever `limits` asks for,
 * because the API refuses such a batch - and one refused batch is a hole in the capture.
 */
export const PROTOCOL_BATCH_LIMITS: BatchLimits = {
  packets: AGENT_PROTOCOL_LIMITS.maxBatchPackets,
  sessions: AGENT_PROTOCOL_LIMITS.maxBatchSessions,
  timeline: AGENT_PROTOCOL_LIMITS.maxBatchTimeline,
  mails: AGENT_PROTOCOL_LIMITS.maxBatchMails,
  bytes: AGENT_PROTOCOL_LIMITS.maxBatchBytes,
};

/**
 * Well inside the protocol's limits: a 4 MiB batch is a few ms to send on loopback and a
 * bounded insert for the API, and keeps the latency of a busy capture's records low.
 */
export const DEFAULT_BATCH_LIMITS: BatchLimits = {
  packets: 2_000,
  sessions: 2_000,
  timeline: 10_000,
  mails: AGENT_PROTOCOL_LIMITS.maxBatchMails,
  bytes: 4 * 1024 * 1024,
};

export interface BatchBuilderOptions {
  readonly captureId: string;
  /** Save Mail: with it off the mails' bytes are not sent (the API would drop them). */
  readonly saveMail: () => boolean;
  readonly limits?: Partial<BatchLimits>;
  /** First batch number (a capture resumed after a restart continues its numbering). */
  readonly firstSeq?: number;
}

export class BatchBuilder {
  private readonly limits: BatchLimits;
  private readonly runId = randomUUID().slice(0, 8);
  private seq: number;
  private packets: BatchPacket[] = [];
  private sessions: BatchPayload['sessions'][number][] = [];
  private timeline: BatchPayload['timeline'][number][] = [];
  private mails: BatchMail[] = [];
  private bytes = 0;

  constructor(
    private readonly options: BatchBuilderOptions,
    private readonly sink: (batch: BatchPayload) => void,
  ) {
    const wanted = { ...DEFAULT_BATCH_LIMITS, ...options.limits };
    const cap = (key: keyof BatchLimits): number => Math.max(1, Math.min(wanted[key], PROTOCOL_BATCH_LIMITS[key]));
    this.limits = { packets: cap('packets'), sessions: cap('sessions'), timeline: cap('timeline'), mails: cap('mails'), bytes: cap('bytes') };
    this.seq = options.firstSeq ?? 0;
  }

  /** Records waiting for the next batch. */
  get pending(): number {
    return this.packets.length + this.sessions.length + this.timeline.length + this.mails.length;
  }

  /**
   * Adds one engine event. A packet record needs its frame (the bytes are sent with it); a mail
   * needs its summary (the protocol requires one; `summarizeMail` gives it).
   */
  add(event: AnalyzerEvent, frame?: Frame): void {
    switch (event.type) {
      case 'packet': {
        if (frame === undefined) throw new Error('a packet record needs its frame');
        const raw = frame.data.byteLength > AGENT_PROTOCOL_LIMITS.maxFrameBytes ? frame.data.subarray(0, AGENT_PROTOCOL_LIMITS.maxFrameBytes) : frame.data;
        const record = batchPacket(event, frame.linkType, raw);
        // Counted as the block will hold it, so that the block stays within the socket's message limit.
        const size = packetBlockBound(record);
        this.makeRoom(size);
        this.packets.push(record);
        this.bytes += size;
        break;
      }
      case 'session-opened':
      case 'session-closed':
        this.sessions.push(event as BatchPayload['sessions'][number]);
        break;
      case 'timeline': {
        const entry = event as BatchPayload['timeline'][number];
        // Counted as its block will hold it, like the packets.
        const size = timelineBlockBound(entry);
        this.makeRoom(size);
        this.timeline.push(entry);
        this.bytes += size;
        break;
      }
      case 'mail':
        this.addMail(event);
        break;
    }
    if (this.full()) this.flush();
  }

  /** Closes the current batch, if it has anything, and hands it to the sink. */
  flush(): void {
    if (this.pending === 0) return;
    const seq = this.seq++;
    const batch: BatchPayload = {
      captureId: this.options.captureId,
      batchId: `${this.runId}-${seq}`,
      seq,
      packets: this.packets,
      sessions: this.sessions,
      timeline: this.timeline,
      mails: this.mails,
    };
    this.packets = [];
    this.sessions = [];
    this.timeline = [];
    this.mails = [];
    this.bytes = 0;
    this.sink(batch);
  }

  private addMail(event: MailEvent): void {
    const summary: MailSummary = event.summary ?? { to: [], cc: [], attachments: [], parseError: 'not summarised' };
    const { raw, summary: _summary, ...rest } = event;
    const keep = this.options.saveMail();
    if (keep) this.makeRoom(raw.byteLength);
    this.mails.push({ ...rest, summary, ...(keep ? { raw } : {}) } as BatchMail);
    if (keep) this.bytes += raw.byteLength;
  }

  /**
   * Closes the current batch first when `bytes` more would take it past the byte limit: a batch
   * never passes it (maxBatchBytes is a hard limit of the protocol), except a single record that
   * is larger alone (a mail up to maxMailBytes), which makes a batch of its own.
   */
  private makeRoom(bytes: number): void {
    if (this.pending > 0 && this.bytes + bytes > this.limits.bytes) this.flush();
  }

  private full(): boolean {
    const l = this.limits;
    return (
      this.packets.length >= l.packets ||
      this.sessions.length >= l.sessions ||
      this.timeline.length >= l.timeline ||
      this.mails.length >= l.mails ||
      this.bytes >= l.bytes
    );
  }
}
