/** POST /api/auth/login, POST /api/auth/logout, GET /api/auth/me. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { currentUser } from '../auth/auth-hooks.ts';
import { SESSION_COOKIE, createLoginSession, deleteLoginSession } from '../auth/login-sessions.ts';
import { MAX_PASSWORD_CHARS, dummyPasswordHash, verifyPassword } from '../auth/password.ts';
import { HttpError } from '../http-errors.ts';
import { ErrorResponse, commonErrors } from '../schemas.ts';

export const UserSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: Type.Union([Type.Literal('viewer'), Type.Literal('admin')]),
});

/** Same words for an unknown user and a wrong password: the answer must not tell which. */
const BAD_LOGIN = 'wrong user name or password';

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/auth/login', {
    schema: {
      tags: ['auth'],
      summary: 'Sign in; sets the httpOnly session cookie',
      security: [],
      body: Type.Object({
        username: Type.String({ minLength: 1, maxLength: 100 }),
        password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_CHARS }),
      }),
      response: { 200: Type.Object({ user: UserSchema }), 400: ErrorResponse, 401: ErrorResponse, 429: ErrorResponse },
    },
  }, async (request, reply) => {
    const limiter = app.loginRateLimiter;
    const wait = limiter.retryAfter(request.ip);
    if (wait > 0) throw new HttpError(429, `too many failed sign-ins from this address; try again in ${wait} s`, { retryAfter: wait });
    const user = await app.db.prisma.user.findUnique({ where: { username: request.body.username } });
    const ok = await verifyPassword(request.body.password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (user === null || !ok) {
      limiter.fail(request.ip);
      throw new HttpError(401, BAD_LOGIN);
    }
    limiter.succeed(request.ip);
    const { token, expiresAt } = await createLoginSession(app.db, user.id);
    void reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: app.config.cookieSecure,
      path: '/',
      expires: expiresAt,
    });
    return { user: { id: user.id, username: user.username, role: user.role } };
  });

  app.post('/auth/logout', {
    schema: { tags: ['auth'], summary: 'Sign out: ends this login and clears the cookie', response: { 204: Type.Null() } },
  }, async (request, reply) => {
    await deleteLoginSession(app.db, request.cookies[SESSION_COOKIE]);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send(null);
  });

  app.get('/auth/me', {
    preHandler: app.authenticate,
    schema: { tags: ['auth'], summary: 'The signed-in user', response: { 200: Type.Object({ user: UserSchema }), 401: commonErrors[401] } },
  }, async (request) => ({ user: currentUser(request) }));
};
