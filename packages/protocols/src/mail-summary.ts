/**
 * The header and attachment summary of a reconstructed mail, made by the postal-mime library (pure
 * JS, WHATWG `TextDecoder` for charsets) - never by a MIME parser of our own.
 *
 * Two corrections on top of postal-mime, each matching what the third-party baselines of the corpus
 * report (Arkime, Suricata):
 * - A top-level header block with raw 8-bit bytes that are not valid UTF-8 is read as Windows-1252
 *   (the charset such mails are written in, and what Arkime shows; postal-mime would show U+FFFD).
 * - postal-mime ends every line of a quoted-printable or 7bit/8bit/binary part with LF, the last
 *   one included; RFC 2046 §5.1.1 gives the line break before a boundary to the boundary, so that
 *   final LF is dropped from such attachments (Suricata's sizes and sha256 agree). In 7bit, 8bit
 *   and binary parts the other line breaks get back the CR they were sent with when the mail's
 *   lines end in CRLF, as every mail that crossed SMTP does (RFC 5321 §2.3.8): the attachment is
 *   the bytes that were sent. Quoted-printable parts keep postal-mime's LF: its decoder writes LF
 *   both for a hard line break (RFC 2045 §6.7: CRLF) and for an encoded =0A, which cannot be told
 *   apart afterwards; Suricata's LF agrees where the line ends are encoded (related.patch in
 *   sv_mime-quoted-printable), Zeek's CRLF where they are hard breaks (NEWS.txt in zeek_smtp).
 */
import PostalMime from 'postal-mime';
import type { Address, Attachment, Email } from 'postal-mime';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { AttachmentSummary, MailSummary } from './events.ts';

/**
 * Lowercase hex SHA-256 of `bytes`, pure JS (@noble/hashes). Callers with a faster native hash (the
 * agent has node:crypto) pass their own to the Analyzer; this one is the portable default.
 */
export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/**
 * Summarises one mail: decoded Subject (RFC 2047, any charset the platform's `TextDecoder` knows),
 * From / To / Cc as printable `Name <addr>` or `addr` strings (groups flattened to their members),
 * Date as ISO 8601 (the header's own text when it does not parse as a date), Message-ID as written
 * (angle brackets included), and each attachment's decoded name (RFC 2231 / RFC 2047), lowercase
 * content type, decoded size, sha256 and disposition.
 *
 * Never rejects: whatever the bytes, the promise resolves, with `parseError` set (and the lists
 * empty) when postal-mime refused them - e.g. nesting deeper than 256 parts or more than 2 MiB of
 * headers, postal-mime's own limits. `raw` is read, not kept or changed.
 */
export interface SummarizeOptions {
  /** SHA-256 as lowercase hex for attachments; defaults to the pure `sha256Hex` (the agent passes node:crypto's, ~10x faster). */
  readonly sha256?: (bytes: Uint8Array) => string;
}

/**
 * A summary is for lists and charts, not for keeping a hostile mail's 100 KiB Subject: decoded
 * header values are cut at these sizes with an ellipsis (the raw mail keeps every byte). They are
 * the agent protocol's limits (packages/shared AGENT_PROTOCOL_LIMITS maxHeaderChars, maxListItems,
 * maxAttachments; Date and Content-Type 1024), so a summary always fits a batch.
 */
export const MAX_SUMMARY_HEADER_CHARS = 64 * 1024;
export const MAX_SUMMARY_SHORT_CHARS = 1024;
export const MAX_SUMMARY_LIST_ITEMS = 10_000;
export const MAX_SUMMARY_ATTACHMENTS = 1_000;

/** `s` cut to at most `max` UTF-16 units, the last one an ellipsis, never splitting a surrogate pair. */
export function clip(s: string, max = MAX_SUMMARY_HEADER_CHARS): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${s.slice(0, end)}\u2026`;
}

export async function summarizeMail(raw: Uint8Array, options: SummarizeOptions = {}): Promise<MailSummary> {
  const hash = options.sha256 ?? sha256Hex;
  try {
    const encodings = new Map<Attachment, string>();
    const parser = new PostalMime({ attachmentEncoding: 'arraybuffer' });
    recordTransferEncodings(parser, encodings);
    const email = await parser.parse(repairHeaderCharset(raw));
    return toSummary(email, encodings, usesCrlf(raw), hash);
  } catch (err) {
    return { to: [], cc: [], attachments: [], parseError: errorMessage(err) };
  }
}

function toSummary(email: Email, encodings: ReadonlyMap<Attachment, string>, crlf: boolean, hash: (bytes: Uint8Array) => string): MailSummary {
  const from = email.from === undefined ? [] : formatAddresses([email.from]);
  return {
    ...(email.subject !== undefined ? { subject: clip(email.subject) } : {}),
    ...(from[0] !== undefined ? { from: clip(from.join(', ')) } : {}),
    to: formatAddresses(email.to ?? []).slice(0, MAX_SUMMARY_LIST_ITEMS).map((a) => clip(a)),
    cc: formatAddresses(email.cc ?? []).slice(0, MAX_SUMMARY_LIST_ITEMS).map((a) => clip(a)),
    ...(email.date !== undefined && email.date !== '' ? { date: clip(email.date, MAX_SUMMARY_SHORT_CHARS) } : {}),
    ...(email.messageId !== undefined && email.messageId !== '' ? { messageId: clip(email.messageId) } : {}),
    attachments: email.attachments.slice(0, MAX_SUMMARY_ATTACHMENTS).map((a) => toAttachment(a, encodings.get(a), crlf, hash)),
  };
}

function toAttachment(a: Attachment, transferEncoding: string | undefined, crlf: boolean, hash: (bytes: Uint8Array) => string): AttachmentSummary {
  let content: Uint8Array =
    typeof a.content === 'string' ? new TextEncoder().encode(a.content) : new Uint8Array(a.content);
  if (transferEncoding !== undefined && transferEncoding !== 'base64') {
    if (content.length > 0 && content[content.length - 1] === 0x0a) content = content.subarray(0, content.length - 1);
    if (crlf && IDENTITY_ENCODINGS.has(transferEncoding)) content = lfToCrlf(content);
  }
  return {
    ...(a.filename !== null && a.filename !== '' ? { filename: clip(a.filename) } : {}),
    contentType: clip(a.mimeType, MAX_SUMMARY_SHORT_CHARS),
    size: content.length,
    sha256: hash(content),
    ...(a.disposition !== null ? { disposition: clip(a.disposition, 256) } : {}),
  };
}

/** Transfer encodings whose body is the attachment's bytes as they are (RFC 2045 §6.2). */
const IDENTITY_ENCODINGS: ReadonlySet<string> = new Set(['7bit', '8bit', 'binary']);

/** Whether the mail's first line ends in CRLF (then every line was sent so). */
function usesCrlf(raw: Uint8Array): boolean {
  const lf = raw.indexOf(0x0a);
  return lf > 0 && raw[lf - 1] === 0x0d;
}

/** Every LF not already preceded by CR becomes CRLF. */
function lfToCrlf(bytes: Uint8Array): Uint8Array {
  let bare = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) if (bytes[i - 1] !== 0x0d) bare++;
  if (bare === 0) return bytes;
  const out = new Uint8Array(bytes.length + bare);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0a && bytes[i - 1] !== 0x0d) out[o++] = 0x0d;
    out[o++] = b;
  }
  return out;
}

/** `Name <addr>` when the mailbox has a display name, else `addr`; group members flattened. */
function formatAddresses(list: readonly Address[]): string[] {
  const out: string[] = [];
  for (const a of list) {
    if (a.group !== undefined) {
      if (a.group.length === 0 && a.name !== '') out.push(`${a.name}:;`);
      for (const m of a.group) out.push(formatMailbox(m.name, m.address));
    } else {
      out.push(formatMailbox(a.name, a.address));
    }
  }
  return out;
}

function formatMailbox(name: string, address: string): string {
  const n = name.trim();
  if (n === '') return address;
  return address === '' ? n : `${n} <${address}>`;
}

/** The shape of the one postal-mime internal we hook; absent (renamed) means no trimming. */
interface PostalMimeInternals {
  attachments?: Attachment[];
  collectAttachment?: (node: { contentTransferEncoding?: { encoding?: string } }, ...rest: unknown[]) => void;
}

/**
 * postal-mime's public result does not say how a part was transfer-encoded, which decides whether
 * its last LF is an artefact (see the module comment). Its per-part hook is wrapped on this one
 * instance to note the encoding; attachments of nested message/rfc822 parts come from a sub-parser
 * and stay untrimmed.
 */
function recordTransferEncodings(parser: PostalMime, encodings: Map<Attachment, string>): void {
  const internals = parser as unknown as PostalMimeInternals;
  const original = internals.collectAttachment;
  if (typeof original !== 'function') return;
  internals.collectAttachment = function (this: PostalMimeInternals, node, ...rest) {
    original.call(this, node, ...rest);
    const added = this.attachments?.[this.attachments.length - 1];
    const encoding = node.contentTransferEncoding?.encoding;
    if (added !== undefined && typeof encoding === 'string') encodings.set(added, encoding.toLowerCase());
  };
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Windows-1252 0x80-0x9F (WHATWG encoding table; 0 = unassigned, kept as the C1 control). Spelled
 * out because Node 20's `TextDecoder('windows-1252')` takes a Latin-1 fast path that gets exactly
 * this range wrong (nodejs/node#56542); the other bytes are their own code points.
 */
const CP1252_HIGH = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
  0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
] as const;

function decodeWindows1252(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const mapped = b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80] : 0;
    out += String.fromCharCode(mapped !== undefined && mapped !== 0 ? mapped : b);
  }
  return out;
}

/**
 * When the top-level header block (up to the first empty line) holds 8-bit bytes that are not
 * UTF-8, returns a copy with that block transcoded from Windows-1252 to UTF-8; otherwise `raw`.
 */
function repairHeaderCharset(raw: Uint8Array): Uint8Array {
  const end = headerEnd(raw);
  let eightBit = false;
  for (let i = 0; i < end; i++) {
    if ((raw[i] ?? 0) >= 0x80) {
      eightBit = true;
      break;
    }
  }
  if (!eightBit) return raw;
  const head = raw.subarray(0, end);
  try {
    utf8Strict.decode(head);
    return raw;
  } catch {
    const fixed = new TextEncoder().encode(decodeWindows1252(head));
    const out = new Uint8Array(fixed.length + raw.length - end);
    out.set(fixed, 0);
    out.set(raw.subarray(end), fixed.length);
    return out;
  }
}

/** Offset of the empty line that ends the header block (LF LF or LF CR LF), or `raw.length`. */
function headerEnd(raw: Uint8Array): number {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x0a) continue;
    if (raw[i + 1] === 0x0a) return i + 1;
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return i + 1;
  }
  return raw.length;
}

/**
 * A mail's header section past this size is flagged. Zeek flags the same thing at the same size
 * (weird `exceeded_mime_max_header_bytes` 65536 on zeek_mime-header-size-limit); Postfix refuses
 * headers past 100 KiB (header_size_limit); real headers are a few KiB even after many relays.
 */
export const MAX_MAIL_HEADER_BYTES = 64 * 1024;
/** RFC 2046 §5.1.1: a boundary is 1 to 70 characters (sv_bug-1449-01 overflowed a parser with 296). */
export const MAX_MIME_BOUNDARY_CHARS = 70;

/** A violation found in a mail's top-level header section (see `mailHeaderAnomalies`). */
export interface MailHeaderAnomaly {
  readonly code: 'MAIL_HEADER_TOO_LARGE' | 'MIME_BOUNDARY_TOO_LONG';
  readonly message: string;
}

const latin1Decoder = new TextDecoder('latin1');

/**
 * Checks a mail's top-level header section, synchronously and without the MIME library, so that
 * the protocol analyzers can put the result on the timeline when they emit the mail: a header
 * section larger than `MAX_MAIL_HEADER_BYTES` (its blank line not found within it counts as larger
 * when the mail goes on) and a multipart boundary longer than `MAX_MIME_BOUNDARY_CHARS`. Reads at
 * most `MAX_MAIL_HEADER_BYTES` + 3 bytes of `raw`; never throws.
 */
export function mailHeaderAnomalies(raw: Uint8Array): MailHeaderAnomaly[] {
  const out: MailHeaderAnomaly[] = [];
  const end = headerSectionEnd(raw, MAX_MAIL_HEADER_BYTES);
  if (end > MAX_MAIL_HEADER_BYTES) {
    out.push({ code: 'MAIL_HEADER_TOO_LARGE', message: `mail header section larger than ${MAX_MAIL_HEADER_BYTES} bytes` });
  }
  const head = latin1Decoder.decode(raw.subarray(0, Math.min(end, MAX_MAIL_HEADER_BYTES))).replace(/\r?\n[ \t]+/g, ' ');
  const contentType = /^content-type:([^\r\n]*)/im.exec(head)?.[1];
  const boundary = contentType === undefined ? undefined : /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(contentType);
  const b = boundary?.[1] ?? boundary?.[2];
  if (b !== undefined && b.length > MAX_MIME_BOUNDARY_CHARS) {
    out.push({ code: 'MIME_BOUNDARY_TOO_LONG', message: `multipart boundary of ${b.length} characters (RFC 2046 allows ${MAX_MIME_BOUNDARY_CHARS})` });
  }
  return out;
}

/**
 * Length of the header section (up to the LF before its blank line), or `raw.length` when there is
 * no blank line; a value past `limit` only says "past the limit" (the scan stops there).
 */
function headerSectionEnd(raw: Uint8Array, limit: number): number {
  if (raw[0] === 0x0a || (raw[0] === 0x0d && raw[1] === 0x0a)) return 0;
  let lf = raw.indexOf(0x0a);
  while (lf !== -1) {
    if (lf > limit) return lf;
    if (raw[lf + 1] === 0x0a || (raw[lf + 1] === 0x0d && raw[lf + 2] === 0x0a)) return lf + 1;
    lf = raw.indexOf(0x0a, lf + 1);
  }
  return raw.length;
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
