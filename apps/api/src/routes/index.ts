/** Every REST route of the API core, registered under /api by app.ts. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authRoutes } from './auth.ts';

export const apiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(authRoutes);
};
