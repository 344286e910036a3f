/**
 * The scheduling priority of the thread that reads libpcap's ring. That thread is the agent's
 * main thread, where cap delivers each frame. The ring is the one stage of the whole path that
 * loses data when it is not read in time: past it, batches wait in memory or in the spool and
 * the API catches up. When the host's cores are busy, the default priority gives the agent's
 * thread only its share of them, and a ring of ~2,000 slots overflows within ~150 ms at 15,000
 * frames/s. In bench:live, the first step ran at ~630 sessions/s with the API and PostgreSQL on
 * the same 2 cores. At nice 0 the agent's event loop stalled for 128-452 ms there, and 212-951
 * frames were dropped in 3 of 6 runs. At nice -10 the stall was 28-61 ms in 6 steps of 3 runs up
 * to ~20,000 frames/s, with no drop.
 *
 * Only the calling thread is changed (Linux's setpriority on a thread id): libuv's and V8's
 * helper threads keep their priority.
 */
import { getPriority, setPriority } from 'node:os';

/** The niceness `mailscope-agent run` asks for by default (`--nice`). */
export const CAPTURE_NICENESS = -10;

/** A niceness Linux takes: a whole number from -20 to 19. */
export function isNiceness(n: number): boolean {
  return Number.isInteger(n) && n >= -20 && n <= 19;
}

/**
 * Gives the calling thread `niceness` (-20 to 19). Returns undefined when done, or a message
 * that says why not and what to do. Lowering the niceness below the current one needs root or
 * CAP_SYS_NICE.
 */
export function prioritizeCapture(niceness: number): string | undefined {
  if (!isNiceness(niceness)) return `niceness ${niceness} is not an integer from -20 to 19`;
  try {
    setPriority(niceness);
    return undefined;
  } catch (err) {
    const code = (err as { info?: { code?: string } }).info?.code ?? (err as { code?: string }).code ?? String(err);
    return `could not set the capture thread's niceness to ${niceness} (${code}; it stays ${getPriority()}): when the host is busy, ` +
      'frames may be dropped from the capture ring. Run the agent as root, or give node CAP_SYS_NICE, or pass --nice 0 to keep the default';
  }
}
