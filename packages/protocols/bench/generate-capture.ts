/**
 * Generates a large, realistic SMTP + POP3 capture for the engine benchmark: a little-endian
 * microsecond pcap (Ethernet), streamed to disk, deterministic for a given seed.
 *
 *   node --import tsx bench/generate-capture.ts [--out FILE] [--size-mb N] [--sessions N] [--seed N] [--force]
 *
 * Every session is a full dialogue over real TCP (handshake, ≤1460-byte segments, ACKs from the
 * other side, FIN teardown), interleaved with ~200 others. A small share of data segments is
 * retransmitted or delivered out of order so the reassembler has work to do. Addresses are
 * RFC 5737 only. Alongside FILE a `FILE.json` sidecar records the parameters (so a second run
 * with the same ones reuses the file) and what was generated (so the bench can check the engine
 * found exactly that).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Bump when the generated traffic changes, so stale files are regenerated. */
const GENERATOR_VERSION = 3;

export interface CaptureParams {
  readonly version: number;
  /** Target file size in MiB (2^20 bytes); the file ends just past it. */
  readonly sizeMb: number;
  /** Minimum number of sessions; generation continues until both targets are met. */
  readonly sessions: number;
  readonly seed: number;
}

/** What the generator put in the file: the ground truth the bench compares the engine with. */
export interface CaptureTruth {
  readonly bytes: number;
  readonly packets: number;
  readonly sessions: number;
  readonly smtpSessions: number;
  readonly pop3Sessions: number;
  readonly mails: number;
  readonly smtpMails: number;
  readonly pop3Mails: number;
  /** Sum of the unstuffed mail sizes (the engine's `size`). */
  readonly mailBytes: number;
  /** Order-independent digest of the mails' sha256: sum of their first 48 bits, mod 2^48, as hex. */
  readonly mailDigest: string;
  readonly attachments: number;
  readonly encodedSubjects: number;
  /** Sessions that presented a user name (every session does: AUTH or USER). */
  readonly authUsers: number;
  readonly authFailed: number;
  readonly refusedRcpts: number;
  readonly pipelinedSessions: number;
  readonly twoMailSessions: number;
  readonly dotStuffedMails: number;
  readonly retransmittedSegments: number;
  readonly reorderedSegments: number;
  /** Expected session outcomes, by outcome. */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly maxConcurrent: number;
  readonly firstTs: number;
  readonly lastTs: number;
  readonly generateSeconds: number;
}

export interface CaptureSidecar {
  readonly params: CaptureParams;
  readonly truth: CaptureTruth;
}

export const SMTP_PORTS = [25, 587] as const;
export const POP3_PORTS = [110] as const;

const MIB = 1024 * 1024;
const DEFAULT_SIZE_MB = 520;
const DEFAULT_SESSIONS_AT_DEFAULT_SIZE = 30_000;
const CONCURRENT = 200;
const MSS = 1460;
/** Share of data segments retransmitted, and share delivered after their successor. */
const P_RETRANSMIT = 0.0025;
const P_REORDER = 0.0025;
/** Capture start: 2024-03-01T09:00:00Z, in µs. */
const T0 = Date.UTC(2024, 2, 1, 9, 0, 0) * 1000;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: sfc32, seeded through splitmix32.

class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
}

// ---------------------------------------------------------------------------------------------
// Mail content templates, built once.

const FIRST = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert', 'sybil', 'trent', 'victor', 'walter', 'yolanda'];
const LAST = ['Smith', 'Meyer', 'Dubois', 'Rossi', 'Novak', 'Garcia', 'Jensen', 'Kowalski', 'Silva', 'Nakamura'];
const DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.example.com', 'corp.example.net'];
const SERVER_NAMES = ['mx1.example.net', 'mx2.example.net', 'smtp.example.com', 'mail.example.org'];
const POP_NAMES = ['pop.example.net', 'mail.example.org', 'imap.example.com'];
const SUBJECTS = [
  'Quarterly report', 'Meeting notes from Monday', 'Re: invoice 2024-0317', 'Your order has shipped',
  'Fwd: travel plans', 'Build failed on main', 'Lunch on Friday?', 'Contract draft v3', 'Password reset request',
  'Re: Re: budget review', 'Holiday schedule', 'Welcome to the team', 'Minutes of the board meeting',
];
/** RFC 2047 encoded subjects (UTF-8 in B and Q encoding), with the text they decode to. */
const ENCODED_SUBJECTS = [
  '=?UTF-8?B?UmVjaG51bmcgZsO8ciBNw6Ryeg==?=', // Rechnung für März
  '=?UTF-8?Q?R=C3=A9union_de_lundi?=', // Réunion de lundi
  '=?UTF-8?B?0J7RgtGH0ZHRgiDQt9CwINC80LDRgNGC?=', // Отчёт за март
  '=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?= =?UTF-8?Q?_und_D=C3=BCsseldorf?=', // Grüße aus Köln und Düsseldorf
  '=?ISO-8859-1?Q?Caf=E9_cr=E8me_=E0_la_cantine?=', // Café crème à la cantine
];
const SENTENCES = [
  'Please find the figures for the last quarter below.',
  'Let me know if anything is unclear or if you need the raw data.',
  'The deployment went well and no rollback was necessary.',
  'We will review the proposal at the next meeting on Thursday.',
  'Attached is the document we discussed on the phone this morning.',
  'Thanks again for your help with the migration last week.',
  'The numbers in section three still need to be double-checked.',
  'I have moved the call to 14:00 so that everyone can attend.',
  'Could you confirm the delivery address before we ship the order?',
  'Our records show that the invoice is still open; please advise.',
  'The new release fixes the timeout when uploading large files.',
  'Regards from the operations team, and have a good weekend.',
];
/** Lines starting with '.', which SMTP and POP3 must dot-stuff (RFC 5321 §4.5.2, RFC 1939 §3). */
const DOT_LINES = ['.', '..', '.hidden line that starts with a dot', '...and so on, as discussed.', '.signature follows'];
const ATTACHMENT_TYPES: readonly (readonly [string, string])[] = [
  ['application/pdf', 'pdf'],
  ['image/png', 'png'],
  ['image/jpeg', 'jpg'],
  ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xlsx'],
  ['application/zip', 'zip'],
  ['application/octet-stream', 'bin'],
];
const ATTACHMENT_NAMES = ['report', 'invoice', 'scan', 'photo', 'summary', 'export', 'contract', 'diagram'];
const MAILERS = ['Thunderbird 115.8.1', 'Microsoft Outlook 16.0', 'Apple Mail (2.3774)', 'Roundcube Webmail/1.6.6', 'mutt/2.2.12'];

/** 76-character base64 lines of pseudo-random data (57 bytes each), joined with CRLF. */
class Base64Pool {
  readonly text: string;
  readonly lines: number;
  constructor(rng: Rng, bytes: number) {
    const raw = Buffer.allocUnsafe(bytes - (bytes % 57));
    for (let i = 0; i + 4 <= raw.length; i += 4) raw.writeUInt32LE(rng.u32(), i);
    const b64 = raw.toString('base64');
    const parts: string[] = [];
    for (let i = 0; i < b64.length; i += 76) parts.push(b64.slice(i, i + 76));
    this.lines = parts.length;
    this.text = parts.join('\r\n') + '\r\n';
  }
  /** `n` consecutive lines starting at a random one, CRLF-terminated. */
  slice(rng: Rng, n: number): string {
    const start = rng.int(0, this.lines - n);
    return this.text.slice(start * 78, (start + n) * 78);
  }
}

interface BuiltMail {
  /** The message as the engine must cut it out: unstuffed, ending with CRLF. */
  readonly raw: string;
  readonly attachments: number;
  readonly encodedSubject: boolean;
  readonly dotLines: boolean;
}

function person(rng: Rng): { name: string; addr: string } {
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  return { name: `${first[0]?.toUpperCase() ?? ''}${first.slice(1)} ${last}`, addr: `${first}.${last.toLowerCase()}${rng.int(1, 999)}@${rng.pick(DOMAINS)}` };
}

function rfc5322Date(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  return d.toUTCString().replace('GMT', '+0000');
}

function paragraph(rng: Rng, sentences: number): string[] {
  const words: string[] = [];
  for (let i = 0; i < sentences; i++) words.push(rng.pick(SENTENCES));
  const text = words.join(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line.length + w.length + 1 > 72) {
      lines.push(line);
      line = w;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function buildMail(rng: Rng, pool: Base64Pool, from: { name: string; addr: string }, to: readonly string[], ts: number, extraHeaders: string): BuiltMail {
  const id = `${rng.u32().toString(36)}${rng.u32().toString(36)}`;
  const encodedSubject = rng.chance(0.15);
  const subject = encodedSubject ? rng.pick(ENCODED_SUBJECTS) : rng.pick(SUBJECTS);
  const mixed = `----=_Part_${rng.int(1000, 99999)}_${id}`;
  const alt = `----=_Alt_${rng.int(1000, 99999)}_${id}`;
  const h: string[] = [];
  if (extraHeaders !== '') h.push(extraHeaders);
  h.push(`Date: ${rfc5322Date(ts)}`);
  h.push(`From: "${from.name}" <${from.addr}>`);
  h.push(`To: ${to.join(', ')}`);
  if (rng.chance(0.25)) h.push(`Cc: ${person(rng).addr}`);
  h.push(`Subject: ${subject}`);
  h.push(`Message-ID: <${id}@${from.addr.split('@')[1] ?? 'example.com'}>`);
  h.push(`X-Mailer: ${rng.pick(MAILERS)}`);
  h.push('MIME-Version: 1.0');
  h.push(`Content-Type: multipart/mixed;\r\n\tboundary="${mixed}"`);

  const text: string[] = [];
  const paragraphs = rng.int(1, 4);
  const dotLines = rng.chance(0.3);
  for (let p = 0; p < paragraphs; p++) {
    text.push(...paragraph(rng, rng.int(2, 8)), '');
    if (dotLines && p === 0) text.push(rng.pick(DOT_LINES), rng.pick(DOT_LINES), '');
  }
  text.push('-- ', `${from.name}`);
  const html = ['<html><head><meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3Dutf-8"></head>', '<body>'];
  for (let p = 0; p < paragraphs; p++) html.push(`<p style=3D"margin:0">${paragraph(rng, rng.int(2, 6)).join(' ').slice(0, 70)}</p>`);
  html.push('</body></html>');

  const parts: string[] = [
    h.join('\r\n'),
    '',
    'This is a multi-part message in MIME format.',
    '',
    `--${mixed}`,
    `Content-Type: multipart/alternative;\r\n\tboundary="${alt}"`,
    '',
    `--${alt}`,
    'Content-Type: text/plain; charset=utf-8; format=flowed',
    'Content-Transfer-Encoding: 7bit',
    '',
    ...text,
    `--${alt}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    ...html,
    `--${alt}--`,
    '',
  ];
  let attachments = 0;
  let attachmentText = '';
  // Attachments of 5-60 KB, log-uniform (small ones are more common), in a third of mails.
  if (rng.chance(0.33)) {
    attachments = 1;
    const size = Math.round(5 * 1024 * Math.pow(12, rng.next()));
    const [type, ext] = rng.pick(ATTACHMENT_TYPES);
    const name = `${rng.pick(ATTACHMENT_NAMES)}-${rng.int(100, 9999)}.${ext}`;
    parts.push(`--${mixed}`, `Content-Type: ${type}; name="${name}"`, `Content-Disposition: attachment; filename="${name}"`, 'Content-Transfer-Encoding: base64', '');
    attachmentText = pool.slice(rng, Math.ceil(size / 57));
  }
  const head = parts.join('\r\n') + '\r\n';
  const raw = `${head}${attachmentText}--${mixed}--\r\n`;
  return { raw, attachments, encodedSubject, dotLines };
}

/** SMTP DATA / POP3 RETR transparency: a line starting with '.' gets one more. */
function dotStuff(raw: string): string {
  const stuffed = raw.replaceAll('\r\n.', '\r\n..');
  return stuffed.startsWith('.') ? `.${stuffed}` : stuffed;
}

const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');

// ---------------------------------------------------------------------------------------------
// Dialogues: a session is a list of writes; TCP turns them into segments.

interface Write {
  readonly dir: 0 | 1; // 0 client -> server, 1 server -> client
  readonly bytes: Buffer;
  /** µs the writer waits (after it has the bytes it reacts to) before writing. */
  readonly delay: number;
}

interface Tally {
  mails: number;
  smtpMails: number;
  pop3Mails: number;
  mailBytes: number;
  digest: number;
  attachments: number;
  encodedSubjects: number;
  authFailed: number;
  refusedRcpts: number;
  pipelinedSessions: number;
  twoMailSessions: number;
  dotStuffedMails: number;
  outcomes: Record<string, number>;
}

const DIGEST_MOD = 2 ** 48;

function countMail(t: Tally, mail: BuiltMail, raw: Buffer, proto: 'smtp' | 'pop3'): void {
  t.mails++;
  if (proto === 'smtp') t.smtpMails++;
  else t.pop3Mails++;
  t.mailBytes += raw.length;
  const sha = createHash('sha256').update(raw).digest();
  t.digest = (t.digest + sha.readUIntBE(0, 6)) % DIGEST_MOD;
  t.attachments += mail.attachments;
  if (mail.encodedSubject) t.encodedSubjects++;
  if (mail.dotLines) t.dotStuffedMails++;
}

const w = (dir: 0 | 1, text: string, delay: number): Write => ({ dir, bytes: Buffer.from(text, 'latin1'), delay });

function smtpDialogue(rng: Rng, pool: Base64Pool, ts: number, t: Tally): Write[] {
  const server = rng.pick(SERVER_NAMES);
  const client = `client${rng.int(1, 500)}.${rng.pick(DOMAINS)}`;
  const user = person(rng);
  const out: Write[] = [];
  out.push(w(1, `220 ${server} ESMTP Postfix (Debian/GNU)\r\n`, rng.int(300, 3000)));
  out.push(w(0, `EHLO ${client}\r\n`, rng.int(50, 400)));
  const pipelining = rng.chance(0.3);
  const ext = ['PIPELINING', 'SIZE 52428800', 'VRFY', 'ETRN', 'AUTH PLAIN LOGIN', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'];
  out.push(w(1, `250-${server}\r\n${ext.slice(0, -1).map((e) => `250-${e}\r\n`).join('')}250 ${ext[ext.length - 1] ?? ''}\r\n`, rng.int(80, 600)));
  const password = `pw-${rng.u32().toString(36)}`;
  const authFails = rng.chance(0.03);
  if (rng.chance(0.5)) {
    out.push(w(0, 'AUTH LOGIN\r\n', rng.int(50, 300)));
    out.push(w(1, '334 VXNlcm5hbWU6\r\n', rng.int(50, 300)));
    out.push(w(0, `${b64(user.addr)}\r\n`, rng.int(50, 300)));
    out.push(w(1, '334 UGFzc3dvcmQ6\r\n', rng.int(50, 300)));
    out.push(w(0, `${b64(password)}\r\n`, rng.int(50, 300)));
  } else {
    out.push(w(0, `AUTH PLAIN ${b64(`\0${user.addr}\0${password}`)}\r\n`, rng.int(50, 300)));
  }
  if (authFails) {
    t.authFailed++;
    t.outcomes['auth-failed'] = (t.outcomes['auth-failed'] ?? 0) + 1;
    // Postfix delays a failed AUTH by about a second to slow down password guessing.
    out.push(w(1, '535 5.7.8 Error: authentication failed: authentication failure\r\n', rng.int(800_000, 1_200_000)));
    out.push(w(0, 'QUIT\r\n', rng.int(50, 300)));
    out.push(w(1, '221 2.0.0 Bye\r\n', rng.int(50, 300)));
    return out;
  }
  out.push(w(1, '235 2.7.0 Authentication successful\r\n', rng.int(2000, 20_000)));
  if (pipelining) t.pipelinedSessions++;
  const mailCount = rng.chance(0.15) ? 2 : 1;
  if (mailCount === 2) t.twoMailSessions++;
  for (let m = 0; m < mailCount; m++) {
    const rcptCount = rng.int(1, 5);
    const rcpts: { addr: string; ok: boolean }[] = [];
    for (let r = 0; r < rcptCount; r++) rcpts.push({ addr: person(rng).addr, ok: r === 0 || !rng.chance(0.15) });
    const accepted = rcpts.filter((r) => r.ok).map((r) => r.addr);
    const mail = buildMail(rng, pool, user, accepted, ts, '');
    const raw = Buffer.from(mail.raw, 'latin1');
    countMail(t, mail, raw, 'smtp');
    const mailFrom = `MAIL FROM:<${user.addr}> SIZE=${raw.length}\r\n`;
    const rcptLines = rcpts.map((r) => `RCPT TO:<${r.addr}>\r\n`);
    const rcptReplies = rcpts.map((r) => (r.ok ? '250 2.1.5 Ok\r\n' : `550 5.1.1 <${r.addr}>: Recipient address rejected: User unknown in virtual mailbox table\r\n`));
    t.refusedRcpts += rcpts.length - accepted.length;
    if (pipelining) {
      out.push(w(0, `${mailFrom}${rcptLines.join('')}DATA\r\n`, rng.int(50, 400)));
      out.push(w(1, `250 2.1.0 Ok\r\n${rcptReplies.join('')}354 End data with <CR><LF>.<CR><LF>\r\n`, rng.int(200, 3000)));
    } else {
      out.push(w(0, mailFrom, rng.int(50, 400)));
      out.push(w(1, '250 2.1.0 Ok\r\n', rng.int(100, 2000)));
      for (let r = 0; r < rcpts.length; r++) {
        out.push(w(0, rcptLines[r] ?? '', rng.int(50, 300)));
        out.push(w(1, rcptReplies[r] ?? '', rng.int(200, 5000)));
      }
      out.push(w(0, 'DATA\r\n', rng.int(50, 300)));
      out.push(w(1, '354 End data with <CR><LF>.<CR><LF>\r\n', rng.int(50, 300)));
    }
    out.push(w(0, `${dotStuff(mail.raw)}.\r\n`, rng.int(100, 1000)));
    out.push(w(1, `250 2.0.0 Ok: queued as ${rng.u32().toString(16).toUpperCase()}${rng.int(16, 255).toString(16).toUpperCase()}\r\n`, rng.int(2000, 40_000)));
  }
  t.outcomes['delivered'] = (t.outcomes['delivered'] ?? 0) + 1;
  out.push(w(0, 'QUIT\r\n', rng.int(50, 400)));
  out.push(w(1, '221 2.0.0 Bye\r\n', rng.int(50, 300)));
  return out;
}

function pop3Dialogue(rng: Rng, pool: Base64Pool, ts: number, t: Tally): Write[] {
  const server = rng.pick(POP_NAMES);
  const user = person(rng);
  const out: Write[] = [];
  out.push(w(1, `+OK Dovecot (Debian) ready.\r\n`, rng.int(300, 3000)));
  out.push(w(0, `USER ${user.addr.split('@')[0] ?? 'user'}\r\n`, rng.int(50, 400)));
  out.push(w(1, '+OK\r\n', rng.int(50, 300)));
  out.push(w(0, `PASS pw-${rng.u32().toString(36)}\r\n`, rng.int(50, 400)));
  if (rng.chance(0.03)) {
    t.authFailed++;
    t.outcomes['auth-failed'] = (t.outcomes['auth-failed'] ?? 0) + 1;
    out.push(w(1, '-ERR [AUTH] Authentication failed.\r\n', rng.int(800_000, 2_000_000)));
    out.push(w(0, 'QUIT\r\n', rng.int(50, 300)));
    out.push(w(1, '+OK Logging out\r\n', rng.int(50, 300)));
    return out;
  }
  out.push(w(1, '+OK Logged in.\r\n', rng.int(2000, 15_000)));
  const retrieve = rng.chance(0.2) ? 2 : 1;
  const count = rng.int(retrieve, retrieve + 4);
  const mails: Buffer[] = [];
  const built: BuiltMail[] = [];
  for (let i = 0; i < retrieve; i++) {
    const from = person(rng);
    const received = `Return-Path: <${from.addr}>\r\nDelivered-To: ${user.addr}\r\nReceived: from ${rng.pick(SERVER_NAMES)} (${rng.pick(SERVER_NAMES)} [192.0.2.${rng.int(1, 254)}])\r\n\tby ${server} with ESMTPS id ${rng.u32().toString(36)}\r\n\tfor <${user.addr}>; ${rfc5322Date(ts - rng.int(60, 86_400) * 1_000_000)}`;
    const mail = buildMail(rng, pool, from, [user.addr], ts - rng.int(60, 86_400) * 1_000_000, received);
    built.push(mail);
    mails.push(Buffer.from(mail.raw, 'latin1'));
  }
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) sizes.push(mails[i]?.length ?? rng.int(2000, 80_000));
  const total = sizes.reduce((a, b) => a + b, 0);
  out.push(w(0, 'STAT\r\n', rng.int(50, 300)));
  out.push(w(1, `+OK ${count} ${total}\r\n`, rng.int(100, 1000)));
  out.push(w(0, 'LIST\r\n', rng.int(50, 300)));
  out.push(w(1, `+OK ${count} messages:\r\n${sizes.map((s, i) => `${i + 1} ${s}\r\n`).join('')}.\r\n`, rng.int(100, 1000)));
  for (let i = 0; i < retrieve; i++) {
    const mail = built[i];
    const raw = mails[i];
    if (mail === undefined || raw === undefined) continue;
    countMail(t, mail, raw, 'pop3');
    out.push(w(0, `RETR ${i + 1}\r\n`, rng.int(50, 300)));
    out.push(w(1, `+OK ${raw.length} octets\r\n${dotStuff(mail.raw)}.\r\n`, rng.int(200, 3000)));
    out.push(w(0, `DELE ${i + 1}\r\n`, rng.int(50, 300)));
    out.push(w(1, `+OK Marked to be deleted.\r\n`, rng.int(50, 500)));
  }
  t.outcomes['retrieved'] = (t.outcomes['retrieved'] ?? 0) + 1;
  out.push(w(0, 'QUIT\r\n', rng.int(50, 300)));
  out.push(w(1, '+OK Logging out.\r\n', rng.int(100, 2000)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// TCP: writes -> timed segments, as seen by a capture point next to the server.

interface Pkt {
  t: number;
  readonly dir: 0 | 1;
  readonly flags: number;
  readonly seq: number;
  readonly ack: number;
  readonly payload: Buffer | undefined;
  readonly syn: boolean;
}

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

interface Conn {
  readonly clientIp: number;
  readonly serverIp: number;
  readonly clientPort: number;
  readonly serverPort: number;
  readonly pkts: Pkt[];
  next: number;
  ipId: [number, number];
  readonly win: [number, number];
  bytes: number;
}

interface TcpStats {
  retransmitted: number;
  reordered: number;
}

function segment(rng: Rng, writes: readonly Write[], start: number, stats: TcpStats): Pkt[] {
  // RTT between the client and the capture point (next to the server): LAN to intercontinental.
  const rtt = rng.chance(0.5) ? rng.int(200, 2000) : rng.int(5000, 120_000);
  const isn: [number, number] = [rng.u32(), rng.u32()];
  const seq: [number, number] = [(isn[0] + 1) >>> 0, (isn[1] + 1) >>> 0];
  const pkts: Pkt[] = [];
  const add = (t: number, dir: 0 | 1, flags: number, s: number, a: number, payload?: Buffer, syn = false): void => {
    pkts.push({ t, dir, flags, seq: s >>> 0, ack: a >>> 0, payload, syn });
  };
  add(start, 0, SYN, isn[0], 0, undefined, true);
  add(start + 25, 1, SYN | ACK, isn[1], seq[0], undefined, true);
  let now = start + 25 + rtt;
  add(now, 0, ACK, seq[0], seq[1]);
  // One-way time from the capture point to the side that sends `dir` and back.
  const turn = (dir: 0 | 1): number => (dir === 0 ? rtt : 25);
  let lastDir: 0 | 1 = 0;
  for (let i = 0; i < writes.length; i++) {
    const wr = writes[i];
    if (wr === undefined) continue;
    const d = wr.dir;
    const o: 0 | 1 = d === 0 ? 1 : 0;
    // The writer reacts once it has the other side's last bytes: the client is an RTT away.
    now += (lastDir !== d ? turn(d) : 0) + wr.delay;
    lastDir = d;
    const len = wr.bytes.length;
    const n = Math.ceil(len / MSS);
    const nextIsReply = writes[i + 1]?.dir === o;
    const late = i >= writes.length - 2; // no transport noise on QUIT and its reply
    const times: number[] = [];
    let cwnd = 10;
    let inWindow = 0;
    let t = now;
    for (let k = 0; k < n; k++) {
      if (inWindow === cwnd) {
        // Slow start: the next window leaves when the ACKs of this one are back.
        t += d === 1 ? rtt : 25 + 30;
        cwnd = Math.min(cwnd * 2, 64);
        inWindow = 0;
      }
      times.push(t);
      t += 12;
      inWindow++;
    }
    if (!late) {
      for (let k = 0; k + 1 < n; k++) {
        if (rng.chance(P_REORDER)) {
          const a = times[k] ?? 0;
          times[k] = times[k + 1] ?? 0;
          times[k + 1] = a;
          stats.reordered++;
          k++;
        }
      }
    }
    let arrivedMax = 0;
    for (let k = 0; k < n; k++) {
      const off = k * MSS;
      const payload = wr.bytes.subarray(off, Math.min(off + MSS, len));
      const tk = times[k] ?? now;
      const s = seq[d] + off;
      add(tk, d, k === n - 1 ? PSH | ACK : ACK, s, seq[o], payload);
      if (!late && rng.chance(P_RETRANSMIT)) {
        add(tk + Math.min(rtt, 300) + 5, d, ACK, s, seq[o], payload);
        stats.retransmitted++;
      }
      arrivedMax = Math.max(arrivedMax, tk);
      const last = k === n - 1;
      if ((k % 2 === 1 && !last) || (last && !nextIsReply)) {
        // The receiver ACKs every second segment and the end of a write nobody answers at once.
        const ackAt = arrivedMax + (o === 0 ? rtt : 30);
        add(ackAt, o, ACK, seq[o], s + payload.length);
      }
    }
    seq[d] = (seq[d] + len) >>> 0;
    now = t - 12;
  }
  // The server closes after its last reply (221 / +OK Logging out); sometimes the client is first.
  if (rng.chance(0.7)) {
    add(now + 40, 1, FIN | ACK, seq[1], seq[0]);
    add(now + 40 + rtt, 0, FIN | ACK, seq[0], seq[1] + 1);
    add(now + 70 + rtt, 1, ACK, seq[1] + 1, seq[0] + 1);
  } else {
    add(now + rtt, 0, FIN | ACK, seq[0], seq[1]);
    add(now + rtt + 30, 1, FIN | ACK, seq[1], seq[0] + 1);
    add(now + 2 * rtt + 30, 0, ACK, seq[0] + 1, seq[1] + 1);
  }
  // Stable sort by time keeps each direction's causal order for equal times.
  pkts.sort((a, b) => a.t - b.t);
  return pkts;
}

// ---------------------------------------------------------------------------------------------
// pcap writer: big buffer, big writes.

const CLIENT_MAC = Buffer.from([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]); // locally administered
const SERVER_MAC = Buffer.from([0x02, 0x00, 0x5e, 0x10, 0x00, 0x02]);
const SYN_OPTIONS = Buffer.from([0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x07]); // MSS 1460, SACK_PERM, WS 7

class PcapWriter {
  private buf = Buffer.allocUnsafe(16 * MIB);
  private pos = 0;
  bytes = 0;
  packets = 0;
  constructor(private readonly fd: number) {
    const h = this.buf;
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    this.pos = 24;
  }

  packet(c: Conn, p: Pkt): void {
    if (this.pos + 2048 > this.buf.length) this.flush();
    const b = this.buf;
    const start = this.pos;
    const plen = p.payload?.length ?? 0;
    const optLen = p.syn ? SYN_OPTIONS.length : 0;
    const tcpLen = 20 + optLen;
    const ipLen = 20 + tcpLen + plen;
    const frameLen = 14 + ipLen;
    const sec = Math.floor(p.t / 1_000_000);
    b.writeUInt32LE(sec, start);
    b.writeUInt32LE(p.t - sec * 1_000_000, start + 4);
    b.writeUInt32LE(frameLen, start + 8);
    b.writeUInt32LE(frameLen, start + 12);
    let o = start + 16;
    (p.dir === 0 ? SERVER_MAC : CLIENT_MAC).copy(b, o);
    (p.dir === 0 ? CLIENT_MAC : SERVER_MAC).copy(b, o + 6);
    b[o + 12] = 0x08;
    b[o + 13] = 0x00;
    o += 14;
    const src = p.dir === 0 ? c.clientIp : c.serverIp;
    const dst = p.dir === 0 ? c.serverIp : c.clientIp;
    const ip = o;
    b[ip] = 0x45;
    b[ip + 1] = 0;
    b.writeUInt16BE(ipLen, ip + 2);
    b.writeUInt16BE(c.ipId[p.dir], ip + 4);
    c.ipId[p.dir] = (c.ipId[p.dir] + 1) & 0xffff;
    b[ip + 6] = 0x40; // DF
    b[ip + 7] = 0;
    b[ip + 8] = p.dir === 0 ? 52 : 64;
    b[ip + 9] = 6;
    b[ip + 10] = 0;
    b[ip + 11] = 0;
    b.writeUInt32BE(src, ip + 12);
    b.writeUInt32BE(dst, ip + 16);
    let sum = 0;
    for (let i = ip; i < ip + 20; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    b.writeUInt16BE(~sum & 0xffff, ip + 10);
    const tcp = ip + 20;
    b.writeUInt16BE(p.dir === 0 ? c.clientPort : c.serverPort, tcp);
    b.writeUInt16BE(p.dir === 0 ? c.serverPort : c.clientPort, tcp + 2);
    b.writeUInt32BE(p.seq, tcp + 4);
    b.writeUInt32BE(p.flags & ACK ? p.ack : 0, tcp + 8);
    b[tcp + 12] = (tcpLen / 4) << 4;
    b[tcp + 13] = p.flags;
    b.writeUInt16BE(p.syn ? 64240 : c.win[p.dir], tcp + 14);
    b[tcp + 16] = 0;
    b[tcp + 17] = 0;
    b[tcp + 18] = 0;
    b[tcp + 19] = 0;
    if (optLen > 0) SYN_OPTIONS.copy(b, tcp + 20);
    if (plen > 0 && p.payload !== undefined) p.payload.copy(b, tcp + tcpLen);
    // TCP checksum over the pseudo-header, header and payload (RFC 793 §3.1).
    const segLen = tcpLen + plen;
    let s = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + segLen;
    const end = tcp + segLen;
    let i = tcp;
    for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
    if (i < end) s += b[i]! << 8;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    b.writeUInt16BE(~s & 0xffff, tcp + 16);
    this.pos = start + 16 + frameLen;
    this.bytes += 16 + frameLen;
    this.packets++;
  }

  flush(): void {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Scheduler: ~200 connections at once, packets written in time order.

class Heap {
  private items: Conn[] = [];
  get size(): number {
    return this.items.length;
  }
  private key(c: Conn): number {
    return c.pkts[c.next]?.t ?? Infinity;
  }
  push(c: Conn): void {
    const a = this.items;
    a.push(c);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.key(a[p]!) <= this.key(c)) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = c;
  }
  pop(): Conn | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      const k = this.key(last);
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const m = r < a.length && this.key(a[r]!) < this.key(a[l]!) ? r : l;
        if (this.key(a[m]!) >= k) break;
        a[i] = a[m]!;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}

const ip4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

export function generateCapture(out: string, params: CaptureParams): CaptureTruth {
  const started = process.hrtime.bigint();
  const rng = new Rng(params.seed);
  const pool = new Base64Pool(rng, 4 * MIB);
  const target = params.sizeMb * MIB;
  mkdirSync(dirname(out), { recursive: true });
  const fd = openSync(out, 'w');
  const writer = new PcapWriter(fd);
  const tally: Tally = {
    mails: 0, smtpMails: 0, pop3Mails: 0, mailBytes: 0, digest: 0, attachments: 0, encodedSubjects: 0, authFailed: 0,
    refusedRcpts: 0, pipelinedSessions: 0, twoMailSessions: 0, dotStuffedMails: 0, outcomes: {},
  };
  const tcpStats: TcpStats = { retransmitted: 0, reordered: 0 };
  // 508 client hosts (two RFC 5737 /24s) x a per-host port run: every session's 4-tuple is distinct.
  const clientHosts: number[] = [];
  for (let h = 1; h <= 254; h++) clientHosts.push(ip4(198, 51, 100, h), ip4(203, 0, 113, h));
  const portBase = clientHosts.map(() => rng.int(32768, 60999));
  let sessions = 0;
  let smtpSessions = 0;
  let pendingBytes = 0;
  let maxConcurrent = 0;
  let lastTs = T0;
  const heap = new Heap();
  const done = (): boolean => sessions >= params.sessions && writer.bytes + pendingBytes >= target;

  const open = (ts: number): void => {
    const i = sessions++;
    const host = i % clientHosts.length;
    const run = Math.floor(i / clientHosts.length);
    if (run >= 64512) throw new Error('too many sessions for distinct 4-tuples');
    const smtp = rng.chance(0.6);
    if (smtp) smtpSessions++;
    const writes = smtp ? smtpDialogue(rng, pool, ts, tally) : pop3Dialogue(rng, pool, ts, tally);
    const pkts = segment(rng, writes, ts, tcpStats);
    let bytes = 0;
    for (const p of pkts) bytes += 16 + 14 + 20 + 20 + (p.syn ? 12 : 0) + (p.payload?.length ?? 0);
    pendingBytes += bytes;
    const conn: Conn = {
      clientIp: clientHosts[host] ?? 0,
      serverIp: ip4(192, 0, 2, smtp ? rng.int(10, 19) : rng.int(20, 24)),
      clientPort: 1024 + (((portBase[host] ?? 0) - 1024 + run) % 64512),
      serverPort: smtp ? (rng.chance(0.7) ? 587 : 25) : 110,
      pkts,
      next: 0,
      ipId: [rng.int(0, 0xffff), rng.int(0, 0xffff)],
      win: [rng.int(500, 2000), rng.int(500, 2000)],
      bytes,
    };
    heap.push(conn);
    maxConcurrent = Math.max(maxConcurrent, heap.size);
  };

  for (let i = 0; i < CONCURRENT && !done(); i++) open(T0 + rng.int(0, 200_000));
  for (;;) {
    const c = heap.pop();
    if (c === undefined) break;
    const p = c.pkts[c.next++];
    if (p === undefined) continue;
    writer.packet(c, p);
    lastTs = p.t;
    if (c.next < c.pkts.length) heap.push(c);
    else {
      pendingBytes -= c.bytes;
      if (!done()) open(p.t + rng.int(0, 2000));
    }
  }
  writer.flush();
  closeSync(fd);
  return {
    bytes: writer.bytes + 24,
    packets: writer.packets,
    sessions,
    smtpSessions,
    pop3Sessions: sessions - smtpSessions,
    mails: tally.mails,
    smtpMails: tally.smtpMails,
    pop3Mails: tally.pop3Mails,
    mailBytes: tally.mailBytes,
    mailDigest: tally.digest.toString(16).padStart(12, '0'),
    attachments: tally.attachments,
    encodedSubjects: tally.encodedSubjects,
    authUsers: sessions,
    authFailed: tally.authFailed,
    refusedRcpts: tally.refusedRcpts,
    pipelinedSessions: tally.pipelinedSessions,
    twoMailSessions: tally.twoMailSessions,
    dotStuffedMails: tally.dotStuffedMails,
    retransmittedSegments: tcpStats.retransmitted,
    reorderedSegments: tcpStats.reordered,
    outcomes: tally.outcomes,
    maxConcurrent,
    firstTs: T0,
    lastTs,
    generateSeconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

/** The sha256 prefix digest the generator records, for a consumer that has the hex digests. */
export function addToDigest(digest: number, sha256Hex: string): number {
  return (digest + parseInt(sha256Hex.slice(0, 12), 16)) % DIGEST_MOD;
}

export const BENCH_DATA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bench-data');

export function defaultParams(sizeMb?: number, sessions?: number, seed?: number): CaptureParams {
  const size = sizeMb ?? DEFAULT_SIZE_MB;
  return {
    version: GENERATOR_VERSION,
    sizeMb: size,
    sessions: sessions ?? Math.max(1, Math.round((DEFAULT_SESSIONS_AT_DEFAULT_SIZE * size) / DEFAULT_SIZE_MB)),
    seed: seed ?? 1,
  };
}

export function defaultOut(p: CaptureParams): string {
  return resolve(BENCH_DATA_DIR, `mail-${p.sizeMb}mb-${p.sessions}s-seed${p.seed}.pcap`);
}

/** The sidecar of `out` when it describes `out` as it is on disk with these parameters. */
export function reusable(out: string, params: CaptureParams): CaptureSidecar | undefined {
  const side = `${out}.json`;
  if (!existsSync(out) || !existsSync(side)) return undefined;
  try {
    const s = JSON.parse(readFileSync(side, 'utf8')) as CaptureSidecar;
    const same = JSON.stringify(s.params) === JSON.stringify(params);
    return same && statSync(out).size === s.truth.bytes ? s : undefined;
  } catch {
    return undefined;
  }
}

export function ensureCapture(out: string, params: CaptureParams, force = false): { sidecar: CaptureSidecar; reused: boolean } {
  const existing = force ? undefined : reusable(out, params);
  if (existing !== undefined) return { sidecar: existing, reused: true };
  const truth = generateCapture(out, params);
  const sidecar: CaptureSidecar = { params, truth };
  writeFileSync(`${out}.json`, JSON.stringify(sidecar, null, 2) + '\n');
  return { sidecar, reused: false };
}

export function describe(out: string, s: CaptureSidecar, reused: boolean): string {
  const t = s.truth;
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  return [
    `${reused ? 'reused' : 'wrote'} ${out}`,
    `  ${t.bytes.toLocaleString('en-US')} bytes (${mb(t.bytes)} MB, ${(t.bytes / MIB).toFixed(1)} MiB), ${t.packets.toLocaleString('en-US')} packets` +
      (reused ? '' : ` in ${t.generateSeconds.toFixed(1)} s`),
    `  ${t.sessions.toLocaleString('en-US')} sessions (${t.smtpSessions} SMTP, ${t.pop3Sessions} POP3, up to ${t.maxConcurrent} at once)`,
    `  ${t.mails.toLocaleString('en-US')} mails (${t.smtpMails} sent, ${t.pop3Mails} retrieved; ${mb(t.mailBytes)} MB; ${t.attachments} attachments; ${t.encodedSubjects} RFC 2047 subjects; ${t.dotStuffedMails} dot-stuffed)`,
    `  ${t.authFailed} failed logins, ${t.refusedRcpts} refused recipients, ${t.pipelinedSessions} pipelined, ${t.twoMailSessions} two-mail sessions`,
    `  ${t.retransmittedSegments} retransmitted and ${t.reorderedSegments} reordered segments`,
  ].join('\n');
}

function parseArgs(argv: readonly string[]): { out?: string; sizeMb?: number; sessions?: number; seed?: number; force: boolean } {
  const r: { out?: string; sizeMb?: number; sessions?: number; seed?: number; force: boolean } = { force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
      return v;
    };
    if (a === '--out') r.out = resolve(argv[++i] ?? '');
    else if (a === '--size-mb') r.sizeMb = num();
    else if (a === '--sessions') r.sessions = Math.round(num());
    else if (a === '--seed') r.seed = Math.round(num());
    else if (a === '--force') r.force = true;
    else throw new Error(`unknown argument ${a ?? ''}; usage: generate-capture.ts [--out FILE] [--size-mb N] [--sessions N] [--seed N] [--force]`);
  }
  return r;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = parseArgs(process.argv.slice(2));
  const params = defaultParams(args.sizeMb, args.sessions, args.seed);
  const out = args.out ?? defaultOut(params);
  const { sidecar, reused } = ensureCapture(out, params, args.force);
  console.log(describe(out, sidecar, reused));
}
