/**
 * Sessions: filtered list (keyset paging), detail with the timeline (passwords masked), packets,
 * reassembled data flow, .pcap export; credential reveal (admin, audited).
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PcapWriter } from '@mailscope/protocols/pcap-writer';
import { Type } from 'typebox';
import { currentUser } from '../auth/auth-hooks.ts';
import { notFound } from '../http-errors.ts';
import { sessionFrames, sessionPackets } from '../repositories/packets-repository.ts';
import { credentialFrames, getSession, getTimeline, linkTimeline, listSessions, sessionMails } from '../repositories/sessions-repository.ts';
import { audit } from '../services/audit.ts';
import { maskFlowCredentials, rebuildDataFlow } from '../services/data-flow.ts';
import type { FlowFrame } from '../services/data-flow.ts';
import { BigIdParam, Cursor, IdList, Limit, MAIL_LIST_FIELDS, Nullable, TimeBound, commonErrors } from '../schemas.ts';
import { PacketRowSchema } from './packets.ts';

const Endpoint = Type.Object({ addr: Type.String(), port: Type.Integer() });
const Pair = Type.Object({ client: Type.Number(), server: Type.Number() });

export const SessionRowSchema = Type.Object({
  id: Type.String(),
  captureId: Type.String(),
  protocol: Type.Union([Type.Literal('smtp'), Type.Literal('pop3')]),
  client: Endpoint,
  server: Endpoint,
  startTs: Type.Number({ description: 'µs since the epoch' }),
  endTs: Nullable(Type.Number()),
  state: Type.String(),
  outcome: Nullable(Type.String()),
  authUser: Nullable(Type.String()),
  authMechanism: Nullable(Type.String()),
  authSuccess: Nullable(Type.Boolean()),
  encrypted: Type.Boolean(),
  helo: Nullable(Type.String()),
  mails: Type.Integer(),
  packets: Pair,
  bytes: Pair,
  retransmissions: Type.Integer(),
  gaps: Type.Integer(),
  anomalies: Type.Integer(),
});

const TimelineEntrySchema = Type.Object({
  seq: Type.Integer(),
  ts: Type.Number(),
  dir: Type.Union([Type.Literal('client'), Type.Literal('server')]),
  kind: Type.String(),
  verb: Type.String(),
  arg: Type.String(),
  frames: Type.Array(Type.Integer()),
  latencyUs: Nullable(Type.Number()),
  auth: Nullable(Type.Object({
    mechanism: Nullable(Type.String()),
    user: Nullable(Type.String()),
    password: Nullable(Type.String({ description: "'****' when a password was captured; reveal it with POST .../reveal (admin)" })),
    success: Nullable(Type.Boolean()),
  })),
  mail: Type.Optional(Nullable(Type.Integer({ description: '`data` entries: index of the mail (in `mails`) whose bytes the entry carried' }))),
  retransmission: Type.Optional(Nullable(Type.Object({
    originalFrame: Nullable(Type.Integer({ description: 'the earlier packet whose bytes were sent again' })),
    entrySeq: Nullable(Type.Integer({ description: 'the timeline entry those bytes belong to (a retransmitted command is one entry)' })),
  }, { description: '`tcp` RETRANSMISSION entries' }))),
});

const SessionMailSchema = Type.Object({
  ...MAIL_LIST_FIELDS,
  command: Type.String({ description: "'DATA', 'BDAT', 'RETR' or 'TOP'" }),
  messageNumber: Nullable(Type.Integer()),
  finalReply: Nullable(Type.String()),
});

const SessionDetailSchema = Type.Object({
  session: Type.Intersect([SessionRowSchema, Type.Object({
    engineSessionId: Type.Integer(),
    greeting: Nullable(Type.String()),
    sawSyn: Type.Boolean(),
    detectedBy: Type.String(),
    closeReason: Nullable(Type.String()),
    deleted: Type.Array(Type.Integer()),
    gapBytes: Type.Number(),
  })]),
  timeline: Type.Array(TimelineEntrySchema),
  timelineTruncated: Type.Boolean(),
  mails: Type.Array(SessionMailSchema),
});

/** Timeline entries returned with a session; a longer dialogue says `timelineTruncated`. */
const MAX_TIMELINE = 5000;
/** Bytes of each direction the data flow returns (1 MiB: a page a person reads, not a mail archive). */
const MAX_FLOW_BYTES = 1024 * 1024;

export const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const db = app.db;
  const Id = Type.Object({ id: BigIdParam });

  const requireSession = async (id: string) => {
    const s = await getSession(db, BigInt(id));
    if (s === null) throw notFound(`no session ${id}`);
    return s;
  };

  app.get('/sessions', {
    preHandler: app.authenticate,
    schema: {
      tags: ['sessions'],
      summary: 'Mail sessions, newest first, filtered; keyset paging with `cursor` = the previous page\'s `next`',
      querystring: Type.Object({
        from: Type.Optional(TimeBound),
        to: Type.Optional(TimeBound),
        protocol: Type.Optional(Type.Union([Type.Literal('smtp'), Type.Literal('pop3')])),
        outcome: Type.Optional(Type.String({ maxLength: 30 })),
        address: Type.Optional(Type.String({ maxLength: 64, description: 'client or server address' })),
        port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'client or server port' })),
        user: Type.Optional(Type.String({ maxLength: 256, description: 'authenticated user, exact' })),
        text: Type.Optional(Type.String({ maxLength: 200, description: 'substring of a subject, a mail address, HELO or the user' })),
        captureId: Type.Optional(Type.String({ format: 'uuid' })),
        ids: Type.Optional(IdList('session')),
        limit: Type.Optional(Limit),
        cursor: Type.Optional(Cursor),
      }),
      response: { 200: Type.Object({ sessions: Type.Array(SessionRowSchema), next: Nullable(Type.String()) }), ...commonErrors },
    },
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query;
    return listSessions(db, filter, limit ?? 50, cursor);
  });

  app.get('/sessions/:id', {
    preHandler: app.authenticate,
    schema: { tags: ['sessions'], summary: 'A session with its timeline (passwords masked) and mails', params: Id, response: { 200: SessionDetailSchema, ...commonErrors } },
  }, async (request) => {
    const session = await requireSession(request.params.id);
    const { entries, truncated } = await getTimeline(db, BigInt(session.id), MAX_TIMELINE);
    const mails = await sessionMails(db, BigInt(session.id));
    await linkTimeline(db, session, entries, mails);
    return { session, timeline: entries, timelineTruncated: truncated, mails: mails.map(({ frames: _frames, ...m }) => m) };
  });

  app.get('/sessions/:id/packets', {
    preHandler: app.authenticate,
    schema: {
      tags: ['sessions'],
      summary: 'The session\'s packets in frame order, paged; the info of a frame that carried a credential is masked',
      params: Id,
      querystring: Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }),
      response: { 200: Type.Object({ packets: Type.Array(PacketRowSchema), next: Nullable(Type.String()) }), ...commonErrors },
    },
  }, async (request) => {
    await requireSession(request.params.id);
    // sessionPackets masks the info of the frames that carried credentials.
    return sessionPackets(db, BigInt(request.params.id), request.query.limit ?? 50, request.query.cursor);
  });

  app.get('/sessions/:id/flow', {
    preHandler: app.authenticate,
    schema: {
      tags: ['sessions'],
      summary: 'The reassembled data flow, rebuilt from the stored frames: text chunks per direction with their frames',
      description: `At most ${MAX_FLOW_BYTES} bytes per direction; \`truncated\` says when more was left out. Credentials the client sent (PASS, AUTH initial responses, SASL lines) read \`****\`.`,
      params: Id,
      response: {
        200: Type.Object({
          chunks: Type.Array(Type.Object({
            dir: Type.Union([Type.Literal('client'), Type.Literal('server')]),
            ts: Type.Number(),
            frames: Type.Array(Type.Integer()),
            text: Type.String(),
            bytes: Type.Integer(),
            gap: Type.Optional(Type.Integer({ description: 'bytes never captured' })),
          })),
          bytes: Pair,
          truncated: Type.Boolean(),
        }),
        ...commonErrors,
      },
    },
  }, async (request) => {
    const session = await requireSession(request.params.id);
    const frames: FlowFrame[] = [];
    for await (const f of sessionFrames(db, BigInt(session.id))) frames.push(f);
    return maskFlowCredentials(rebuildDataFlow(frames, session.server.port, MAX_FLOW_BYTES), await credentialFrames(db, BigInt(session.id)));
  });

  app.get('/sessions/:id/pcap', {
    // Admin only, like a mail download: the frames hold the mails and the credentials in clear.
    preHandler: app.requireAdmin,
    schema: {
      tags: ['sessions'],
      summary: 'The session\'s frames as a .pcap file (admin: they hold mails and credentials in clear)',
      params: Id,
      response: { 200: Type.Unsafe<Readable>({ type: 'string', format: 'binary', description: 'pcap (libpcap, µs)' }), ...commonErrors },
    },
  }, async (request, reply) => {
    const session = await requireSession(request.params.id);
    const frames = sessionFrames(db, BigInt(session.id));
    const first = await frames.next();
    // A pcap file has one link type; frames of another (a capture mixing interfaces) are left out.
    const linkType = first.done === true ? 1 : first.value.linkType;
    const writer = new PcapWriter(linkType);
    async function* file(): AsyncGenerator<Uint8Array> {
      yield writer.header();
      if (first.done === true) return;
      yield writer.record(first.value.ts, first.value.raw, first.value.length);
      for await (const f of frames) if (f.linkType === linkType) yield writer.record(f.ts, f.raw, f.length);
    }
    return reply
      .header('content-type', 'application/vnd.tcpdump.pcap')
      .header('content-disposition', `attachment; filename="session-${session.id}.pcap"`)
      .send(Readable.from(file()));
  });

  app.post('/sessions/:id/timeline/:seq/reveal', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['sessions'],
      summary: 'Reveal a captured password (admin); every reveal is written to the audit log',
      params: Type.Object({ id: BigIdParam, seq: Type.Integer({ minimum: 1 }) }),
      response: { 200: Type.Object({ user: Nullable(Type.String()), mechanism: Nullable(Type.String()), password: Type.String() }), ...commonErrors },
    },
  }, async (request) => {
    const { id, seq } = request.params;
    const entry = await db.prisma.timelineEntry.findUnique({
      where: { sessionId_seq: { sessionId: BigInt(id), seq } },
      select: { authUser: true, authMechanism: true, authPassword: true },
    });
    if (entry === null) throw notFound(`no timeline entry ${seq} in session ${id}`);
    if (entry.authPassword === null) throw notFound(`timeline entry ${seq} of session ${id} carries no password`);
    await audit(db, currentUser(request).id, 'credential.reveal', `timeline:${id}:${seq}`, { user: entry.authUser, mechanism: entry.authMechanism });
    return { user: entry.authUser, mechanism: entry.authMechanism, password: entry.authPassword };
  });
};
