/**
 * GET /api/health (no sign-in): 200 when the API answers and its database does, 503 otherwise.
 * For the compose file's healthcheck, `npm start` waiting for the API, and load balancers. Says
 * nothing about the data.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

const Health = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('database unavailable')]) });

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', {
    schema: { tags: ['health'], summary: 'Liveness and database reachability', security: [], response: { 200: Health, 503: Health } },
  }, async (_request, reply) => {
    try {
      await app.db.pool.query('SELECT 1');
      return { status: 'ok' as const };
    } catch {
      return reply.status(503).send({ status: 'database unavailable' as const });
    }
  });
};
