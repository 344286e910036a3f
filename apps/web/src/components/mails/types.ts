/** Shapes of apps/api/src/routes/mails.ts (GET /api/mails, GET /api/mails/:id). */

export type MailDirection = 'sent' | 'retrieved';

export interface MailRow {
  readonly id: string;
  readonly sessionId: string;
  readonly index: number;
  readonly direction: MailDirection;
  readonly mailFrom: string | null;
  readonly rcptTo: readonly string[];
  readonly from: string | null;
  readonly to: readonly string[];
  readonly subject: string | null;
  /** The Date header as written in the mail. */
  readonly date: string | null;
  /** µs since the epoch: when the mail crossed the wire. */
  readonly startTs: number;
  readonly size: number;
  readonly attachments: number;
  readonly complete: boolean;
  /** The mail's bytes were kept (Save Mail was on). */
  readonly hasRaw: boolean;
}

export interface MailPage {
  readonly mails: MailRow[];
  readonly next: string | null;
}

export interface MailAttachment {
  readonly id: string;
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
  readonly disposition: string | null;
}

export interface MailDetail {
  readonly mail: MailRow & {
    readonly cc: readonly string[];
    readonly messageId: string | null;
    readonly command: string;
    readonly mailParams: readonly string[];
    readonly finalReply: string | null;
    readonly sha256: string;
    readonly parseError: string | null;
    readonly frames: readonly number[];
  };
  readonly attachments: readonly MailAttachment[];
  /** Null when the mail's bytes were not saved. */
  readonly body: {
    readonly text: string | null;
    readonly html: string | null;
    readonly truncated: boolean;
    /** Absent from an API older than the header list. */
    readonly headers?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
    readonly headersTruncated?: boolean;
  } | null;
}

/** Newest first, as the API orders them: startTs, then id (both descending). */
export function compareMails(a: MailRow, b: MailRow): number {
  if (a.startTs !== b.startTs) return b.startTs - a.startTs;
  const ai = BigInt(a.id);
  const bi = BigInt(b.id);
  return ai === bi ? 0 : ai < bi ? 1 : -1;
}

/** The address to show for the sender: the From header, else the envelope's MAIL FROM. */
export function senderOf(m: MailRow): string {
  return m.from ?? m.mailFrom ?? '';
}

/** The recipients to show: the To header, else the envelope's RCPT TO. */
export function recipientsOf(m: MailRow): readonly string[] {
  return m.to.length > 0 ? m.to : m.rcptTo;
}
