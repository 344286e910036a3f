/** Users (admin): list, create, change role / password, delete. The last admin cannot go. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { currentUser } from '../auth/auth-hooks.ts';
import { MAX_PASSWORD_CHARS, hashPassword } from '../auth/password.ts';
import { badRequest, conflict, notFound } from '../http-errors.ts';
import { audit } from '../services/audit.ts';
import { ErrorResponse, UuidParam, commonErrors } from '../schemas.ts';

const Role = Type.Union([Type.Literal('viewer'), Type.Literal('admin')]);
const UserRow = Type.Object({ id: Type.String(), username: Type.String(), role: Role, createdAt: Type.String({ format: 'date-time' }) });
/** NIST SP 800-63B: at least 8 characters, no composition rules. */
const Password = Type.String({ minLength: 8, maxLength: MAX_PASSWORD_CHARS });
const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' });

const LAST_ADMIN = 'this is the last admin: make another user admin first';

function present(u: { id: string; username: string; role: 'viewer' | 'admin'; createdAt: Date }) {
  return { id: u.id, username: u.username, role: u.role, createdAt: u.createdAt.toISOString() };
}

export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const db = app.db;

  app.get('/users', {
    preHandler: app.requireAdmin,
    schema: { tags: ['users'], summary: 'Users (admin)', response: { 200: Type.Object({ users: Type.Array(UserRow) }), ...commonErrors } },
  }, async () => ({ users: (await db.prisma.user.findMany({ orderBy: { username: 'asc' } })).map(present) }));

  app.post('/users', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['users'],
      summary: 'Create a user (admin)',
      body: Type.Object({ username: Username, password: Password, role: Role }),
      response: { 201: UserRow, ...commonErrors, 409: ErrorResponse },
    },
  }, async (request, reply) => {
    const { username, password, role } = request.body;
    if ((await db.prisma.user.findUnique({ where: { username } })) !== null) throw conflict(`user '${username}' exists already`);
    const user = await db.prisma.user.create({ data: { username, role, passwordHash: await hashPassword(password) } });
    await audit(db, currentUser(request).id, 'user.create', `user:${user.id}`, { username, role });
    return reply.status(201).send(present(user));
  });

  app.patch('/users/:id', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['users'],
      summary: 'Change a user\'s role and / or password (admin); a new password signs the user out everywhere',
      params: Type.Object({ id: UuidParam }),
      body: Type.Object({ role: Type.Optional(Role), password: Type.Optional(Password) }),
      response: { 200: UserRow, ...commonErrors, 409: ErrorResponse },
    },
  }, async (request) => {
    const { role, password } = request.body;
    if (role === undefined && password === undefined) throw badRequest('nothing to change: give role and / or password');
    const user = await db.prisma.$transaction(async (tx) => {
      const existing = await tx.user.findUnique({ where: { id: request.params.id } });
      if (existing === null) throw notFound('no such user');
      if (role === 'viewer' && existing.role === 'admin' && (await tx.user.count({ where: { role: 'admin' } })) <= 1) throw conflict(LAST_ADMIN);
      const updated = await tx.user.update({
        where: { id: existing.id },
        data: { ...(role === undefined ? {} : { role }), ...(password === undefined ? {} : { passwordHash: await hashPassword(password) }) },
      });
      if (password !== undefined) await tx.loginSession.deleteMany({ where: { userId: existing.id } });
      return updated;
    }, { isolationLevel: 'Serializable' });
    await audit(db, currentUser(request).id, 'user.update', `user:${user.id}`, { role: role ?? null, passwordChanged: password !== undefined });
    return present(user);
  });

  app.delete('/users/:id', {
    preHandler: app.requireAdmin,
    schema: { tags: ['users'], summary: 'Delete a user (admin)', params: Type.Object({ id: UuidParam }), response: { 204: Type.Null(), ...commonErrors, 409: ErrorResponse } },
  }, async (request, reply) => {
    const deleted = await db.prisma.$transaction(async (tx) => {
      const existing = await tx.user.findUnique({ where: { id: request.params.id } });
      if (existing === null) throw notFound('no such user');
      if (existing.role === 'admin' && (await tx.user.count({ where: { role: 'admin' } })) <= 1) throw conflict(LAST_ADMIN);
      await tx.user.delete({ where: { id: existing.id } });
      return existing;
    }, { isolationLevel: 'Serializable' });
    await audit(db, currentUser(request).id, 'user.delete', `user:${deleted.id}`, { username: deleted.username });
    return reply.status(204).send(null);
  });
};
