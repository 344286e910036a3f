/**
 * Stores batches of engine records (a validated `BatchPayload`), for the /agent gateway and the
 * upload worker alike, and tells the /ui broadcaster what changed.
 *
 * Two transactions per batch:
 * 1. sessions: session-opened inserts the Session row, session-closed completes it (or creates it
 *    when its opening was never received); a session opened and closed in the same batch is
 *    inserted once, closed. Then the Session.id of every session the batch names, and the
 *    Capture row's session counter.
 * 2. records, with the ids of 1:
 *    - packets and timeline entries: binary COPY straight into Packet / TimelineEntry; when a row
 *      of the batch is already stored (a replay), that COPY fails on the primary key, is rolled
 *      back to its savepoint, and the rows go through a temporary table and
 *      `INSERT ... ON CONFLICT DO NOTHING` instead;
 *    - mails and their attachments; raw bytes only with Save Mail on, and with a save location
 *      each new mail is also written there as `<captureId>-<engineSessionId>-<index>.eml`;
 *    - the Capture row's other counters, by the rows this batch really added.
 *
 * Order: the phases 1 of a capture's batches run one after the other, in the order `ingest` was
 * called (a packet needs the session a previous batch opened, and a session's close its open).
 * A batch's phase 2 starts when its phase 1 is committed, and runs while the next batches' phases
 * run: on a 5,000-packet batch phase 2 is four fifths of the work, so the COPYs of consecutive
 * batches overlap on their own connections instead of queueing behind one another. UI events and
 * the result of `ingest` still come in call order: a batch's after the batch's before it.
 * Different captures proceed concurrently.
 *
 * Idempotency: every row has its natural key - (captureId, engineSessionId) for a session,
 * (captureId, frameNo) for a packet, (sessionId, seq) for a timeline entry, (sessionId, index) for
 * a mail - and a row whose key is stored is skipped (a closed session is not completed twice), so
 * a batch sent again changes no row and no counter, and raises no UI event. A batch whose phase 2
 * fails has its sessions stored; sent again, it stores the rest.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database } from '@mailscope/db';
import type { BatchMail, BatchPayload, BatchSessionClosed, BatchSessionOpened, BatchTimelineEntry, StoredCounts } from '@mailscope/shared';
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PACKET_COPY_COLUMNS, TIMELINE_COPY_COLUMNS, encodePackets, encodeTimeline } from './copy-binary.ts';
import { pgTextDeep } from './pg-text.ts';
import type { MailSettingsCache } from './settings-cache.ts';
import type { UiBroadcaster } from './ui-broadcaster.ts';

/** A batch the store refuses for a reason the sender should hear (unknown capture, ...). */
export class IngestRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IngestRefusedError';
  }
}

export interface IngestServiceOptions {
  readonly db: Database;
  readonly log: FastifyBaseLogger;
  readonly broadcaster: UiBroadcaster;
  readonly settings: MailSettingsCache;
}

/** Session ids remembered per capture; past it the capture's map is started afresh (it is only a cache). */
const MAX_CACHED_SESSIONS = 200_000;

const UNIQUE_VIOLATION = '23505';

export class IngestService {
  /** Per capture: the phase 1 of its last batch. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Per capture: the announcement of its last batch. */
  private readonly announced = new Map<string, Promise<unknown>>();
  /** Session.id by engine session id, per capture: saves a lookup per batch for sessions opened earlier. */
  private readonly sessionIds = new Map<string, Map<number, bigint>>();

  constructor(private readonly opts: IngestServiceOptions) {}

  /**
   * Stores `batch` of capture `captureId` (already validated: `validateBatch`). Resolves with the
   * rows it added; rejects with IngestRefusedError (nothing stored) or a database error (its
   * sessions may be stored, nothing else: see the module comment).
   */
  ingest(captureId: string, validated: BatchPayload): Promise<StoredCounts> {
    // Packets and timeline entries go through COPY, whose encoder does the same per string.
    const batch: BatchPayload = { ...validated, sessions: pgTextDeep(validated.sessions), mails: pgTextDeep(validated.mails) };
    // Phase 1, in call order per capture: the batch's sessions, and the ids of every session it names.
    const sessions = chained(this.queues, captureId, () => this.storeSessions(captureId, batch));
    // Phase 2, concurrently with the phases 2 of the batches before and after it: its records.
    const records = sessions.then((s) => this.storeRecords(captureId, batch, s));
    // Announced and answered in call order: a batch's events after those of the batch before it.
    return chained(this.announced, captureId, () =>
      records.then(
        (r) => {
          this.announce(captureId, r.sessions, r);
          return { packets: r.packets, sessions: r.sessions.count, timeline: r.timeline, mails: r.mails.length };
        },
        async (e: unknown) => {
          // The sessions are stored even when the records are not (they come again with the batch).
          const s = await sessions.catch(() => undefined);
          if (s !== undefined) this.announce(captureId, s, { packets: 0, timeline: 0, mails: [], bytes: 0, touched: new Map() });
          throw e;
        },
      ),
    );
  }

  /** Forgets the cached session ids of a capture (it ended). */
  forget(captureId: string): void {
    this.sessionIds.delete(captureId);
  }

  /** Phase 1: sessions opened and closed, the capture's session counter, the Session.id of every session the batch names. */
  private async storeSessions(captureId: string, batch: BatchPayload): Promise<StoredSessions> {
    const known = new Map<number, bigint>();
    const opened: { row: SessionRow; event: BatchSessionOpened }[] = [];
    const closed: { row: SessionRow; event: BatchSessionClosed }[] = [];
    let count = 0;
    await this.transaction(async (client) => {
      const exists = await client.query('SELECT 1 FROM "Capture" WHERE id = $1::uuid', [captureId]);
      if (exists.rowCount === 0) throw new IngestRefusedError(`unknown capture ${captureId}`);

      const openEvents = batch.sessions.filter((s): s is BatchSessionOpened => s.type === 'session-opened');
      const closeEvents = batch.sessions.filter((s): s is BatchSessionClosed => s.type === 'session-closed');
      // A session that opens and closes in this batch is written once, closed: half the row
      // versions and index entries of an insert followed by an update.
      const closing = new Set(closeEvents.map((e) => e.sessionId));
      const openedHere = new Map<number, BatchSessionOpened>();
      const openOnly: BatchSessionOpened[] = [];
      for (const e of openEvents) {
        if (closing.has(e.sessionId)) openedHere.set(e.sessionId, e);
        else openOnly.push(e);
      }
      if (openOnly.length > 0) {
        const rows = await insertOpened(client, captureId, openOnly);
        const byEngine = new Map(openOnly.map((e) => [e.sessionId, e]));
        for (const row of rows) {
          known.set(row.engineSessionId, BigInt(row.id));
          opened.push({ row, event: byEngine.get(row.engineSessionId)! });
        }
      }
      let closedInserted = 0;
      if (closeEvents.length > 0) {
        const rows = await upsertClosed(client, captureId, closeEvents, openedHere);
        const byEngine = new Map(closeEvents.map((e) => [e.sessionId, e]));
        for (const row of rows) {
          known.set(row.engineSessionId, BigInt(row.id));
          closed.push({ row, event: byEngine.get(row.engineSessionId)! });
          if (row.inserted !== true) continue;
          const openEvent = openedHere.get(row.engineSessionId);
          if (openEvent === undefined) closedInserted++;
          else opened.push({ row, event: openEvent });
        }
      }

      await this.resolveSessions(client, captureId, batch, known);
      count = opened.length + closedInserted;
      if (count > 0) await client.query('UPDATE "Capture" SET sessions = sessions + $2 WHERE id = $1::uuid', [captureId, count]);
    });
    this.remember(captureId, known);
    return { known, opened, closed, count };
  }

  /** Phase 2: packets, timeline entries, mails and the capture's other counters, in one transaction. */
  private async storeRecords(captureId: string, batch: BatchPayload, sessions: StoredSessions): Promise<StoredRecords> {
    const { known } = sessions;
    const touched = new Map<number, { timeline: number; packets: number; lastTs: number }>();
    let packets = 0;
    let bytes = 0;
    let timeline = 0;
    let mails: StoredMail[] = [];
    if (batch.packets.length + batch.timeline.length + batch.mails.length === 0) return { sessions, packets, timeline, mails, bytes, touched };
    await this.transaction(async (client) => {
      const sessionOf = (engineId: number): bigint | undefined => known.get(engineId);

      if (batch.packets.length > 0) {
        const added = await copyNew(client, { table: 'Packet', columns: PACKET_COPY_COLUMNS, sum: 'length' }, encodePackets(captureId, batch.packets, sessionOf));
        if (added === 'all') {
          packets = batch.packets.length;
          for (const p of batch.packets) bytes += p.length;
        } else {
          packets = added.rows;
          bytes = added.sum;
        }
        if (packets > 0) {
          for (const p of batch.packets) {
            if (p.sessionId === undefined || !known.has(p.sessionId)) continue;
            const t = touchedOf(touched, p.sessionId);
            t.packets++;
            if (p.ts > t.lastTs) t.lastTs = p.ts;
          }
        }
      }

      if (batch.timeline.length > 0) {
        const resolved: { sessionId: bigint; entry: BatchTimelineEntry }[] = [];
        let unknown = 0;
        for (const entry of batch.timeline) {
          const sessionId = known.get(entry.sessionId);
          if (sessionId === undefined) unknown++;
          else resolved.push({ sessionId, entry });
        }
        if (unknown > 0) this.opts.log.warn({ captureId, batchId: batch.batchId, entries: unknown }, 'timeline entries of sessions never opened were not stored');
        if (resolved.length > 0) {
          const added = await copyNew(client, { table: 'TimelineEntry', columns: TIMELINE_COPY_COLUMNS }, encodeTimeline(resolved));
          timeline = added === 'all' ? resolved.length : added.rows;
          if (timeline > 0) {
            for (const { entry } of resolved) {
              const t = touchedOf(touched, entry.sessionId);
              t.timeline++;
              if (entry.ts > t.lastTs) t.lastTs = entry.ts;
            }
          }
        }
      }

      if (batch.mails.length > 0) mails = await this.storeMails(client, captureId, batch, known);

      if (packets + mails.length > 0 || bytes > 0) {
        await client.query(
          'UPDATE "Capture" SET packets = packets + $2, mails = mails + $3, bytes = bytes + $4 WHERE id = $1::uuid',
          [captureId, packets, mails.length, bytes],
        );
      }
    });
    return { sessions, packets, timeline, mails, bytes, touched };
  }

  /** Runs `work` in a transaction on a connection of its own: committed when it resolves, rolled back when it throws. */
  private async transaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.opts.db.pool.connect();
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** Adds to `known` the Session.id of every engine session the batch names. */
  private async resolveSessions(client: pg.PoolClient, captureId: string, batch: BatchPayload, known: Map<number, bigint>): Promise<void> {
    const cache = this.sessionIds.get(captureId);
    const missing = new Set<number>();
    const want = (id: number | undefined): void => {
      if (id === undefined || known.has(id)) return;
      const cached = cache?.get(id);
      if (cached !== undefined) known.set(id, cached);
      else missing.add(id);
    };
    for (const p of batch.packets) want(p.sessionId);
    for (const t of batch.timeline) want(t.sessionId);
    for (const m of batch.mails) want(m.sessionId);
    if (missing.size === 0) return;
    const r = await client.query<{ id: string; engineSessionId: number }>(
      'SELECT id, "engineSessionId" FROM "Session" WHERE "captureId" = $1::uuid AND "engineSessionId" = ANY($2::int[])',
      [captureId, [...missing]],
    );
    for (const row of r.rows) known.set(row.engineSessionId, BigInt(row.id));
  }

  private remember(captureId: string, known: Map<number, bigint>): void {
    let cache = this.sessionIds.get(captureId);
    if (cache === undefined || cache.size + known.size > MAX_CACHED_SESSIONS) {
      cache = new Map();
      this.sessionIds.set(captureId, cache);
    }
    for (const [k, v] of known) cache.set(k, v);
  }

  /**
   * The batch's mails in one INSERT (and their attachments in one more), each row's arrays passed
   * as JSON: a mail-heavy import has hundreds per batch, and a statement per mail cost more than
   * the packets. With Save Mail on the bytes go in the same INSERT, and with a save location each
   * mail's file is written first, so that its path goes in too. Until Nov 2026 they followed in an
   * UPDATE per mail, which gave every such mail a second row version and new entries in each of
   * Mail's indexes, and cost a round trip each (at ~600 mails/s, a fifth of the API's and of
   * PostgreSQL's work in bench:live). A replayed batch rewrites its files with the same bytes;
   * its rows are not touched.
   */
  private async storeMails(client: pg.PoolClient, captureId: string, batch: BatchPayload, known: ReadonlyMap<number, bigint>): Promise<StoredMail[]> {
    const settings = this.opts.settings.current;
    const mails: { sessionId: bigint; mail: BatchMail }[] = [];
    for (const mail of batch.mails) {
      const sessionId = known.get(mail.sessionId);
      if (sessionId === undefined) {
        this.opts.log.warn({ captureId, batchId: batch.batchId, session: mail.sessionId, index: mail.index }, 'mail of a session never opened was not stored');
        continue;
      }
      mails.push({ sessionId, mail });
    }
    if (mails.length === 0) return [];
    const kept = (m: BatchMail): m is BatchMail & { raw: Uint8Array } => settings.saveMail && m.raw !== undefined;
    const savedPaths = new Map<BatchMail, string | null>();
    if (settings.saveLocation !== null) {
      for (const { mail } of mails) if (kept(mail)) savedPaths.set(mail, await this.saveEml(settings.saveLocation, captureId, mail));
    }
    const col = <T>(f: (m: BatchMail) => T): T[] => mails.map(({ mail }) => f(mail));
    const r = await client.query<{ id: string; sessionId: string; index: number }>(
      `INSERT INTO "Mail" ("sessionId", "index", "direction", "command", "messageNumber", "mailFrom", "mailParams", "rcptTo",
         "subject", "from", "to", "cc", "date", "messageId", "parseError", "size", "sha256", "complete", "finalReply",
         "startTs", "endTs", "frames", "raw", "savedPath")
       SELECT s, i, d::"MailDirection", c, mn, mf, ${jsonTextArray('mp')}, ${jsonTextArray('rt')}, subj, fr, ${jsonTextArray('t_')},
              ${jsonTextArray('cc_')}, dt, mid, pe, sz, sha, comp, fin, st, et, ${jsonTextArray('fs')}::int[], rw, sp
         FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[],
                     $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::int[], $17::text[],
                     $18::boolean[], $19::text[], $20::bigint[], $21::bigint[], $22::text[], $23::bytea[], $24::text[])
           AS t(s, i, d, c, mn, mf, mp, rt, subj, fr, t_, cc_, dt, mid, pe, sz, sha, comp, fin, st, et, fs, rw, sp)
       ON CONFLICT ("sessionId", "index") DO NOTHING
       RETURNING id::text AS id, "sessionId"::text AS "sessionId", "index"`,
      [
        mails.map((m) => String(m.sessionId)), col((m) => m.index), col((m) => m.direction), col((m) => m.command), col((m) => m.messageNumber ?? null),
        col((m) => m.envelope?.mailFrom ?? null), col((m) => JSON.stringify(m.envelope?.mailParams ?? [])), col((m) => JSON.stringify(m.envelope?.rcptTo ?? [])),
        col((m) => m.summary.subject ?? null), col((m) => m.summary.from ?? null), col((m) => JSON.stringify(m.summary.to)), col((m) => JSON.stringify(m.summary.cc)),
        col((m) => m.summary.date ?? null), col((m) => m.summary.messageId ?? null), col((m) => m.summary.parseError ?? null),
        col((m) => m.size), col((m) => m.sha256), col((m) => m.complete), col((m) => m.finalReply ?? null), col((m) => String(m.startTs)),
        col((m) => String(m.endTs)), col((m) => JSON.stringify(m.frames)),
        col((m) => (kept(m) ? Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength) : null)), col((m) => savedPaths.get(m) ?? null),
      ],
    );
    // Rows stored by an earlier copy of this batch come back as nothing.
    const ids = new Map(r.rows.map((row) => [`${row.sessionId}:${row.index}`, row.id]));
    const stored = mails.flatMap(({ sessionId, mail }) => {
      const id = ids.get(`${sessionId}:${mail.index}`);
      return id === undefined ? [] : [{ id, sessionId, mail }];
    });
    const atts = stored.flatMap(({ id, mail }) => mail.summary.attachments.map((a) => ({ id, a })));
    if (atts.length > 0) {
      await client.query(
        `INSERT INTO "Attachment" ("mailId", "filename", "contentType", "size", "sha256", "disposition")
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[])`,
        [atts.map((x) => x.id), atts.map((x) => x.a.filename ?? null), atts.map((x) => x.a.contentType), atts.map((x) => x.a.size), atts.map((x) => x.a.sha256), atts.map((x) => x.a.disposition ?? null)],
      );
    }
    return stored.map(({ id, sessionId, mail }) => ({ id, sessionId, mail, saved: kept(mail) }));
  }

  /** Writes the mail as `<captureId>-<engineSessionId>-<index>.eml` (names from ids only); null when it cannot. */
  private async saveEml(folder: string, captureId: string, mail: BatchMail): Promise<string | null> {
    const name = `${captureId}-${mail.sessionId}-${mail.index}.eml`;
    const path = join(folder, name);
    try {
      await mkdir(folder, { recursive: true });
      const tmp = `${path}.partial`;
      await writeFile(tmp, mail.raw!);
      await rename(tmp, path);
      return path;
    } catch (e) {
      this.opts.log.warn({ captureId, err: e, folder }, 'could not write the mail to the save location');
      return null;
    }
  }

  private announce(captureId: string, sessions: StoredSessions, records: Omit<StoredRecords, 'sessions'>): void {
    const ui = this.opts.broadcaster;
    const { opened, closed, known } = sessions;
    for (const { row, event } of opened) {
      ui.emit('session:opened', { captureId, id: row.id, engineSessionId: event.sessionId, protocol: event.protocol, client: event.client, server: event.server, startTs: event.startTs });
    }
    const closedIds = new Set(closed.map((c) => c.event.sessionId));
    for (const [engineId, t] of records.touched) {
      if (closedIds.has(engineId)) continue;
      const id = known.get(engineId);
      if (id === undefined) continue;
      ui.emit('session:updated', { captureId, id: String(id), engineSessionId: engineId, timelineEntries: t.timeline, packets: t.packets, lastTs: t.lastTs });
    }
    for (const m of records.mails) {
      ui.emit('mail', {
        captureId, id: m.id, sessionId: String(m.sessionId), index: m.mail.index, direction: m.mail.direction,
        subject: m.mail.summary.subject ?? null, from: m.mail.summary.from ?? null, size: m.mail.size, sha256: m.mail.sha256, saved: m.saved,
      });
    }
    for (const { row, event } of closed) {
      ui.emit('session:closed', { captureId, id: row.id, engineSessionId: event.sessionId, endTs: event.endTs, outcome: event.outcome, closeReason: event.closeReason, mails: event.mails, authUser: event.authUser ?? null });
    }
    const stored = { packets: records.packets, sessions: sessions.count, timeline: records.timeline, mails: records.mails.length, bytes: records.bytes };
    if (stored.packets + stored.sessions + stored.timeline + stored.mails > 0) ui.stored(stored);
  }
}

/** What phase 1 stored and resolved. */
interface StoredSessions {
  /** Session.id by engine session id, of every session the batch names that is stored. */
  readonly known: ReadonlyMap<number, bigint>;
  readonly opened: readonly { row: SessionRow; event: BatchSessionOpened }[];
  readonly closed: readonly { row: SessionRow; event: BatchSessionClosed }[];
  /** Session rows added. */
  readonly count: number;
}

/** What phase 2 stored. */
interface StoredRecords {
  readonly sessions: StoredSessions;
  readonly packets: number;
  readonly timeline: number;
  readonly mails: readonly StoredMail[];
  readonly bytes: number;
  readonly touched: ReadonlyMap<number, { timeline: number; packets: number; lastTs: number }>;
}

/**
 * Runs `step` once the step chained before it under `key` has settled (resolved or not); the map
 * forgets `key` when its last step has settled.
 */
function chained<T>(chains: Map<string, Promise<unknown>>, key: string, step: () => Promise<T>): Promise<T> {
  const run = (chains.get(key) ?? Promise.resolve()).then(step);
  const settled = run.then(() => undefined, () => undefined);
  chains.set(key, settled);
  void settled.then(() => {
    if (chains.get(key) === settled) chains.delete(key);
  });
  return run;
}

interface SessionRow {
  readonly id: string;
  readonly engineSessionId: number;
  readonly inserted?: boolean;
}

interface StoredMail {
  readonly id: string;
  readonly sessionId: bigint;
  readonly mail: BatchMail;
  readonly saved: boolean;
}

function touchedOf(map: Map<number, { timeline: number; packets: number; lastTs: number }>, id: number) {
  let t = map.get(id);
  if (t === undefined) {
    t = { timeline: 0, packets: 0, lastTs: 0 };
    map.set(id, t);
  }
  return t;
}

async function insertOpened(client: pg.PoolClient, captureId: string, events: readonly BatchSessionOpened[]): Promise<SessionRow[]> {
  const r = await client.query<SessionRow>(
    `INSERT INTO "Session" ("captureId", "engineSessionId", "protocol", "clientAddr", "clientPort", "serverAddr", "serverPort",
                            "startTs", "sawSyn", "detectedBy")
     SELECT $1::uuid, e, p::"MailProtocol", ca, cp, sa, sp, st, syn, det
     FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::int[], $8::bigint[], $9::boolean[], $10::text[])
       AS t(e, p, ca, cp, sa, sp, st, syn, det)
     ON CONFLICT ("captureId", "engineSessionId") DO NOTHING
     RETURNING id::text AS id, "engineSessionId"`,
    [
      captureId,
      events.map((e) => e.sessionId),
      events.map((e) => e.protocol),
      events.map((e) => e.client.addr),
      events.map((e) => e.client.port),
      events.map((e) => e.server.addr),
      events.map((e) => e.server.port),
      events.map((e) => String(e.startTs)),
      events.map((e) => e.sawSyn),
      events.map((e) => e.detectedBy),
    ],
  );
  return r.rows;
}

/**
 * Completes sessions; creates the row when the session's opening was not stored before (never
 * received, or in `openedHere`: this batch, whose sawSyn and detectedBy it then takes). A session
 * already closed is left alone (a replayed close changes nothing and returns no row).
 */
async function upsertClosed(
  client: pg.PoolClient,
  captureId: string,
  events: readonly BatchSessionClosed[],
  openedHere: ReadonlyMap<number, BatchSessionOpened>,
): Promise<SessionRow[]> {
  const r = await client.query<SessionRow>(
    `INSERT INTO "Session" ("captureId", "engineSessionId", "protocol", "clientAddr", "clientPort", "serverAddr", "serverPort",
        "startTs", "endTs", "state", "outcome", "authUser", "authMechanism", "authSuccess", "encrypted", "helo", "greeting",
        "closeReason", "mails", "deleted", "packetsClient", "packetsServer", "bytesClient", "bytesServer", "retransmissions",
        "gaps", "gapBytes", "anomalies", "sawSyn", "detectedBy")
     SELECT $1::uuid, e, p::"MailProtocol", ca, cp, sa, sp, st, et, 'closed', oc, au, am, asu, enc, helo, greet, cr, m,
            CASE WHEN del = '' THEN '{}'::int[] ELSE string_to_array(del, ',')::int[] END, pc, ps, bc, bs, rt, g, gb, an,
            coalesce(syn, true), coalesce(det, 'port')
     FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::int[], $8::bigint[], $9::bigint[], $10::text[],
                 $11::text[], $12::text[], $13::boolean[], $14::boolean[], $15::text[], $16::text[], $17::text[], $18::int[],
                 $19::text[], $20::int[], $21::int[], $22::bigint[], $23::bigint[], $24::int[], $25::int[], $26::bigint[], $27::int[],
                 $28::boolean[], $29::text[])
       AS t(e, p, ca, cp, sa, sp, st, et, oc, au, am, asu, enc, helo, greet, cr, m, del, pc, ps, bc, bs, rt, g, gb, an, syn, det)
     ON CONFLICT ("captureId", "engineSessionId") DO UPDATE SET
       "endTs" = excluded."endTs", "state" = 'closed', "outcome" = excluded."outcome", "authUser" = excluded."authUser",
       "authMechanism" = excluded."authMechanism", "authSuccess" = excluded."authSuccess", "encrypted" = excluded."encrypted",
       "helo" = excluded."helo", "greeting" = excluded."greeting", "closeReason" = excluded."closeReason",
       "mails" = excluded."mails", "deleted" = excluded."deleted", "packetsClient" = excluded."packetsClient",
       "packetsServer" = excluded."packetsServer", "bytesClient" = excluded."bytesClient", "bytesServer" = excluded."bytesServer",
       "retransmissions" = excluded."retransmissions", "gaps" = excluded."gaps", "gapBytes" = excluded."gapBytes",
       "anomalies" = excluded."anomalies"
     WHERE "Session"."state" = 'open'
     RETURNING id::text AS id, "engineSessionId", (xmax = 0) AS inserted`,
    [
      captureId,
      events.map((e) => e.sessionId),
      events.map((e) => e.protocol),
      events.map((e) => e.client.addr),
      events.map((e) => e.client.port),
      events.map((e) => e.server.addr),
      events.map((e) => e.server.port),
      events.map((e) => String(e.startTs)),
      events.map((e) => String(e.endTs)),
      events.map((e) => e.outcome),
      events.map((e) => e.authUser ?? null),
      events.map((e) => e.authMechanism ?? null),
      events.map((e) => e.authSuccess ?? null),
      events.map((e) => e.encrypted),
      events.map((e) => e.helo ?? null),
      events.map((e) => e.greeting ?? null),
      events.map((e) => e.closeReason),
      events.map((e) => e.mails),
      events.map((e) => (e.deleted ?? []).join(',')),
      events.map((e) => e.packets.client),
      events.map((e) => e.packets.server),
      events.map((e) => String(e.bytes.client)),
      events.map((e) => String(e.bytes.server)),
      events.map((e) => e.retransmissions),
      events.map((e) => e.gaps),
      events.map((e) => String(e.gapBytes)),
      events.map((e) => e.anomalies),
      events.map((e) => openedHere.get(e.sessionId)?.sawSyn ?? null),
      events.map((e) => openedHere.get(e.sessionId)?.detectedBy ?? null),
    ],
  );
  return r.rows;
}

/** SQL for the text[] held by the JSON array text in column `column`, in its order. */
function jsonTextArray(column: string): string {
  return `ARRAY(SELECT e FROM jsonb_array_elements_text(${column}::jsonb) WITH ORDINALITY AS x(e, n) ORDER BY n)`;
}

/**
 * COPYs binary `data` into `table`: 'all' when every row was new. When a row's key is already
 * stored (a replay), that COPY is rolled back to its savepoint and the rows go through a
 * temporary table like it and `INSERT ... ON CONFLICT DO NOTHING` instead; then the rows added,
 * and the sum of their column `sum` (0 without one).
 */
async function copyNew(
  client: pg.PoolClient,
  target: { readonly table: string; readonly columns: string; readonly sum?: string },
  data: Buffer,
): Promise<'all' | { rows: number; sum: number }> {
  const { table, columns, sum } = target;
  const temp = `"ingest_${table}"`;
  await client.query('SAVEPOINT ingest_copy');
  try {
    await copy(client, `COPY "${table}" (${columns}) FROM STDIN (FORMAT binary)`, data);
    await client.query('RELEASE SAVEPOINT ingest_copy');
    return 'all';
  } catch (e) {
    if ((e as { code?: unknown }).code !== UNIQUE_VIOLATION) throw e;
    await client.query('ROLLBACK TO SAVEPOINT ingest_copy');
  }
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${temp} (LIKE "${table}") ON COMMIT DELETE ROWS`);
  await copy(client, `COPY ${temp} (${columns}) FROM STDIN (FORMAT binary)`, data);
  const r = await client.query<{ n: string; sum: string }>(`
    WITH ins AS (
      INSERT INTO "${table}" (${columns}) SELECT ${columns} FROM ${temp}
      ON CONFLICT DO NOTHING RETURNING ${sum === undefined ? '0' : `"${sum}"`} AS v
    ) SELECT count(*) AS n, coalesce(sum(v), 0) AS sum FROM ins`);
  await client.query(`TRUNCATE ${temp}`);
  return { rows: Number(r.rows[0]?.n ?? 0), sum: Number(r.rows[0]?.sum ?? 0) };
}

async function copy(client: pg.PoolClient, sql: string, data: Buffer): Promise<void> {
  await pipeline(Readable.from([data], { objectMode: false }), client.query(copyFrom(sql)));
}
