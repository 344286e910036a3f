/** Captures: list and one (signed in), start / stop a live capture on an agent (admin). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { currentUser } from '../auth/auth-hooks.ts';
import { conflict, notFound } from '../http-errors.ts';
import { audit } from '../services/audit.ts';
import { ErrorResponse, Limit, UuidParam, commonErrors } from '../schemas.ts';

const CaptureRow = Type.Object({
  id: Type.String(),
  agentId: Type.Union([Type.String(), Type.Null()]),
  agentName: Type.Union([Type.String(), Type.Null()]),
  source: Type.Union([Type.Literal('live'), Type.Literal('upload')]),
  interface: Type.Union([Type.String(), Type.Null()]),
  filter: Type.String(),
  fileName: Type.Union([Type.String(), Type.Null()]),
  startedAt: Type.String({ format: 'date-time' }),
  stoppedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  status: Type.String(),
  error: Type.Union([Type.String(), Type.Null()]),
  packets: Type.Number(),
  drops: Type.Number(),
  sessions: Type.Integer(),
  mails: Type.Integer(),
  bytes: Type.Number(),
});

const select = {
  id: true, agentId: true, agent: { select: { name: true } }, source: true, interface: true, filter: true, fileName: true,
  startedAt: true, stoppedAt: true, status: true, error: true, packets: true, drops: true, sessions: true, mails: true, bytes: true,
} as const;

type Row = {
  id: string; agentId: string | null; agent: { name: string } | null; source: 'live' | 'upload'; interface: string | null; filter: string;
  fileName: string | null; startedAt: Date; stoppedAt: Date | null; status: string; error: string | null; packets: bigint; drops: bigint;
  sessions: number; mails: number; bytes: bigint;
};

function present(c: Row) {
  const { agent, ...rest } = c;
  return {
    ...rest,
    agentName: agent?.name ?? null,
    startedAt: c.startedAt.toISOString(),
    stoppedAt: c.stoppedAt?.toISOString() ?? null,
    packets: Number(c.packets),
    drops: Number(c.drops),
    bytes: Number(c.bytes),
  };
}

/**
 * 502 with the agent's reason. Not thrown: the error handler answers every 5xx with 'internal
 * error' (an API fault must not leak), but this is the agent refusing the user's request, which
 * the user can fix.
 */
function agentFailed(reply: FastifyReply, message: string) {
  return reply.status(502).send({ statusCode: 502, error: 'Bad Gateway', message });
}

export const captureRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const db = app.db;

  app.get('/captures', {
    preHandler: app.authenticate,
    schema: {
      tags: ['captures'],
      summary: 'Captures, newest first, with their counters',
      querystring: Type.Object({
        status: Type.Optional(Type.String({ maxLength: 20 })),
        source: Type.Optional(Type.Union([Type.Literal('live'), Type.Literal('upload')])),
        limit: Type.Optional(Limit),
      }),
      response: { 200: Type.Object({ captures: Type.Array(CaptureRow) }), ...commonErrors },
    },
  }, async (request) => {
    const q = request.query;
    const rows = await db.prisma.capture.findMany({
      where: { ...(q.status === undefined ? {} : { status: q.status }), ...(q.source === undefined ? {} : { source: q.source }) },
      orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
      take: q.limit ?? 50,
      select,
    });
    return { captures: rows.map(present) };
  });

  app.get('/captures/:id', {
    preHandler: app.authenticate,
    schema: { tags: ['captures'], summary: 'One capture with its status and counters', params: Type.Object({ id: UuidParam }), response: { 200: CaptureRow, ...commonErrors } },
  }, async (request) => {
    const row = await db.prisma.capture.findUnique({ where: { id: request.params.id }, select });
    if (row === null) throw notFound('no such capture');
    return present(row);
  });

  app.post('/captures', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['captures'],
      summary: 'Start a live capture on an agent (admin)',
      description: '`filter` is a BPF expression ANDed with the port filter of the settings; the agent compiles it and refuses a bad one.',
      body: Type.Object({
        agentId: UuidParam,
        interface: Type.String({ minLength: 1, maxLength: 256 }),
        filter: Type.String({ maxLength: 2048, default: '' }),
      }),
      response: { 201: CaptureRow, ...commonErrors, 409: ErrorResponse, 502: ErrorResponse },
    },
  }, async (request, reply) => {
    const { agentId, interface: iface, filter } = request.body;
    const agent = await db.prisma.agent.findUnique({ where: { id: agentId }, select: { id: true, name: true } });
    if (agent === null) throw notFound('no such agent');
    if (!app.agentControl.connected(agentId)) throw conflict(`agent '${agent.name}' is not connected`);
    const capture = await db.prisma.capture.create({ data: { agentId, source: 'live', interface: iface, filter: filter.trim(), status: 'running' }, select });
    try {
      await app.agentControl.start(agentId, { captureId: capture.id, interface: iface, filter: filter.trim() });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await db.prisma.capture.update({ where: { id: capture.id }, data: { status: 'failed', error: message, stoppedAt: new Date() } });
      // The agent's words (a BPF syntax error, no permission, no such interface) are what the user
      // needs to fix the request: sent here, since the error handler hides every 5xx message.
      return agentFailed(reply, `agent '${agent.name}' could not start the capture: ${message}`);
    }
    await audit(db, currentUser(request).id, 'capture.start', `capture:${capture.id}`, { agent: agent.name, interface: iface, filter });
    app.events.emit('capture-changed', { id: capture.id, status: 'running', agentId });
    return reply.status(201).send(present(capture));
  });

  app.post('/captures/:id/stop', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['captures'],
      summary: 'Stop a running live capture (admin)',
      params: Type.Object({ id: UuidParam }),
      response: { 200: CaptureRow, ...commonErrors, 409: ErrorResponse, 502: ErrorResponse },
    },
  }, async (request, reply) => {
    const capture = await db.prisma.capture.findUnique({ where: { id: request.params.id }, select });
    if (capture === null) throw notFound('no such capture');
    if (capture.source !== 'live' || capture.status !== 'running') throw conflict(`capture is ${capture.status}, not a running live capture`);
    let error: string | null = null;
    if (capture.agentId !== null && app.agentControl.connected(capture.agentId)) {
      try {
        await app.agentControl.stop(capture.id);
      } catch (e) {
        return agentFailed(reply, `the agent could not stop the capture: ${e instanceof Error ? e.message : String(e)}`);
      }
    } else {
      // The agent is gone, so nothing is capturing; record that instead of refusing forever.
      error = 'agent not connected when the capture was stopped';
    }
    const updated = await db.prisma.capture.update({ where: { id: capture.id }, data: { status: 'stopped', stoppedAt: new Date(), ...(error === null ? {} : { error }) }, select });
    await audit(db, currentUser(request).id, 'capture.stop', `capture:${capture.id}`, {});
    app.events.emit('capture-changed', { id: updated.id, status: 'stopped', agentId: updated.agentId });
    return present(updated);
  });
};
