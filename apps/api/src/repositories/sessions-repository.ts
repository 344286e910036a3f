/** Mail sessions: filtered keyset pages, one session, its timeline (passwords masked), its frames. */
import type { Database, Prisma } from '@mailscope/db';
import { badRequest } from '../http-errors.ts';
import { DIGITS, decodeCursor, encodeCursor, parseTimeBound } from './paging.ts';

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
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { sessions: page.map(presentSession), next: rows.length > limit && last !== undefined ? encodeCursor([last.startTs, last.id]) : null };
}

export async function getSession(db: Database, id: bigint) {
  const row = await db.prisma.session.findUnique({ where: { id }, select: DETAIL_SELECT });
  return row === null ? null : presentSessionDetail(row);
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
