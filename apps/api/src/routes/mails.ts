/**
 * Mails: list with search, detail (bodies parsed on demand from the stored raw bytes), raw .eml
 * and attachment downloads (admin). Download names come from ids only (STYLE.md), never from mail
 * content.
 */
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Prisma } from '@mailscope/db';
import PostalMime from 'postal-mime';
import { Type } from 'typebox';
import { currentUser } from '../auth/auth-hooks.ts';
import { notFound } from '../http-errors.ts';
import { DIGITS, decodeCursor, encodeCursor } from '../repositories/paging.ts';
import { audit } from '../services/audit.ts';
import { BigIdParam, Cursor, IdList, Limit, MAIL_LIST_FIELDS, Nullable, commonErrors, parseIdList } from '../schemas.ts';

export const RAW_NOT_SAVED = 'Save Mail was off when this mail was captured';
/** Bodies returned by the detail route; longer ones are cut (`bodiesTruncated`). */
const MAX_BODY_CHARS = 512 * 1024;
/** Header fields returned by the detail route; a real mail has a few dozen, a hostile one could have thousands. */
const MAX_HEADERS = 1000;
/** One header value; longer ones (a folded DKIM key is ~1 KB) are cut. */
const MAX_HEADER_VALUE_CHARS = 16 * 1024;

const MailRow = Type.Object({ ...MAIL_LIST_FIELDS, sessionId: Type.String() });

const LIST_SELECT = {
  id: true, sessionId: true, index: true, direction: true, mailFrom: true, rcptTo: true, from: true, to: true, subject: true,
  date: true, startTs: true, size: true, complete: true, _count: { select: { attachments: true } },
} as const;

type ListRow = Prisma.MailGetPayload<{ select: typeof LIST_SELECT }>;

function present(m: ListRow, hasRaw: boolean) {
  return {
    id: String(m.id),
    sessionId: String(m.sessionId),
    index: m.index,
    direction: m.direction,
    mailFrom: m.mailFrom,
    rcptTo: m.rcptTo,
    from: m.from,
    to: m.to,
    subject: m.subject,
    date: m.date,
    startTs: Number(m.startTs),
    size: m.size,
    attachments: m._count.attachments,
    complete: m.complete,
    hasRaw,
  };
}

export const mailRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const db = app.db;
  const Id = Type.Object({ id: BigIdParam });

  /** Which of `ids` have raw bytes, without reading them. */
  const rawFlags = async (ids: bigint[]): Promise<Set<string>> => {
    if (ids.length === 0) return new Set();
    const r = await db.pool.query<{ id: string }>('SELECT "id"::text AS id FROM "Mail" WHERE "id" = ANY($1::bigint[]) AND "raw" IS NOT NULL', [ids.map(String)]);
    return new Set(r.rows.map((x) => x.id));
  };

  app.get('/mails', {
    preHandler: app.authenticate,
    schema: {
      tags: ['mails'],
      summary: 'Mails, newest first; `q` searches subject, From, MAIL FROM and recipients',
      description: '`ids` limits the list to those mails (the ids of live `mail` events), so a page can insert them in its order with the same filters applied.',
      querystring: Type.Object({
        q: Type.Optional(Type.String({ maxLength: 200 })),
        sessionId: Type.Optional(BigIdParam),
        direction: Type.Optional(Type.Union([Type.Literal('sent'), Type.Literal('retrieved')])),
        ids: Type.Optional(IdList('mail')),
        limit: Type.Optional(Limit),
        cursor: Type.Optional(Cursor),
      }),
      response: { 200: Type.Object({ mails: Type.Array(MailRow), next: Nullable(Type.String()) }), ...commonErrors },
    },
  }, async (request) => {
    const { q, sessionId, direction, ids, limit = 50, cursor } = request.query;
    const and: Prisma.MailWhereInput[] = [];
    if (sessionId !== undefined) and.push({ sessionId: BigInt(sessionId) });
    if (direction !== undefined) and.push({ direction });
    if (ids !== undefined) and.push({ id: { in: parseIdList(ids) } });
    if (q !== undefined && q.trim() !== '') {
      const t = q.trim();
      const like = { contains: t.replace(/[\\%_]/g, (c) => `\\${c}`), mode: 'insensitive' } as const;
      and.push({ OR: [{ subject: like }, { from: like }, { mailFrom: like }, { rcptTo: { has: t } }, { to: { has: t } }] });
    }
    if (cursor !== undefined) {
      const [ts, id] = decodeCursor(cursor, [DIGITS, DIGITS]).map(BigInt) as [bigint, bigint];
      and.push({ OR: [{ startTs: { lt: ts } }, { startTs: ts, id: { lt: id } }] });
    }
    const rows = await db.prisma.mail.findMany({ where: { AND: and }, orderBy: [{ startTs: 'desc' }, { id: 'desc' }], take: limit + 1, select: LIST_SELECT });
    const page = rows.slice(0, limit);
    const raw = await rawFlags(page.map((m) => m.id));
    const last = page[page.length - 1];
    return { mails: page.map((m) => present(m, raw.has(String(m.id)))), next: rows.length > limit && last !== undefined ? encodeCursor([last.startTs, last.id]) : null };
  });

  app.get('/mails/:id', {
    preHandler: app.authenticate,
    schema: {
      tags: ['mails'],
      summary: 'A mail: envelope, headers, attachments, and its text / HTML bodies when the raw mail was saved',
      params: Id,
      response: {
        200: Type.Object({
          mail: Type.Intersect([MailRow, Type.Object({
            cc: Type.Array(Type.String()),
            messageId: Nullable(Type.String()),
            command: Type.String(),
            mailParams: Type.Array(Type.String()),
            finalReply: Nullable(Type.String()),
            sha256: Type.String(),
            parseError: Nullable(Type.String()),
            frames: Type.Array(Type.Integer()),
          })]),
          attachments: Type.Array(Type.Object({
            id: Type.String(), filename: Nullable(Type.String()), contentType: Type.String(), size: Type.Integer(), sha256: Type.String(), disposition: Nullable(Type.String()),
          })),
          /** Null when the raw mail was not saved. */
          body: Nullable(Type.Object({
            text: Nullable(Type.String()),
            html: Nullable(Type.String()),
            truncated: Type.Boolean(),
            /** The header fields in mail order, names as written, values unfolded (RFC 5322 2.2.3: the CRLF goes, the white space stays) and not decoded. */
            headers: Type.Array(Type.Object({ name: Type.String(), value: Type.String() })),
            headersTruncated: Type.Boolean(),
          })),
        }),
        ...commonErrors,
      },
    },
  }, async (request) => {
    const id = BigInt(request.params.id);
    const m = await db.prisma.mail.findUnique({
      where: { id },
      select: { ...LIST_SELECT, cc: true, messageId: true, command: true, mailParams: true, finalReply: true, sha256: true, parseError: true, frames: true, raw: true, attachments: { orderBy: { id: 'asc' } } },
    });
    if (m === null) throw notFound(`no mail ${request.params.id}`);
    type Body = { text: string | null; html: string | null; truncated: boolean; headers: { name: string; value: string }[]; headersTruncated: boolean };
    let body: Body | null = null;
    if (m.raw !== null) {
      try {
        const email = await PostalMime.parse(m.raw);
        const cut = (s: string | undefined) => (s === undefined ? null : s.slice(0, MAX_BODY_CHARS));
        body = {
          text: cut(email.text),
          html: cut(email.html),
          truncated: (email.text?.length ?? 0) > MAX_BODY_CHARS || (email.html?.length ?? 0) > MAX_BODY_CHARS,
          headers: email.headers.slice(0, MAX_HEADERS).map((h) => ({ name: h.originalKey, value: h.value.slice(0, MAX_HEADER_VALUE_CHARS) })),
          headersTruncated: email.headers.length > MAX_HEADERS || email.headers.some((h) => h.value.length > MAX_HEADER_VALUE_CHARS),
        };
      } catch {
        body = { text: null, html: null, truncated: false, headers: [], headersTruncated: false };
      }
    }
    const { raw, attachments, ...rest } = m;
    return {
      mail: {
        ...present(rest, raw !== null),
        cc: m.cc, messageId: m.messageId, command: m.command, mailParams: m.mailParams, finalReply: m.finalReply, sha256: m.sha256, parseError: m.parseError, frames: m.frames,
      },
      attachments: attachments.map((a) => ({ id: String(a.id), filename: a.filename, contentType: a.contentType, size: a.size, sha256: a.sha256, disposition: a.disposition })),
      body,
    };
  });

  app.get('/mails/:id/raw', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['mails'],
      summary: 'Download the mail as .eml (admin); only when Save Mail was on',
      params: Id,
      response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'message/rfc822' }), ...commonErrors },
    },
  }, async (request, reply) => {
    const m = await db.prisma.mail.findUnique({ where: { id: BigInt(request.params.id) }, select: { id: true, raw: true } });
    if (m === null) throw notFound(`no mail ${request.params.id}`);
    if (m.raw === null) throw notFound(RAW_NOT_SAVED);
    await audit(db, currentUser(request).id, 'mail.download', `mail:${m.id}`, {});
    return reply
      .header('content-type', 'message/rfc822')
      .header('content-disposition', `attachment; filename="${m.id}.eml"`)
      .send(Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength));
  });

  app.get('/mails/:id/attachments/:attachmentId', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['mails'],
      summary: 'Download an attachment (admin), decoded from the saved raw mail',
      params: Type.Object({ id: BigIdParam, attachmentId: BigIdParam }),
      response: { 200: Type.Unsafe<Buffer | Readable>({ type: 'string', format: 'binary' }), ...commonErrors },
    },
  }, async (request, reply) => {
    const m = await db.prisma.mail.findUnique({ where: { id: BigInt(request.params.id) }, select: { id: true, raw: true, attachments: { orderBy: { id: 'asc' }, select: { id: true, contentType: true } } } });
    if (m === null) throw notFound(`no mail ${request.params.id}`);
    const position = m.attachments.findIndex((a) => String(a.id) === request.params.attachmentId);
    if (position < 0) throw notFound(`mail ${request.params.id} has no attachment ${request.params.attachmentId}`);
    if (m.raw === null) throw notFound(RAW_NOT_SAVED);
    // Attachment rows were stored in the order postal-mime lists them (mail-summary.ts).
    const email = await PostalMime.parse(m.raw, { attachmentEncoding: 'arraybuffer' });
    const a = email.attachments[position];
    if (a === undefined) throw notFound('the attachment could not be decoded from the saved mail');
    const content = typeof a.content === 'string' ? Buffer.from(a.content, 'utf8') : a.content instanceof ArrayBuffer ? Buffer.from(a.content) : Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength);
    await audit(db, currentUser(request).id, 'attachment.download', `attachment:${request.params.attachmentId}`, { mail: String(m.id) });
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${m.id}-${request.params.attachmentId}.bin"`)
      .send(content);
  });
};
