/**
 * Retention (MAILSCOPE_RETENTION_DAYS): a periodic job that deletes what was captured longer ago
 * than the configured number of days.
 *
 * What "older" means, so that an imported capture of an old incident is not deleted the moment it
 * is imported (its packets carry the wire times of years ago):
 * - a capture that is over (not running, queued or analysing) goes whole, with its sessions,
 *   timeline, mails and packets, once it ended (stoppedAt, else startedAt) before the cutoff;
 * - in a live capture that is kept (a capture running for weeks), sessions that ended before the
 *   cutoff by their wire time go (timeline and mails with them), and packets older than the cutoff
 *   that belong to no kept session. A session still open in a running capture is kept.
 *
 * Deletes run in bounded chunks, so a large backlog does not hold one huge transaction or lock.
 * The capture's counters (packets, sessions, mails, bytes) keep counting what was captured.
 * Users, settings, agents and the audit log are never deleted by retention. A mail also written
 * to the Save location stays there: that folder is the administrator's.
 */
import type { Database } from '@mailscope/db';

export interface RetentionResult {
  readonly captures: number;
  readonly sessions: number;
  readonly packets: number;
}

export interface RetentionLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Rows per DELETE statement. */
const PACKET_CHUNK = 20_000;
const SESSION_CHUNK = 2_000;

const DAY_MS = 86_400_000;

/** Deletes what is older than `cutoff` (see the module comment); returns what was deleted. */
export async function applyRetention(db: Database, cutoff: Date): Promise<RetentionResult> {
  const cutoffUs = String(BigInt(cutoff.getTime()) * 1000n);
  let captures = 0;
  let sessions = 0;
  let packets = 0;

  // Captures that are over: packets first in chunks (the largest table, with no foreign key to
  // cascade), then sessions with their timeline entries (no foreign key either; their mails
  // cascade), then the capture row.
  const expired = await db.pool.query<{ id: string }>(
    `SELECT id FROM "Capture"
      WHERE status NOT IN ('running', 'queued', 'analysing') AND coalesce("stoppedAt", "startedAt") < $1
      ORDER BY "startedAt"`,
    [cutoff],
  );
  for (const { id } of expired.rows) {
    packets += await deleteInChunks(db, `DELETE FROM "Packet" WHERE ctid = ANY(ARRAY(SELECT ctid FROM "Packet" WHERE "captureId" = $1 LIMIT ${PACKET_CHUNK}))`, [id]);
    sessions += await deleteInChunks(db, deleteSessions(`SELECT id FROM "Session" WHERE "captureId" = $1 LIMIT ${SESSION_CHUNK}`, false), [id], 'n');
    captures += (await db.pool.query('DELETE FROM "Capture" WHERE id = $1', [id])).rowCount ?? 0;
  }

  // Live captures that are kept: old sessions and old packets inside them. Packets go before their
  // sessions, so that few packets are left to unlink from a deleted session.
  const oldSession = `coalesce(s."endTs", s."startTs") < $1::bigint AND (s."endTs" IS NOT NULL OR c.status <> 'running')`;
  packets += await deleteInChunks(db, `
    DELETE FROM "Packet" WHERE ctid = ANY(ARRAY(
      SELECT p.ctid FROM "Packet" p
        JOIN "Capture" c ON c.id = p."captureId"
        LEFT JOIN "Session" s ON s.id = p."sessionId"
       WHERE c.source = 'live' AND p.ts < $1::bigint AND (s.id IS NULL OR (${oldSession}))
       LIMIT ${PACKET_CHUNK}))`, [cutoffUs]);
  sessions += await deleteInChunks(db, deleteSessions(`
    SELECT s.id FROM "Session" s JOIN "Capture" c ON c.id = s."captureId"
     WHERE c.source = 'live' AND ${oldSession}
     LIMIT ${SESSION_CHUNK}`, true), [cutoffUs], 'n');

  return { captures, sessions, packets };
}

/**
 * One statement that deletes the sessions `ids` selects with what has no foreign key to cascade
 * from them (schema.prisma): their timeline entries, and with `unlinkPackets` the sessionId of
 * packets left of them (a kept packet of a deleted session, one stamped after the cutoff, is told
 * its session is gone, as SET NULL did). Its one row's `n` is the number of sessions deleted.
 */
function deleteSessions(ids: string, unlinkPackets: boolean): string {
  return `
    WITH gone AS (
      DELETE FROM "Session" WHERE id = ANY(ARRAY(${ids})) RETURNING id
    ), timeline AS (
      DELETE FROM "TimelineEntry" WHERE "sessionId" IN (SELECT id FROM gone)
    )${unlinkPackets ? `, unlinked AS (
      UPDATE "Packet" SET "sessionId" = NULL WHERE "sessionId" IN (SELECT id FROM gone)
    )` : ''}
    SELECT count(*)::int AS n FROM gone`;
}

/** Runs `sql` until it deletes nothing; its row count, or the integer column `countColumn` of its one row. */
async function deleteInChunks(db: Database, sql: string, params: unknown[], countColumn?: string): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await db.pool.query<Record<string, number>>(sql, params);
    const n = countColumn === undefined ? (r.rowCount ?? 0) : (r.rows[0]?.[countColumn] ?? 0);
    total += n;
    if (n === 0) return total;
  }
}

export interface RetentionJobOptions {
  readonly db: Database;
  readonly days: number;
  readonly log: RetentionLog;
  /** Time between runs; default one hour. The first run is at start. */
  readonly intervalMs?: number;
  /** The clock; tests pass their own. */
  readonly now?: () => Date;
}

export interface RetentionJob {
  /** Resolves once the first run (at start) has finished, whatever its outcome. */
  readonly firstRun: Promise<void>;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `applyRetention` at start and then every `intervalMs`; a run never overlaps the previous
 * one, and a failed run is logged and tried again at the next tick. With several API instances on
 * one database each runs the job: the deletes are idempotent, so that costs work, not correctness.
 */
export function startRetention(opts: RetentionJobOptions): RetentionJob {
  const now = opts.now ?? (() => new Date());
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  let stopped = false;
  const run = (): Promise<void> => {
    if (stopped || busy) return running;
    busy = true;
    const cutoff = new Date(now().getTime() - opts.days * DAY_MS);
    running = applyRetention(opts.db, cutoff).then(
      (r) => {
        if (r.captures + r.sessions + r.packets > 0) opts.log.info({ ...r, cutoff: cutoff.toISOString() }, `retention (${opts.days} days): deleted old data`);
      },
      (e: unknown) => opts.log.error({ err: e }, 'retention run failed; trying again at the next run'),
    ).finally(() => {
      busy = false;
    });
    return running;
  };
  const firstRun = run();
  const timer = setInterval(() => void run(), opts.intervalMs ?? 3_600_000);
  timer.unref();
  return {
    firstRun,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
