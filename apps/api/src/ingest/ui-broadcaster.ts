/**
 * Where the ingest and the uploads send live updates: the /ui gateway in the API, a recorder in
 * tests, nothing in tools. Calls must not throw and must not wait (they run inside the ingest).
 */
import type { ServerToUiEvents } from '@mailscope/shared';

/** Rows stored since the previous stats tick. */
export interface StoredDelta {
  readonly packets: number;
  readonly sessions: number;
  readonly timeline: number;
  readonly mails: number;
  readonly bytes: number;
}

export interface UiBroadcaster {
  emit<E extends keyof ServerToUiEvents>(event: E, ...args: Parameters<ServerToUiEvents[E]>): void;
  /** Adds to the next stats tick (sent once a second while something changed). */
  stored(delta: StoredDelta): void;
}

export const silentBroadcaster: UiBroadcaster = {
  emit: () => undefined,
  stored: () => undefined,
};
