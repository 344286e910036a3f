/** GET /api/audit-log (admin): who did what, newest first, keyset paging. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Prisma } from '@mailscope/db';
import { Type } from 'typebox';
import { DIGITS, decodeCursor, encodeCursor } from '../repositories/paging.ts';
import { Cursor, Limit, commonErrors } from '../schemas.ts';

export const auditLogRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/audit-log', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['audit'],
      summary: 'The audit log (admin), newest first',
      querystring: Type.Object({
        action: Type.Optional(Type.String({ maxLength: 50, description: "e.g. 'credential.reveal'" })),
        userId: Type.Optional(Type.String({ format: 'uuid' })),
        limit: Type.Optional(Limit),
        cursor: Type.Optional(Cursor),
      }),
      response: {
        200: Type.Object({
          entries: Type.Array(Type.Object({
            id: Type.String(),
            ts: Type.String({ format: 'date-time' }),
            userId: Type.Union([Type.String(), Type.Null()]),
            username: Type.Union([Type.String(), Type.Null()]),
            action: Type.String(),
            target: Type.Union([Type.String(), Type.Null()]),
            details: Type.Unknown(),
          })),
          next: Type.Union([Type.String(), Type.Null()]),
        }),
        ...commonErrors,
      },
    },
  }, async (request) => {
    const { action, userId, limit = 50, cursor } = request.query;
    const and: Prisma.AuditLogWhereInput[] = [];
    if (action !== undefined) and.push({ action });
    if (userId !== undefined) and.push({ userId });
    if (cursor !== undefined) and.push({ id: { lt: BigInt(decodeCursor(cursor, [DIGITS])[0]!) } });
    const rows = await app.db.prisma.auditLog.findMany({ where: { AND: and }, orderBy: { id: 'desc' }, take: limit + 1, include: { user: { select: { username: true } } } });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      entries: page.map((r) => ({ id: String(r.id), ts: r.ts.toISOString(), userId: r.userId, username: r.user?.username ?? null, action: r.action, target: r.target, details: r.details })),
      next: rows.length > limit && last !== undefined ? encodeCursor([last.id]) : null,
    };
  });
};
