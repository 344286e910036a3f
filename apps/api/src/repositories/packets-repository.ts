/** The packet list: filtered keyset pages over Packet, and a session's raw frames. */
import type { Database, Prisma } from '@mailscope/db';
import { badRequest } from '../http-errors.ts';
import { DIGITS, UUID, decodeCursor, encodeCursor, parseTimeBound } from './paging.ts';

export interface PacketFilter {
  readonly captureId?: string | undefined;
  readonly sessionId?: bigint | undefined;
  readonly address?: string | undefined;
  readonly port?: number | undefined;
  readonly protocol?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

export const PACKET_SELECT = {
  captureId: true, frameNo: true, sessionId: true, ts: true, src: true, dst: true, srcPort: true, dstPort: true, protocol: true,
  length: true, capturedLength: true, tcpFlags: true, seq: true, ack: true, payloadLength: true, info: true, dir: true, tcpAnalysis: true,
} as const;
type Row = Prisma.PacketGetPayload<{ select: typeof PACKET_SELECT }>;

export function presentPacket(p: Row) {
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

/** Oldest first (a packet list reads forward in time); keyset on (ts, captureId, frameNo). */
export async function listPackets(db: Database, f: PacketFilter, limit: number, cursor: string | undefined) {
  const and: Prisma.PacketWhereInput[] = [];
  const from = parseTimeBound(f.from, 'from');
  const to = parseTimeBound(f.to, 'to');
  if (from !== undefined && to !== undefined && from > to) throw badRequest('from is after to');
  if (from !== undefined) and.push({ ts: { gte: from } });
  if (to !== undefined) and.push({ ts: { lte: to } });
  if (f.captureId !== undefined) and.push({ captureId: f.captureId });
  if (f.sessionId !== undefined) and.push({ sessionId: f.sessionId });
  if (f.address !== undefined) and.push({ OR: [{ src: f.address }, { dst: f.address }] });
  if (f.port !== undefined) and.push({ OR: [{ srcPort: f.port }, { dstPort: f.port }] });
  if (f.protocol !== undefined) and.push({ protocol: { equals: f.protocol.toUpperCase() } });
  if (cursor !== undefined) {
    const [ts, cap, no] = decodeCursor(cursor, [DIGITS, UUID, DIGITS]) as [string, string, string];
    const t = BigInt(ts);
    and.push({
      OR: [
        { ts: { gt: t } },
        { ts: t, captureId: { gt: cap } },
        { ts: t, captureId: cap, frameNo: { gt: Number(no) } },
      ],
    });
  }
  const rows = await db.prisma.packet.findMany({
    where: { AND: and },
    orderBy: [{ ts: 'asc' }, { captureId: 'asc' }, { frameNo: 'asc' }],
    take: limit + 1,
    select: PACKET_SELECT,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { packets: page.map(presentPacket), next: rows.length > limit && last !== undefined ? encodeCursor([last.ts, last.captureId, last.frameNo]) : null };
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
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { packets: page.map(presentPacket), next: rows.length > limit && last !== undefined ? encodeCursor([last.frameNo]) : null };
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
