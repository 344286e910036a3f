/** The packet list: filtered keyset pages over Packet, and a session's raw frames. */
import type { Database, Prisma } from '@mailscope/db';
import { badRequest } from '../http-errors.ts';
import { DIGITS, UUID, decodeCursor, encodeCursor, parseTimeBound } from './paging.ts';

/** TCP flag bits by name (the flags byte of the Packet row). */
export const TCP_FLAG_BITS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;
export type TcpFlagName = keyof typeof TCP_FLAG_BITS;

/** The TCP analysis labels the engine writes into `tcpAnalysis`. */
export const TCP_ANALYSIS = ['retransmission', 'out-of-order', 'overlap', 'keep-alive', 'zero-window'] as const;

export interface PacketFilter {
  readonly captureId?: string | undefined;
  readonly sessionId?: bigint | undefined;
  readonly address?: string | undefined;
  readonly port?: number | undefined;
  readonly protocol?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  /** `SYN,!ACK`: the flags named must be set, those after `!` clear (TCP packets only). */
  readonly flags?: string | undefined;
  /** true: only segments carrying payload; false: only those without (bare ACKs, SYN, FIN, non-TCP). */
  readonly payload?: boolean | undefined;
  /** 'any': some TCP analysis label; else packets carrying that label. */
  readonly analysis?: string | undefined;
}

export const PACKET_SELECT = {
  captureId: true, frameNo: true, sessionId: true, ts: true, src: true, dst: true, srcPort: true, dstPort: true, protocol: true,
  length: true, capturedLength: true, tcpFlags: true, seq: true, ack: true, payloadLength: true, info: true, dir: true, tcpAnalysis: true,
} as const;
type Row = Prisma.PacketGetPayload<{ select: typeof PACKET_SELECT }>;

export interface PacketItem {
  captureId: string;
  frameNo: number;
  sessionId: string | null;
  ts: number;
  src: string;
  dst: string;
  srcPort: number | null;
  dstPort: number | null;
  protocol: string;
  length: number;
  capturedLength: number;
  tcpFlags: number | null;
  seq: number | null;
  ack: number | null;
  payloadLength: number | null;
  info: string;
  dir: 'client' | 'server' | null;
  tcpAnalysis: string[];
}

export function presentPacket(p: Row): PacketItem {
  return {
    captureId: p.captureId,
    frameNo: p.frameNo,
    sessionId: p.sessionId === null ? null : String(p.sessionId),
    ts: Number(p.ts),
    src: p.src,
    dst: p.dst,
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    protocol: p.protocol,
    length: p.length,
    capturedLength: p.capturedLength,
    tcpFlags: p.tcpFlags,
    seq: p.seq === null ? null : Number(p.seq),
    ack: p.ack === null ? null : Number(p.ack),
    payloadLength: p.payloadLength,
    info: p.info,
    dir: p.dir,
    tcpAnalysis: p.tcpAnalysis,
  };
}

/** Shown in a packet's info instead of credentials (the timeline's mask). */
const MASK = '****';

/**
 * A client line of a packet's info with its credentials masked. The engine's info is the first
 * line of the payload, so `C: PASS secret`, `C: AUTH PLAIN <base64>` and the SASL continuation
 * lines of AUTH LOGIN (`C: <base64 password>`) would show what the timeline masks. `USER` and the
 * AUTH mechanism stay (the session list shows them too).
 */
export function maskCredentialInfo(info: string): string {
  const m = /^((?:\[[^\]]*\] )?C: )(.*)$/s.exec(info);
  if (m === null) return info;
  const head = m[1]!;
  const words = m[2]!.split(' ');
  const verb = words[0]!.toUpperCase();
  if (verb === 'USER') return info;
  if (verb === 'AUTH' || verb === 'APOP') return words.length > 2 ? `${head}${words[0]} ${words[1]} ${MASK}` : info;
  if (verb === 'PASS') return `${head}${words[0]} ${MASK}`;
  return `${head}${MASK}`;
}

/** A client line that is plainly a credential whatever the timeline says (stored before its auth entry, or none). */
const CREDENTIAL_LINE = /^(?:\[[^\]]*\] )?C: (?:PASS |APOP \S+ |AUTH \S+ )/i;

/**
 * Masks credentials in the info of `rows` (one query for the page): the frames of the sessions'
 * auth entries (and PASS / APOP / AUTH / SASL commands) are the ones that carried a user name,
 * password or SASL exchange.
 */
async function maskCredentials(db: Database, rows: PacketItem[]): Promise<PacketItem[]> {
  const sessions = new Set<string>();
  for (const r of rows) if (r.dir === 'client' && r.sessionId !== null && (r.payloadLength ?? 0) > 0) sessions.add(r.sessionId);
  const secret = new Set<string>();
  if (sessions.size > 0) {
    const res = await db.pool.query<{ sessionId: string; frames: number[] }>(
      `SELECT "sessionId"::text AS "sessionId", "frames" FROM "TimelineEntry"
        WHERE "sessionId" = ANY($1::bigint[]) AND "dir" = 'client'
          AND ("kind" = 'auth' OR "authMechanism" IS NOT NULL OR ("kind" = 'command' AND upper("verb") IN ('AUTH', 'PASS', 'APOP', 'SASL')))`,
      [[...sessions]],
    );
    for (const e of res.rows) for (const f of e.frames) secret.add(`${e.sessionId}:${f}`);
  }
  for (const r of rows) {
    if (r.dir !== 'client') continue;
    if ((r.sessionId !== null && secret.has(`${r.sessionId}:${r.frameNo}`)) || CREDENTIAL_LINE.test(r.info)) r.info = maskCredentialInfo(r.info);
  }
  return rows;
}

/** `SYN,!ACK` as the bits that must be set and those that must be clear; 400 on an unknown name. */
export function parseFlagFilter(text: string): { set: number; clear: number } {
  let set = 0;
  let clear = 0;
  for (const part of text.split(',')) {
    const t = part.trim().toUpperCase();
    if (t === '') continue;
    const not = t.startsWith('!');
    const bit = TCP_FLAG_BITS[(not ? t.slice(1) : t) as TcpFlagName] as number | undefined;
    if (bit === undefined) throw badRequest(`flags: '${part.trim()}' is not a TCP flag: use ${Object.keys(TCP_FLAG_BITS).join(', ')}, '!' before one for clear`);
    if (not) clear |= bit;
    else set |= bit;
  }
  if ((set & clear) !== 0) throw badRequest('flags: a flag cannot be both set and clear');
  return { set, clear };
}

const COLUMNS = `p."captureId"::text AS "captureId", p."frameNo", p."sessionId"::text AS "sessionId", p."ts"::text AS ts, p."src", p."dst",
  p."srcPort", p."dstPort", p."protocol", p."length", p."capturedLength", p."tcpFlags", p."seq"::text AS seq, p."ack"::text AS ack,
  p."payloadLength", p."info", p."dir"::text AS dir, p."tcpAnalysis"`;

interface SqlRow {
  captureId: string; frameNo: number; sessionId: string | null; ts: string; src: string; dst: string; srcPort: number | null; dstPort: number | null;
  protocol: string; length: number; capturedLength: number; tcpFlags: number | null; seq: string | null; ack: string | null;
  payloadLength: number | null; info: string; dir: 'client' | 'server' | null; tcpAnalysis: string[];
}

const fromSql = (r: SqlRow): PacketItem => ({
  ...r,
  ts: Number(r.ts),
  seq: r.seq === null ? null : Number(r.seq),
  ack: r.ack === null ? null : Number(r.ack),
});

/**
 * Runs the per-capture query with sequential scans off. When it guesses that few packets match
 * (a rare flag, a protocol absent from the data), PostgreSQL would read the whole Packet table
 * once per capture inside the LATERAL join (10 captures, 4 million packets: 10 s); through the
 * (captureId, ts) index each capture is read once at worst (2 s), and a common match stops
 * after a page (milliseconds).
 */
async function withoutSeqScan(db: Database, sql: string, params: unknown[]) {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN READ ONLY');
    await client.query('SET LOCAL enable_seqscan = off');
    const res = await client.query<SqlRow>(sql, params);
    await client.query('COMMIT');
    return res;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/**
 * Oldest first (a packet list reads forward in time); keyset on (ts, captureId, frameNo).
 *
 * Packet has no index on `ts` alone (its indexes serve ingest and the session pages), so one
 * ORDER BY ts over the table sorted every packet for every page. Instead each capture is read
 * through its ("captureId", ts) index, at most `limit + 1` rows each (a LATERAL join), and those
 * are merged: a page costs one short index scan per capture whatever the table's size. A session
 * filter goes through ("sessionId", frameNo) instead.
 */
export async function listPackets(db: Database, f: PacketFilter, limit: number, cursor: string | undefined) {
  const params: unknown[] = [];
  const arg = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const conds: string[] = [];
  const from = parseTimeBound(f.from, 'from');
  const to = parseTimeBound(f.to, 'to');
  if (from !== undefined && to !== undefined && from > to) throw badRequest('from is after to');
  if (from !== undefined) conds.push(`p."ts" >= ${arg(String(from))}::bigint`);
  if (to !== undefined) conds.push(`p."ts" <= ${arg(String(to))}::bigint`);
  if (f.sessionId !== undefined) conds.push(`p."sessionId" = ${arg(String(f.sessionId))}::bigint`);
  if (f.address !== undefined) {
    const a = arg(f.address);
    conds.push(`(p."src" = ${a} OR p."dst" = ${a})`);
  }
  if (f.port !== undefined) {
    const a = arg(f.port);
    conds.push(`(p."srcPort" = ${a} OR p."dstPort" = ${a})`);
  }
  if (f.protocol !== undefined) conds.push(`p."protocol" = ${arg(f.protocol.toUpperCase())}`);
  if (f.flags !== undefined) {
    const { set, clear } = parseFlagFilter(f.flags);
    // One expression, not one per flag: PostgreSQL multiplies the guesses of two and plans for
    // almost no matching row (SYN,!ACK then took seconds instead of milliseconds).
    conds.push(`(p."tcpFlags" & ${set | clear}) = ${set}`);
  }
  if (f.payload === true) conds.push('p."payloadLength" > 0');
  if (f.payload === false) conds.push('coalesce(p."payloadLength", 0) = 0');
  if (f.analysis === 'any') conds.push('cardinality(p."tcpAnalysis") > 0');
  else if (f.analysis !== undefined) conds.push(`${arg(f.analysis)} = ANY(p."tcpAnalysis")`);
  if (cursor !== undefined) {
    const [ts, cap, no] = decodeCursor(cursor, [DIGITS, UUID, DIGITS]) as [string, string, string];
    const t = arg(ts);
    const c = arg(cap);
    // The redundant `ts >= t` is the index bound; the OR alone would not be used as one.
    conds.push(`p."ts" >= ${t}::bigint AND (p."ts" > ${t}::bigint OR p."captureId" > ${c}::uuid OR (p."captureId" = ${c}::uuid AND p."frameNo" > ${arg(Number(no))}))`);
  }
  const take = arg(limit + 1);
  let sql: string;
  if (f.sessionId !== undefined) {
    if (f.captureId !== undefined) conds.push(`p."captureId" = ${arg(f.captureId)}::uuid`);
    sql = `SELECT ${COLUMNS} FROM "Packet" p WHERE ${conds.join(' AND ')} ORDER BY p."ts", p."captureId", p."frameNo" LIMIT ${take}`;
  } else {
    const where = [`p."captureId" = c."id"`, ...conds].join(' AND ');
    const only = f.captureId === undefined ? '' : `WHERE c."id" = ${arg(f.captureId)}::uuid`;
    sql = `SELECT p.* FROM "Capture" c CROSS JOIN LATERAL (
             SELECT ${COLUMNS} FROM "Packet" p WHERE ${where} ORDER BY p."ts", p."frameNo" LIMIT ${take}
           ) p ${only}
           ORDER BY p."ts", p."captureId", p."frameNo" LIMIT ${take}`;
  }
  const rows = (f.sessionId !== undefined ? await db.pool.query<SqlRow>(sql, params) : await withoutSeqScan(db, sql, params)).rows.map(fromSql);
  const page = await maskCredentials(db, rows.slice(0, limit));
  const last = page[page.length - 1];
  return { packets: page, next: rows.length > limit && last !== undefined ? encodeCursor([last.ts, last.captureId, last.frameNo]) : null };
}

/** A session's packets in frame order, `limit` after frame `afterFrame`. */
export async function sessionPackets(db: Database, sessionId: bigint, limit: number, cursor: string | undefined) {
  const after = cursor === undefined ? 0 : Number(decodeCursor(cursor, [DIGITS])[0]);
  const rows = await db.prisma.packet.findMany({
    where: { sessionId, frameNo: { gt: after } },
    orderBy: { frameNo: 'asc' },
    take: limit + 1,
    select: PACKET_SELECT,
  });
  const page = await maskCredentials(db, rows.slice(0, limit).map(presentPacket));
  const last = page[page.length - 1];
  return { packets: page, next: rows.length > limit && last !== undefined ? encodeCursor([last.frameNo]) : null };
}

/** Frames read per query when streaming a session's raw packets (≈ 5000 × 1.5 KB = 7.5 MB). */
const RAW_BATCH = 5000;

/** A session's frames with their bytes, in frame order, fetched in batches (bounded memory). */
export async function* sessionFrames(db: Database, sessionId: bigint): AsyncGenerator<{ frameNo: number; ts: number; linkType: number; length: number; raw: Uint8Array }> {
  let after = 0;
  while (true) {
    const rows = await db.prisma.packet.findMany({
      where: { sessionId, frameNo: { gt: after } },
      orderBy: { frameNo: 'asc' },
      take: RAW_BATCH,
      select: { frameNo: true, ts: true, linkType: true, length: true, raw: true },
    });
    for (const r of rows) yield { frameNo: r.frameNo, ts: Number(r.ts), linkType: r.linkType, length: r.length, raw: r.raw };
    if (rows.length < RAW_BATCH) return;
    after = rows[rows.length - 1]!.frameNo;
  }
}
