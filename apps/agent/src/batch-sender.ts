/**
 * Sends the spool's batches to the API, oldest first, one at a time: the next batch leaves only
 * when the previous one was acknowledged, so the API stores a capture's records in the engine's
 * order (a timeline entry never arrives before its session). A batch is removed from the spool
 * when acknowledged; no ack (disconnect, timeout) means it is sent again - the API's ingest is
 * idempotent by natural keys, so a batch stored twice is stored once. A batch the API could not
 * store for a reason of its own (`ok: false, retry: true`: its database away) stays first in line
 * and is sent again after a pause that grows to 30 s. A batch the API refuses (`ok: false`: it
 * fails validation, or names a capture that is not this agent's) would be refused again forever:
 * it moves to the spool's `rejected/` folder and the queue goes on.
 */
import type { BatchAck, WireBatchPayload } from '@mailscope/shared/agent-protocol';
import type { Spool, SpoolEntry } from './spool/spool.ts';

/** A connection the sender can use: socket.io's emit with an ack and a timeout, and whether it is up. */
export interface BatchChannel {
  isConnected(): boolean;
  /** Emits the batch as the spool holds it: already in its wire form. */
  send(batch: WireBatchPayload, timeoutMs: number): Promise<BatchAck>;
}

/** Storing a full batch takes the API tens of ms; a minute without an ack means the ack is lost. */
export const ACK_TIMEOUT_MS = 60_000;

/** The longest pause between two tries of a batch the API could not store. */
const MAX_RETRY_DELAY_MS = 30_000;

export interface SenderEvents {
  readonly acked?: (batch: WireBatchPayload, entry: SpoolEntry) => void;
  /** The API could not store `batch` (`error`); it is sent again in `delayMs`. */
  readonly retrying?: (batch: WireBatchPayload, error: string, delayMs: number) => void;
  readonly rejected?: (batch: WireBatchPayload | undefined, error: string, movedTo: string) => void;
}

/** The events a person running the agent hears of: refused batches and batches to be sent again. */
export function loggedSenderEvents(log: (line: string) => void): SenderEvents {
  return {
    rejected: (batch, error, moved) => log(`the API refused batch ${batch?.batchId ?? '?'}: ${error} (kept in ${moved})`),
    retrying: (batch, error, delayMs) => log(`the API could not store batch ${batch.batchId}: ${error}; sending it again in ${delayMs / 1000} s`),
  };
}

export class BatchSender {
  private running = false;
  private wakeAgain = false;

  constructor(
    private readonly spool: Spool,
    private readonly channel: BatchChannel,
    private readonly events: SenderEvents = {},
    private readonly ackTimeoutMs = ACK_TIMEOUT_MS,
    /** The first pause before a batch the API asked to be sent again; it doubles up to 30 s. */
    private readonly retryDelayMs = 1000,
  ) {}

  /** Batches not yet acknowledged. */
  get waiting(): number {
    return this.spool.length;
  }

  /** Sends what the spool holds while connected; call after spooling and after (re)connecting. */
  wake(): void {
    if (this.running) {
      this.wakeAgain = true;
      return;
    }
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      }
    });
  }

  /** Resolves when the spool is empty, or false after `timeoutMs` (the API away or slow). */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.spool.length > 0) {
      if (Date.now() > until) return false;
      this.wake();
      await new Promise((done) => setTimeout(done, 20));
    }
    return true;
  }

  private async loop(): Promise<void> {
    let retryDelay = this.retryDelayMs;
    while (this.channel.isConnected()) {
      const entry = this.spool.peek();
      if (entry === undefined) return;
      let batch: WireBatchPayload;
      try {
        batch = this.spool.read(entry);
      } catch (err) {
        const moved = this.spool.discard(entry);
        this.events.rejected?.(undefined, `unreadable spool file: ${err instanceof Error ? err.message : String(err)}`, moved);
        continue;
      }
      let ack: BatchAck;
      try {
        ack = await this.channel.send(batch, this.ackTimeoutMs);
      } catch {
        // Disconnected or no ack in time: the batch stays first in line for the next connection.
        if (this.channel.isConnected()) await new Promise((done) => setTimeout(done, 1000));
        continue;
      }
      if (ack.ok) {
        retryDelay = this.retryDelayMs;
        this.spool.remove(entry);
        this.events.acked?.(batch, entry);
      } else if (ack.retry === true) {
        this.events.retrying?.(batch, ack.error, retryDelay);
        await new Promise((done) => setTimeout(done, retryDelay));
        retryDelay = Math.min(retryDelay * 2, MAX_RETRY_DELAY_MS);
      } else {
        const moved = this.spool.discard(entry);
        this.events.rejected?.(batch, ack.error, moved);
      }
    }
  }
}
