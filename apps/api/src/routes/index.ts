/** Every REST route of the API core, registered under /api by app.ts. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { agentRoutes } from './agents.ts';
import { auditLogRoutes } from './audit-log.ts';
import { authRoutes } from './auth.ts';
import { captureRoutes } from './captures.ts';
import { healthRoutes } from './health.ts';
import { mailRoutes } from './mails.ts';
import { packetRoutes } from './packets.ts';
import { sessionRoutes } from './sessions.ts';
import { settingsRoutes } from './settings.ts';
import { statsRoutes } from './stats.ts';
import { userRoutes } from './users.ts';

export const apiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(userRoutes);
  await app.register(agentRoutes);
  await app.register(settingsRoutes);
  await app.register(captureRoutes);
  await app.register(sessionRoutes);
  await app.register(packetRoutes);
  await app.register(mailRoutes);
  await app.register(statsRoutes);
  await app.register(auditLogRoutes);
};
