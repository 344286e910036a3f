/** The `authenticate` / `requireAdmin` preHandlers and `request.user` (types in app.ts). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../http-errors.ts';
import type { AuthUser } from './login-sessions.ts';
import { SESSION_COOKIE, userForToken } from './login-sessions.ts';

/** Decorates `app` (the root instance, so every route plugin sees it). */
export function installAuth(app: FastifyInstance): void {
  app.decorateRequest('user', null);
  app.decorate('authenticate', async (request: FastifyRequest) => {
    const user = await userForToken(app.db, request.cookies[SESSION_COOKIE]);
    if (user === null) throw unauthorized();
    request.user = user;
  });
  app.decorate('requireAdmin', async (request: FastifyRequest) => {
    const user = await userForToken(app.db, request.cookies[SESSION_COOKIE]);
    if (user === null) throw unauthorized();
    request.user = user;
    if (user.role !== 'admin') throw forbidden();
  });
}

/** The signed-in user of a request that went through `authenticate`; throws 401 otherwise. */
export function currentUser(request: FastifyRequest): AuthUser {
  if (request.user === null) throw unauthorized();
  return request.user;
}
