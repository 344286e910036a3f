/**
 * Batched inserts for the high-volume tables, Packet and TimelineEntry: one statement per chunk of
 * rows, columns passed as arrays and spread with `unnest` (10-18x the rows/s of Prisma's
 * createMany here: bench/insert-bench.ts), or streamed with COPY into a temporary table.
 *
 * Both are idempotent: a row whose natural key exists ((captureId, frameNo) for a packet,
 * (sessionId, seq) for a timeline entry) is skipped (`ON CONFLICT DO NOTHING`), so an agent batch
 * sent twice (reconnect, spool replay) stores each row once.
 *
 * Rows carry the engine's session id (`sessionId` of PacketRecord / TimelineEvent, 1-based within
 * the capture); it is resolved to Session.id in SQL through (captureId, engineSessionId). So the
 * caller must insert a batch's sessions (session-opened) before its packets and timeline entries:
 * a packet whose session is not there yet is stored without one, a timeline entry is not stored;
 * both are counted in `unknownSession`.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Rows per statement: keeps one statement's parameters (frame bytes in hex) to a few MB. */
export const BULK_CHUNK_ROWS = 5_000;

/**
 * A packet to store: the engine's PacketRecord (extra fields such as `type` are ignored) plus what
 * the record leaves out, the link type and the frame's bytes.
 */
export interface PacketRow {
  /** Frame number, 1-based within the capture. */
  readonly no: number;
  /** µs since the epoch. */
  readonly ts: number | bigint;
  readonly src: string;
  readonly dst: string;
  readonly srcPort?: number | undefined;
  readonly dstPort?: number | undefined;
  readonly protocol: string;
  readonly length: number;
  readonly capturedLength: number;
  readonly tcpFlags?: number | undefined;
  readonly seq?: number | undefined;
  readonly ack?: number | undefined;
  readonly payloadLength?: number | undefined;
  readonly info: string;
  /** The engine's session id (not Session.id). */
  readonly sessionId?: number | undefined;
  readonly dir?: 'client' | 'server' | undefined;
  readonly tcpAnalysis?: readonly string[] | undefined;
  /** pcap link type (DLT) of the frame. */
  readonly linkType: number;
  /** The captured bytes (capturedLength of them). */
  readonly raw: Uint8Array;
}

/** A timeline entry to store: the engine's TimelineEvent, as emitted. */
export interface TimelineRow {
  /** The engine's session id (not Session.id). */
  readonly sessionId: number;
  readonly seq: number;
  /** µs since the epoch. */
  readonly ts: number | bigint;
  readonly dir: 'client' | 'server';
  readonly kind: 'tcp' | 'command' | 'reply' | 'data' | 'auth' | 'tls' | 'anomaly';
  readonly verb: string;
  readonly arg: string;
  readonly frames: readonly number[];
  readonly latencyUs?: number | bigint | undefined;
  readonly auth?: {
    readonly mechanism: string;
    readonly user?: string | undefined;
    readonly password?: string | undefined;
    readonly success?: boolean | undefined;
  } | undefined;
}

export interface BulkResult {
  /** Rows written by this call (rows already stored are not counted). */
  readonly inserted: number;
  /** Rows naming an engine session id with no Session row in this capture. */
  readonly unknownSession: number;
}

export type BulkMethod = 'unnest' | 'copy';

/**
 * Stores packets of capture `captureId`; see the module comment for idempotency and sessions.
 * `method` 'copy' streams through COPY into a temporary table first (faster for large batches,
 * one round trip more).
 */
export async function insertPackets(pool: pg.Pool, captureId: string, rows: readonly PacketRow[], options: { method?: BulkMethod } = {}): Promise<BulkResult> {
  let inserted = 0;
  let unknownSession = 0;
  for (let i = 0; i < rows.length; i += BULK_CHUNK_ROWS) {
    const chunk = rows.slice(i, i + BULK_CHUNK_ROWS);
    const r = options.method === 'copy' ? await copyPackets(pool, captureId, chunk) : await unnestPackets(pool, captureId, chunk);
    inserted += r.inserted;
    unknownSession += r.unknownSession;
  }
  return { inserted, unknownSession };
}

/** Stores timeline entries of sessions of capture `captureId`; see the module comment. */
export async function insertTimelineEntries(pool: pg.Pool, captureId: string, rows: readonly TimelineRow[]): Promise<BulkResult> {
  let inserted = 0;
  let unknownSession = 0;
  for (let i = 0; i < rows.length; i += BULK_CHUNK_ROWS) {
    const chunk = rows.slice(i, i + BULK_CHUNK_ROWS);
    const result = await pool.query<{ resolved: string; inserted: string }>(TIMELINE_SQL, [
      captureId,
      chunk.map((r) => r.sessionId),
      chunk.map((r) => r.seq),
      chunk.map((r) => String(r.ts)),
      chunk.map((r) => r.dir),
      chunk.map((r) => r.kind),
      chunk.map((r) => r.verb),
      chunk.map((r) => r.arg),
      chunk.map((r) => r.frames.join(',')),
      chunk.map((r) => (r.latencyUs === undefined ? null : String(r.latencyUs))),
      chunk.map((r) => r.auth?.mechanism ?? null),
      chunk.map((r) => r.auth?.user ?? null),
      chunk.map((r) => r.auth?.password ?? null),
      chunk.map((r) => r.auth?.success ?? null),
    ]);
    const row = result.rows[0];
    inserted += Number(row?.inserted ?? 0);
    unknownSession += chunk.length - Number(row?.resolved ?? 0);
  }
  return { inserted, unknownSession };
}

// Arrays of arrays cannot go through unnest (it flattens them), so frame lists travel as
// '1,2,3' text and are split in SQL.
const TIMELINE_SQL = `
WITH input AS (
  SELECT * FROM unnest($2::int[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[],
                       $9::text[], $10::bigint[], $11::text[], $12::text[], $13::text[], $14::boolean[])
    AS t(engine_session_id, seq, ts, dir, kind, verb, arg, frames, latency_us, auth_mechanism, auth_user, auth_password, auth_success)
), resolved AS (
  SELECT s.id AS session_id, input.* FROM input
  JOIN "Session" s ON s."captureId" = $1::uuid AND s."engineSessionId" = input.engine_session_id
), ins AS (
  INSERT INTO "TimelineEntry" ("sessionId", "seq", "ts", "dir", "kind", "verb", "arg", "frames", "latencyUs",
                               "authMechanism", "authUser", "authPassword", "authSuccess")
  SELECT session_id, seq, ts, dir::"Direction", kind::"TimelineKind", verb, arg,
         CASE WHEN frames = '' THEN '{}'::int[] ELSE string_to_array(frames, ',')::int[] END,
         latency_us, auth_mechanism, auth_user, auth_password, auth_success
  FROM resolved
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM resolved) AS resolved, (SELECT count(*) FROM ins) AS inserted`;

/** Unit separator: never part of a tcpAnalysis word, so it can join them into one text value. */
const SEP = '\u001f';

const PACKET_COLUMNS = `"captureId", "frameNo", "sessionId", "ts", "src", "dst", "srcPort", "dstPort", "protocol", "length",
  "capturedLength", "tcpFlags", "seq", "ack", "payloadLength", "info", "dir", "tcpAnalysis", "linkType", "raw"`;

/** INSERT ... SELECT from a relation `source` with the staging columns below. */
function packetInsertFrom(source: string, captureParam: string): string {
  return `
WITH src AS (${source}),
resolved AS (
  SELECT src.*, s.id AS session_id FROM src
  LEFT JOIN "Session" s ON s."captureId" = ${captureParam}::uuid AND s."engineSessionId" = src.engine_session_id
), ins AS (
  INSERT INTO "Packet" (${PACKET_COLUMNS})
  SELECT ${captureParam}::uuid, frame_no, session_id, ts, src_addr, dst_addr, src_port, dst_port, protocol, length,
         captured_length, tcp_flags, seq, ack, payload_length, info, dir::"Direction",
         CASE WHEN tcp_analysis IS NULL OR tcp_analysis = '' THEN '{}'::text[] ELSE string_to_array(tcp_analysis, E'\\x1f') END,
         link_type, raw
  FROM resolved
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM resolved WHERE engine_session_id IS NOT NULL AND session_id IS NULL) AS unknown,
       (SELECT count(*) FROM ins) AS inserted`;
}

const PACKET_UNNEST_SQL = packetInsertFrom(`
  SELECT * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[], $9::int[],
                       $10::int[], $11::smallint[], $12::bigint[], $13::bigint[], $14::int[], $15::text[], $16::int[],
                       $17::text[], $18::text[], $19::smallint[], $20::bytea[])
    AS t(frame_no, ts, src_addr, dst_addr, src_port, dst_port, protocol, length, captured_length, tcp_flags, seq, ack,
         payload_length, info, engine_session_id, dir, tcp_analysis, link_type, raw)`, '$1');

async function unnestPackets(pool: pg.Pool, captureId: string, chunk: readonly PacketRow[]): Promise<BulkResult> {
  const result = await pool.query<{ unknown: string; inserted: string }>(PACKET_UNNEST_SQL, [
    captureId,
    chunk.map((r) => r.no),
    chunk.map((r) => String(r.ts)),
    chunk.map((r) => r.src),
    chunk.map((r) => r.dst),
    chunk.map((r) => r.srcPort ?? null),
    chunk.map((r) => r.dstPort ?? null),
    chunk.map((r) => r.protocol),
    chunk.map((r) => r.length),
    chunk.map((r) => r.capturedLength),
    chunk.map((r) => r.tcpFlags ?? null),
    chunk.map((r) => r.seq ?? null),
    chunk.map((r) => r.ack ?? null),
    chunk.map((r) => r.payloadLength ?? null),
    chunk.map((r) => r.info),
    chunk.map((r) => r.sessionId ?? null),
    chunk.map((r) => r.dir ?? null),
    chunk.map((r) => (r.tcpAnalysis === undefined ? null : r.tcpAnalysis.join(SEP))),
    chunk.map((r) => r.linkType),
    chunk.map((r) => Buffer.from(r.raw.buffer, r.raw.byteOffset, r.raw.byteLength)),
  ]);
  const row = result.rows[0];
  return { inserted: Number(row?.inserted ?? 0), unknownSession: Number(row?.unknown ?? 0) };
}

const PACKET_STAGING = `CREATE TEMP TABLE IF NOT EXISTS packet_staging (
  frame_no int, ts bigint, src_addr text, dst_addr text, src_port int, dst_port int, protocol text, length int,
  captured_length int, tcp_flags smallint, seq bigint, ack bigint, payload_length int, info text,
  engine_session_id int, dir text, tcp_analysis text, link_type smallint, raw bytea
) ON COMMIT DELETE ROWS`;

const PACKET_COPY_SQL = packetInsertFrom('SELECT * FROM packet_staging', '$1');

async function copyPackets(pool: pg.Pool, captureId: string, chunk: readonly PacketRow[]): Promise<BulkResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(PACKET_STAGING);
    await pipeline(Readable.from(copyLines(chunk)), client.query(copyFrom('COPY packet_staging FROM STDIN')));
    const result = await client.query<{ unknown: string; inserted: string }>(PACKET_COPY_SQL, [captureId]);
    await client.query('COMMIT');
    const row = result.rows[0];
    return { inserted: Number(row?.inserted ?? 0), unknownSession: Number(row?.unknown ?? 0) };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/** COPY text format: tab-separated, \N for null, backslash escapes in text, bytea as \\x hex. */
function* copyLines(chunk: readonly PacketRow[]): Generator<string> {
  const lines: string[] = [];
  for (const r of chunk) {
    lines.push([
      r.no, String(r.ts), text(r.src), text(r.dst), opt(r.srcPort), opt(r.dstPort), text(r.protocol), r.length,
      r.capturedLength, opt(r.tcpFlags), opt(r.seq), opt(r.ack), opt(r.payloadLength), text(r.info), opt(r.sessionId),
      r.dir ?? '\\N', r.tcpAnalysis === undefined ? '\\N' : text(r.tcpAnalysis.join(SEP)), r.linkType,
      `\\\\x${Buffer.from(r.raw.buffer, r.raw.byteOffset, r.raw.byteLength).toString('hex')}`,
    ].join('\t'));
    if (lines.length === 500) {
      yield `${lines.join('\n')}\n`;
      lines.length = 0;
    }
  }
  if (lines.length > 0) yield `${lines.join('\n')}\n`;
}

function opt(value: number | undefined): string {
  return value === undefined ? '\\N' : String(value);
}

function text(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}
