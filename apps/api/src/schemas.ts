/** TypeBox schemas shared by several routes. */
import { Type } from 'typebox';

/** `t` or null. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** A mail as lists show it (the mails list, a session's mails): summary and envelope, no bodies. */
export const MAIL_LIST_FIELDS = {
  id: Type.String(),
  index: Type.Integer(),
  direction: Type.Union([Type.Literal('sent'), Type.Literal('retrieved')]),
  mailFrom: Nullable(Type.String()),
  rcptTo: Type.Array(Type.String()),
  from: Nullable(Type.String()),
  to: Type.Array(Type.String()),
  subject: Nullable(Type.String()),
  date: Nullable(Type.String()),
  startTs: Type.Number(),
  size: Type.Integer(),
  attachments: Type.Integer(),
  complete: Type.Boolean(),
  hasRaw: Type.Boolean({ description: 'false when Save Mail was off: no .eml to download' }),
};

/** Every error response: the HTTP status, its name, and a message a person can act on. */
export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    message: Type.String(),
    /** Per-field messages (settings form). */
    fields: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { description: 'An error; `message` says what was wrong' },
);

/** Responses most routes can give besides their success. */
export const commonErrors = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
} as const;

/** A BigInt row id (Session, Mail, AuditLog) as decimal text: JSON numbers lose precision past 2^53. */
export const BigIdParam = Type.String({ pattern: '^[0-9]{1,18}$', description: 'numeric id' });
export const UuidParam = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'uuid' });

/** Page size of list endpoints: default 50, at most 500 (a page stays a few hundred KB). */
export const Limit = Type.Integer({ minimum: 1, maximum: 500, default: 50 });

/** `ids=` of a list: the rows a page's live events announced since it last looked (a burst). */
export const MAX_LIST_IDS = 100;

/** `ids=` of a list endpoint: comma-separated BigInt ids, at most MAX_LIST_IDS; `parseIdList` reads it. */
export function IdList(what: string) {
  return Type.String({
    pattern: `^[0-9]{1,18}(,[0-9]{1,18}){0,${MAX_LIST_IDS - 1}}$`,
    description: `comma-separated ${what} ids, at most ${MAX_LIST_IDS}: the rows live events announced, with the other filters applied`,
  });
}

export function parseIdList(ids: string): bigint[] {
  return ids.split(',').map(BigInt);
}

/** Opaque paging cursor returned as `next` by the previous page. */
export const Cursor = Type.String({ maxLength: 200, description: 'the `next` value of the previous page' });

/**
 * A time bound: µs since the epoch (digits) or an ISO 8601 date-time; parsed by `parseTimeBound`.
 */
export const TimeBound = Type.String({ maxLength: 40, description: 'µs since the epoch, or ISO 8601 (2024-05-01T10:00:00Z)' });
