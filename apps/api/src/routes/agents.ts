/** Agent tokens (admin): create (token shown once), list with live state, rotate, revoke (delete). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { currentUser } from '../auth/auth-hooks.ts';
import { hashToken, newToken } from '../auth/tokens.ts';
import { conflict, notFound } from '../http-errors.ts';
import { audit } from '../services/audit.ts';
import { ErrorResponse, UuidParam, commonErrors } from '../schemas.ts';

const AgentRow = Type.Object({
  id: Type.String(),
  name: Type.String(),
  host: Type.String(),
  version: Type.String(),
  /** As the agent reported them (name, addresses, description). */
  interfaces: Type.Array(Type.Unknown()),
  lastSeen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  connected: Type.Boolean(),
});
const WithToken = Type.Object({
  agent: AgentRow,
  token: Type.String({ description: 'shown this once: only its sha256 is kept' }),
});

export const agentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const db = app.db;
  const present = (a: { id: string; name: string; host: string; version: string; interfaces: unknown; lastSeen: Date | null; createdAt: Date }) => ({
    id: a.id,
    name: a.name,
    host: a.host,
    version: a.version,
    interfaces: Array.isArray(a.interfaces) ? (a.interfaces as unknown[]) : [],
    lastSeen: a.lastSeen?.toISOString() ?? null,
    createdAt: a.createdAt.toISOString(),
    connected: app.agentControl.connected(a.id),
  });
  const select = { id: true, name: true, host: true, version: true, interfaces: true, lastSeen: true, createdAt: true } as const;

  app.get('/agents', {
    preHandler: app.requireAdmin,
    schema: { tags: ['agents'], summary: 'Capture agents with their interfaces and connection state (admin)', response: { 200: Type.Object({ agents: Type.Array(AgentRow) }), ...commonErrors } },
  }, async () => ({ agents: (await db.prisma.agent.findMany({ select, orderBy: { name: 'asc' } })).map(present) }));

  app.post('/agents', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['agents'],
      summary: 'Register an agent and get its token (admin)',
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._-]+$' }) }),
      response: { 201: WithToken, ...commonErrors, 409: ErrorResponse },
    },
  }, async (request, reply) => {
    const { name } = request.body;
    if ((await db.prisma.agent.findUnique({ where: { name } })) !== null) throw conflict(`agent '${name}' exists already`);
    const token = newToken();
    // host and version are filled in by the agent's first connection.
    const agent = await db.prisma.agent.create({ data: { name, host: '', version: '', tokenHash: hashToken(token) }, select });
    await audit(db, currentUser(request).id, 'agent.create', `agent:${agent.id}`, { name });
    return reply.status(201).send({ agent: present(agent), token });
  });

  app.post('/agents/:id/rotate', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['agents'],
      summary: 'Replace an agent\'s token (admin); the old one stops working',
      params: Type.Object({ id: UuidParam }),
      response: { 200: WithToken, ...commonErrors },
    },
  }, async (request) => {
    const token = newToken();
    const updated = await db.prisma.agent.updateMany({ where: { id: request.params.id }, data: { tokenHash: hashToken(token) } });
    if (updated.count === 0) throw notFound('no such agent');
    const agent = await db.prisma.agent.findUniqueOrThrow({ where: { id: request.params.id }, select });
    await audit(db, currentUser(request).id, 'agent.rotate', `agent:${agent.id}`, { name: agent.name });
    app.events.emit('agent-revoked', agent.id);
    return { agent: present(agent), token };
  });

  app.delete('/agents/:id', {
    preHandler: app.requireAdmin,
    schema: { tags: ['agents'], summary: 'Revoke an agent (admin); its captures stay', params: Type.Object({ id: UuidParam }), response: { 204: Type.Null(), ...commonErrors } },
  }, async (request, reply) => {
    const agent = await db.prisma.agent.findUnique({ where: { id: request.params.id }, select: { id: true, name: true } });
    if (agent === null) throw notFound('no such agent');
    await db.prisma.agent.delete({ where: { id: agent.id } });
    await audit(db, currentUser(request).id, 'agent.delete', `agent:${agent.id}`, { name: agent.name });
    app.events.emit('agent-revoked', agent.id);
    return reply.status(204).send(null);
  });
};
