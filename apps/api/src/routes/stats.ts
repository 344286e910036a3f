/**
 * GET /api/stats: the dashboard's chart data over a time range, computed in SQL. Buckets are µs
 * wide (default one minute, or the range cut into `buckets`), widened so that a range never has
 * more than MAX_BUCKETS of them. `extent` is the first and last session start of all the data, so a
 * dashboard can offer "all" and notice that a recent range is empty (imported files carry the
 * timestamps of when they were captured, often years ago).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { badRequest } from '../http-errors.ts';
import { parseTimeBound } from '../repositories/paging.ts';
import { TimeBound, commonErrors } from '../schemas.ts';

/** A chart with more points than a screen has pixels says nothing more. */
const MAX_BUCKETS = 1440;
const MINUTE_US = 60_000_000n;
const DAY_US = 24n * 3600n * 1_000_000n;
const TOP = 10;

const Series = Type.Array(Type.Object({ t: Type.Number({ description: 'bucket start, µs' }), key: Type.String(), count: Type.Number() }));

export const statsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const pool = app.db.pool;

  app.get('/stats', {
    preHandler: app.authenticate,
    schema: {
      tags: ['stats'],
      summary: 'Chart data: sessions per bucket by protocol, reply codes, auth failures, top servers / clients, bytes',
      description: 'Default range: the last 24 hours of captured traffic (ending at the newest session).',
      querystring: Type.Object({
        from: Type.Optional(TimeBound),
        to: Type.Optional(TimeBound),
        bucketSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, default: 60 })),
        buckets: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_BUCKETS, description: 'cut the range into this many buckets (at least 1 µs wide); overrides bucketSeconds' })),
      }),
      response: {
        200: Type.Object({
          from: Type.Number(),
          to: Type.Number(),
          bucketUs: Type.Number(),
          sessions: Series,
          replyCodes: Type.Array(Type.Object({ code: Type.String(), count: Type.Number() })),
          authFailures: Series,
          topServers: Type.Array(Type.Object({ addr: Type.String(), port: Type.Integer(), sessions: Type.Number() })),
          topClients: Type.Array(Type.Object({ addr: Type.String(), sessions: Type.Number() })),
          bytes: Series,
          extent: Type.Union([
            Type.Object({ first: Type.Number({ description: 'oldest session start, µs' }), last: Type.Number({ description: 'newest session start, µs' }) }),
            Type.Null(),
          ], { description: 'every stored session, whatever the range; null when there is none' }),
        }),
        ...commonErrors,
      },
    },
  }, async (request) => {
    let to = parseTimeBound(request.query.to, 'to');
    let from = parseTimeBound(request.query.from, 'from');
    // Both ends of the startTs index: two index probes, whatever the table's size.
    const ext = await pool.query<{ min: string | null; max: string | null }>('SELECT min("startTs")::text AS min, max("startTs")::text AS max FROM "Session"');
    const first = ext.rows[0]?.min ?? null;
    const last = ext.rows[0]?.max ?? null;
    to ??= last === null ? BigInt(Date.now()) * 1000n : BigInt(last) + 1n;
    from ??= to - DAY_US;
    if (from >= to) throw badRequest('from must be before to');
    const span = to - from;
    let bucket = request.query.buckets === undefined
      ? BigInt(request.query.bucketSeconds ?? 60) * 1_000_000n
      : (span + BigInt(request.query.buckets) - 1n) / BigInt(request.query.buckets);
    if (bucket <= 0n) bucket = MINUTE_US;
    if (span / bucket > BigInt(MAX_BUCKETS)) bucket = (span + BigInt(MAX_BUCKETS) - 1n) / BigInt(MAX_BUCKETS);
    const p = [String(from), String(to), String(bucket)];
    // t stays a bigint in SQL so that ORDER BY sorts numerically (as text, '9…' came after '1…');
    // node-postgres hands int8 over as a string.
    const series = (sql: string) => pool.query<{ t: string; key: string; count: string }>(sql, p).then((r) => r.rows.map((x) => ({ t: Number(x.t), key: x.key, count: Number(x.count) })));

    const [sessions, authFailures, bytes, replyCodes, topServers, topClients] = await Promise.all([
      series(`SELECT ($1::bigint + (("startTs" - $1::bigint) / $3::bigint) * $3::bigint) AS t, "protocol"::text AS key, count(*)::text AS count
                FROM "Session" WHERE "startTs" >= $1 AND "startTs" < $2 GROUP BY 1, 2 ORDER BY 1, 2`),
      series(`SELECT ($1::bigint + ((t."ts" - $1::bigint) / $3::bigint) * $3::bigint) AS t, s."protocol"::text AS key, count(*)::text AS count
                FROM "TimelineEntry" t JOIN "Session" s ON s."id" = t."sessionId"
               WHERE t."kind" = 'auth' AND t."authSuccess" = false AND t."ts" >= $1 AND t."ts" < $2 GROUP BY 1, 2 ORDER BY 1, 2`),
      series(`SELECT ($1::bigint + (("startTs" - $1::bigint) / $3::bigint) * $3::bigint) AS t, d.key, sum(d.bytes)::text AS count
                FROM "Session", LATERAL (VALUES ('client', "bytesClient"), ('server', "bytesServer")) AS d(key, bytes)
               WHERE "startTs" >= $1 AND "startTs" < $2 GROUP BY 1, 2 ORDER BY 1, 2`),
      pool.query<{ code: string; count: string }>(
        `SELECT t."verb" AS code, count(*)::text AS count FROM "TimelineEntry" t
          WHERE t."kind" = 'reply' AND t."ts" >= $1 AND t."ts" < $2 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 50`, [p[0], p[1]]),
      pool.query<{ addr: string; port: number; sessions: string }>(
        `SELECT "serverAddr" AS addr, "serverPort" AS port, count(*)::text AS sessions FROM "Session"
          WHERE "startTs" >= $1 AND "startTs" < $2 GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT ${TOP}`, [p[0], p[1]]),
      pool.query<{ addr: string; sessions: string }>(
        `SELECT "clientAddr" AS addr, count(*)::text AS sessions FROM "Session"
          WHERE "startTs" >= $1 AND "startTs" < $2 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ${TOP}`, [p[0], p[1]]),
    ]);
    return {
      from: Number(from),
      to: Number(to),
      bucketUs: Number(bucket),
      sessions,
      replyCodes: replyCodes.rows.map((r) => ({ code: r.code, count: Number(r.count) })),
      authFailures,
      topServers: topServers.rows.map((r) => ({ addr: r.addr, port: r.port, sessions: Number(r.sessions) })),
      topClients: topClients.rows.map((r) => ({ addr: r.addr, sessions: Number(r.sessions) })),
      bytes,
      extent: first === null || last === null ? null : { first: Number(first), last: Number(last) },
    };
  });
};
