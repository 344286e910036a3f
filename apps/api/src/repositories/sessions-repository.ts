/** Mail sessions: filtered keyset pages, one session, its timeline (passwords masked), its frames. */
import type { Database, Prisma } from '@mailscope/db';
import { badRequest } from '../http-errors.ts';
import { DIGITS, decodeCursor, encodeCursor, parseTimeBound } from './paging.ts';
import { parseIdList } from '../schemas.ts';

export interface SessionFilter {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly protocol?: 'smtp' | 'pop3' | undefined;
  readonly outcome?: string | undefined;
  readonly address?: string | undefined;
  readonly port?: number | undefined;
  readonly user?: string | undefined;
  readonly text?: string | undefined;
  readonly captureId?: string | undefined;
  /** Comma-separated ids (validated by the route). */
  readonly ids?: string | undefined;
}

const LIST_SELECT = {
  id: true, captureId: true, protocol: true, clientAddr: true, clientPort: true, serverAddr: true, serverPort: true,
  startTs: true, endTs: true, state: true, outcome: true, authUser: true, authMechanism: true, authSuccess: true,
  encrypted: true, helo: true, mails: true, packetsClient: true, packetsServer: true, bytesClient: true, bytesServer: true,
  retransmissions: true, gaps: true, anomalies: true,
} as const;

const DETAIL_SELECT = {
  ...LIST_SELECT, engineSessionId: true, greeting: true, sawSyn: true, detectedBy: true, closeReason: true, deleted: true, gapBytes: true,
} as const;

type ListRow = Prisma.SessionGetPayload<{ select: typeof LIST_SELECT }>;
type DetailRow = Prisma.SessionGetPayload<{ select: typeof DETAIL_SELECT }>;

export function presentSession(s: ListRow) {
  return {
    id: String(s.id),
    captureId: s.captureId,
    protocol: s.protocol,
    client: { addr: s.clientAddr, port: s.clientPort },
    server: { addr: s.serverAddr, port: s.serverPort },
    startTs: Number(s.startTs),
    endTs: s.endTs === null ? null : Number(s.endTs),
    state: s.state,
    outcome: s.outcome,
    authUser: s.authUser,
    authMechanism: s.authMechanism,
    authSuccess: s.authSuccess,
    encrypted: s.encrypted,
    helo: s.helo,
    mails: s.mails,
    packets: { client: s.packetsClient, server: s.packetsServer },
    bytes: { client: Number(s.bytesClient), server: Number(s.bytesServer) },
    retransmissions: s.retransmissions,
    gaps: s.gaps,
    anomalies: s.anomalies,
  };
}

export function presentSessionDetail(s: DetailRow) {
  return {
    ...presentSession(s),
    engineSessionId: s.engineSessionId,
    greeting: s.greeting,
    sawSyn: s.sawSyn,
    detectedBy: s.detectedBy,
    closeReason: s.closeReason,
    deleted: s.deleted,
    gapBytes: Number(s.gapBytes),
  };
}

/** The Prisma filter of `f` (cursor aside). */
function whereOf(f: SessionFilter): Prisma.SessionWhereInput {
  const and: Prisma.SessionWhereInput[] = [];
  const from = parseTimeBound(f.from, 'from');
  const to = parseTimeBound(f.to, 'to');
  if (from !== undefined && to !== undefined && from > to) throw badRequest('from is after to');
  if (from !== undefined) and.push({ startTs: { gte: from } });
  if (to !== undefined) and.push({ startTs: { lte: to } });
  if (f.protocol !== undefined) and.push({ protocol: f.protocol });
  if (f.outcome !== undefined) and.push({ outcome: f.outcome });
  if (f.captureId !== undefined) and.push({ captureId: f.captureId });
  if (f.ids !== undefined) and.push({ id: { in: parseIdList(f.ids) } });
  if (f.address !== undefined) and.push({ OR: [{ clientAddr: f.address }, { serverAddr: f.address }] });
  if (f.port !== undefined) and.push({ OR: [{ clientPort: f.port }, { serverPort: f.port }] });
  if (f.user !== undefined) and.push({ authUser: f.user });
  if (f.text !== undefined && f.text.trim() !== '') {
    // ILIKE '%text%' (Prisma escapes nothing in `contains`, so % and _ are escaped here); the
    // subject and address columns have trigram indexes (schema.prisma).
    const t = f.text.trim().replace(/[\\%_]/g, (c) => `\\${c}`);
    const like = { contains: t, mode: 'insensitive' } as const;
    and.push({
      OR: [
        { helo: like },
        { authUser: like },
        { mailRows: { some: { OR: [{ subject: like }, { mailFrom: like }, { from: like }, { rcptTo: { has: f.text.trim() } }, { to: { has: f.text.trim() } }] } } },
      ],
    });
  }
  return { AND: and };
}

/** Newest first; `next` is null on the last page. */
export async function listSessions(db: Database, f: SessionFilter, limit: number, cursor: string | undefined) {
  const where = whereOf(f);
  if (cursor !== undefined) {
    const [ts, id] = decodeCursor(cursor, [DIGITS, DIGITS]).map(BigInt) as [bigint, bigint];
    where.AND = [...(where.AND as Prisma.SessionWhereInput[]), { OR: [{ startTs: { lt: ts } }, { startTs: ts, id: { lt: id } }] }];
  }
  const rows = await db.prisma.session.findMany({ where, orderBy: [{ startTs: 'desc' }, { id: 'desc' }], take: limit + 1, select: LIST_SELECT });
  const page = await withLiveCounts(db, rows.slice(0, limit));
  const last = page[page.length - 1];
  return { sessions: page.map(presentSession), next: rows.length > limit && last !== undefined ? encodeCursor([last.startTs, last.id]) : null };
}

export async function getSession(db: Database, id: bigint) {
  const row = await db.prisma.session.findUnique({ where: { id }, select: DETAIL_SELECT });
  return row === null ? null : presentSessionDetail((await withLiveCounts(db, [row]))[0]!);
}

/**
 * The engine gives a session's packet and byte counts when it closes; until then the row holds 0.
 * An open session's counts are taken from the packets stored so far (frames by direction, and
 * their TCP payload bytes, as the engine counts them), so a long transfer shows its progress.
 */
async function withLiveCounts<T extends ListRow>(db: Database, rows: T[]): Promise<T[]> {
  const open = rows.filter((r) => r.state === 'open').map((r) => r.id);
  if (open.length === 0) return rows;
  const r = await db.pool.query<{ id: string; pc: number; ps: number; bc: string; bs: string }>(
    `SELECT "sessionId"::text AS id,
            count(*) FILTER (WHERE dir = 'client')::int AS pc, count(*) FILTER (WHERE dir = 'server')::int AS ps,
            coalesce(sum("payloadLength") FILTER (WHERE dir = 'client'), 0) AS bc, coalesce(sum("payloadLength") FILTER (WHERE dir = 'server'), 0) AS bs
       FROM "Packet" WHERE "sessionId" = ANY($1::bigint[]) GROUP BY "sessionId"`,
    [open.map(String)],
  );
  const counts = new Map(r.rows.map((c) => [c.id, c]));
  return rows.map((row) => {
    const c = row.state === 'open' ? counts.get(String(row.id)) : undefined;
    return c === undefined ? row : { ...row, packetsClient: c.pc, packetsServer: c.ps, bytesClient: BigInt(c.bc), bytesServer: BigInt(c.bs) };
  });
}

/** Shown instead of a captured password; revealing it is POST .../reveal (admin, audited). */
export const MASK = '****';

export interface TimelineItem {
  seq: number;
  ts: number;
  dir: 'client' | 'server';
  kind: string;
  verb: string;
  arg: string;
  frames: number[];
  latencyUs: number | null;
  auth: { mechanism: string | null; user: string | null; password: string | null; success: boolean | null } | null;
  /** `data` entries: the index of the mail whose bytes they carried (see `linkTimeline`). */
  mail?: number | null;
  /** `tcp` RETRANSMISSION entries: what was sent again (see `linkTimeline`). */
  retransmission?: { originalFrame: number | null; entrySeq: number | null } | null;
}

/**
 * Frames that carried a credential in the session: those of its `auth` entries (the commands and
 * SASL responses of each attempt) and of the commands whose argument is one (PASS, AUTH, APOP, a
 * POP3 SASL line), failed attempts included. The flow and packet routes mask what they carry.
 */
export async function credentialFrames(db: Database, sessionId: bigint): Promise<Set<number>> {
  const res = await db.pool.query<{ frames: number[] }>(
    `SELECT "frames" FROM "TimelineEntry"
      WHERE "sessionId" = $1 AND ("kind" = 'auth' OR ("kind" = 'command' AND "verb" IN ('PASS', 'AUTH', 'APOP', 'SASL')))`,
    [String(sessionId)],
  );
  return new Set(res.rows.flatMap((r) => r.frames));
}

/** A session's mail as its page lists it (no bytes: only whether they were saved). */
export interface SessionMail {
  id: string;
  index: number;
  direction: 'sent' | 'retrieved';
  command: string;
  messageNumber: number | null;
  mailFrom: string | null;
  rcptTo: string[];
  from: string | null;
  to: string[];
  subject: string | null;
  date: string | null;
  startTs: number;
  size: number;
  attachments: number;
  complete: boolean;
  finalReply: string | null;
  hasRaw: boolean;
  frames: number[];
}

/** The session's mails in index order; `raw` is never read, only whether it is there. */
export async function sessionMails(db: Database, sessionId: bigint): Promise<SessionMail[]> {
  const res = await db.pool.query<Omit<SessionMail, 'startTs'> & { startTs: string }>(
    `SELECT m."id"::text AS id, m."index", m."direction"::text AS direction, m."command", m."messageNumber", m."mailFrom", m."rcptTo",
            m."from", m."to", m."subject", m."date", m."startTs"::text AS "startTs", m."size", m."complete", m."finalReply",
            (m."raw" IS NOT NULL) AS "hasRaw", COALESCE(m."frames", ARRAY[]::int[]) AS "frames",
            (SELECT count(*)::int FROM "Attachment" a WHERE a."mailId" = m."id") AS attachments
       FROM "Mail" m WHERE m."sessionId" = $1 ORDER BY m."index"`,
    [String(sessionId)],
  );
  return res.rows.map((r) => ({ ...r, startTs: Number(r.startTs) }));
}

/**
 * Ties the timeline to what it refers to, so a page need not guess:
 * - a `data` entry (a DATA body, a BDAT chunk, a RETR / TOP answer) gets `mail`, the index of the
 *   mail that shares its frames (both are the frames that carried the mail's bytes);
 * - a `tcp` RETRANSMISSION entry gets `retransmission`: the first earlier packet of the same
 *   direction whose sequence range it overlaps (the original; sequence numbers compared modulo
 *   2^32) and the timeline entry that original carried. The reassembler hands the bytes on once,
 *   so a retransmitted command is one entry; this says which one was sent again.
 */
export async function linkTimeline(db: Database, session: { id: string; captureId: string }, entries: TimelineItem[], mails: readonly SessionMail[]): Promise<void> {
  const mailOfFrame = new Map<number, number>();
  for (const m of mails) for (const f of m.frames) if (!mailOfFrame.has(f)) mailOfFrame.set(f, m.index);
  for (const e of entries) {
    if (e.kind !== 'data') continue;
    e.mail = null;
    for (const f of e.frames) {
      const index = mailOfFrame.get(f);
      if (index !== undefined) {
        e.mail = index;
        break;
      }
    }
  }

  const retrans = entries.filter((e) => e.kind === 'tcp' && e.verb === 'RETRANSMISSION' && e.frames.length > 0);
  if (retrans.length === 0) return;
  const res = await db.pool.query<{ frame: number; original: number | null }>(
    `SELECT r."frameNo" AS frame,
            (SELECT o."frameNo" FROM "Packet" o
              WHERE o."sessionId" = r."sessionId" AND o."dir" = r."dir" AND o."frameNo" < r."frameNo"
                AND o."payloadLength" > 0 AND NOT ('retransmission' = ANY(o."tcpAnalysis"))
                AND (((r."seq" - o."seq" + 4294967296) % 4294967296) < o."payloadLength"
                     OR ((o."seq" - r."seq" + 4294967296) % 4294967296) < r."payloadLength")
              ORDER BY o."frameNo" LIMIT 1) AS original
       FROM "Packet" r
      WHERE r."captureId" = $1::uuid AND r."frameNo" = ANY($2::int[]) AND r."sessionId" = $3 AND r."seq" IS NOT NULL`,
    [session.captureId, retrans.map((e) => e.frames[0]!), session.id],
  );
  const originalOf = new Map(res.rows.map((r) => [r.frame, r.original]));
  // The entry an original frame carried: a command, reply, data or TLS entry first (an auth
  // entry's frames are those of the commands that carried the credential).
  const carrier = new Map<number, number>();
  for (const pass of [false, true]) {
    for (const e of entries) {
      if (e.kind === 'tcp' || e.kind === 'anomaly' || (e.kind === 'auth') !== pass) continue;
      for (const f of e.frames) if (!carrier.has(f)) carrier.set(f, e.seq);
    }
  }
  for (const e of retrans) {
    const original = originalOf.get(e.frames[0]!) ?? null;
    e.retransmission = { originalFrame: original, entrySeq: original === null ? null : carrier.get(original) ?? null };
  }
}

/**
 * The session's timeline, wire order, at most `limit` entries. The password column is never read:
 * only whether there is one, shown as `MASK`.
 */
export async function getTimeline(db: Database, sessionId: bigint, limit: number): Promise<{ entries: TimelineItem[]; truncated: boolean }> {
  const res = await db.pool.query<{
    seq: number; ts: string; dir: 'client' | 'server'; kind: string; verb: string; arg: string; frames: number[]; latencyUs: string | null;
    authMechanism: string | null; authUser: string | null; authSuccess: boolean | null; hasPassword: boolean;
  }>(
    `SELECT "seq", "ts"::text AS ts, "dir"::text AS dir, "kind"::text AS kind, "verb", "arg", "frames", "latencyUs"::text AS "latencyUs",
            "authMechanism", "authUser", "authSuccess", ("authPassword" IS NOT NULL) AS "hasPassword"
       FROM "TimelineEntry" WHERE "sessionId" = $1 ORDER BY "seq" LIMIT $2`,
    [String(sessionId), limit + 1],
  );
  const entries = res.rows.slice(0, limit).map((r) => ({
    seq: r.seq,
    ts: Number(r.ts),
    dir: r.dir,
    kind: r.kind,
    verb: r.verb,
    arg: r.arg,
    frames: r.frames,
    latencyUs: r.latencyUs === null ? null : Number(r.latencyUs),
    auth: r.kind === 'auth' || r.authMechanism !== null
      ? { mechanism: r.authMechanism, user: r.authUser, password: r.hasPassword ? MASK : null, success: r.authSuccess }
      : null,
  }));
  return { entries, truncated: res.rows.length > limit };
}
