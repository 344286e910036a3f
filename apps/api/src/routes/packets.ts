/** GET /api/packets: the global packet list, filtered, keyset paging. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TCP_ANALYSIS, TCP_FLAG_BITS, listPackets } from '../repositories/packets-repository.ts';
import { BigIdParam, Cursor, Limit, Nullable, TimeBound, commonErrors } from '../schemas.ts';

export const PacketRowSchema = Type.Object({
  captureId: Type.String(),
  frameNo: Type.Integer(),
  sessionId: Nullable(Type.String()),
  ts: Type.Number({ description: 'µs since the epoch' }),
  src: Type.String(),
  dst: Type.String(),
  srcPort: Nullable(Type.Integer()),
  dstPort: Nullable(Type.Integer()),
  protocol: Type.String(),
  length: Type.Integer(),
  capturedLength: Type.Integer(),
  tcpFlags: Nullable(Type.Integer()),
  seq: Nullable(Type.Number()),
  ack: Nullable(Type.Number()),
  payloadLength: Nullable(Type.Integer()),
  info: Type.String(),
  dir: Nullable(Type.Union([Type.Literal('client'), Type.Literal('server')])),
  tcpAnalysis: Type.Array(Type.String()),
});

export const packetRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/packets', {
    preHandler: app.authenticate,
    schema: {
      tags: ['packets'],
      summary: 'Packets, oldest first, filtered; keyset paging with `cursor` = the previous page\'s `next`',
      description: 'The `info` of client packets that carried credentials (PASS, AUTH, SASL lines) shows `****` in their place, as the timeline does.',
      querystring: Type.Object({
        captureId: Type.Optional(Type.String({ format: 'uuid' })),
        sessionId: Type.Optional(BigIdParam),
        address: Type.Optional(Type.String({ maxLength: 64, description: 'source or destination address' })),
        port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
        protocol: Type.Optional(Type.String({ maxLength: 16, description: "'SMTP', 'POP3', 'TCP', ..." })),
        from: Type.Optional(TimeBound),
        to: Type.Optional(TimeBound),
        flags: Type.Optional(Type.String({
          maxLength: 64,
          pattern: `^!?(${Object.keys(TCP_FLAG_BITS).join('|')})(,!?(${Object.keys(TCP_FLAG_BITS).join('|')}))*$`,
          description: "TCP flags, comma-separated: set unless prefixed with '!' (`SYN,!ACK`: connection attempts; `RST`: resets)",
        })),
        payload: Type.Optional(Type.Boolean({ description: 'true: only segments carrying payload; false: only those without' })),
        analysis: Type.Optional(Type.Union([Type.Literal('any'), ...TCP_ANALYSIS.map((a) => Type.Literal(a))], {
          description: "'any': packets with a TCP analysis label (retransmission, out-of-order, ...); a label: packets with that one",
        })),
        limit: Type.Optional(Limit),
        cursor: Type.Optional(Cursor),
      }),
      response: { 200: Type.Object({ packets: Type.Array(PacketRowSchema), next: Nullable(Type.String()) }), ...commonErrors },
    },
  }, async (request) => {
    const { limit, cursor, sessionId, ...filter } = request.query;
    return listPackets(app.db, { ...filter, sessionId: sessionId === undefined ? undefined : BigInt(sessionId) }, limit ?? 50, cursor);
  });
};
