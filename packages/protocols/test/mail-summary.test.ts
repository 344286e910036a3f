import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_SUMMARY_HEADER_CHARS, MAX_SUMMARY_LIST_ITEMS, clip, mailHeaderAnomalies, sha256Hex, summarizeMail } from '../src/mail-summary.ts';
import type { MailSummary } from '../src/events.ts';

const EXPECTED = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/corpus/expected');

/** The corpus is a fixture of this test: its absence is a failure, never a skip. */
function corpusFile(...parts: string[]): string {
  const path = join(EXPECTED, ...parts);
  assert.ok(existsSync(path), `corpus file missing: ${path} (is /work/shared/corpus present?)`);
  return path;
}

function mailsOf(capture: string): Uint8Array[] {
  const dir = corpusFile(capture, 'helper_reassembly');
  const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
  assert.ok(files.length > 0, `no .eml in ${dir}`);
  return files.map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

async function summaryOf(capture: string, file = 's000_smtp_01.eml'): Promise<MailSummary> {
  return summarizeMail(new Uint8Array(readFileSync(corpusFile(capture, 'helper_reassembly', file))));
}

/** Every `subject` Arkime expects for a capture, from its session JSON. */
function arkimeSubjects(capture: string): string[] {
  const dir = corpusFile(capture, 'arkime');
  const out: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.test'))) {
    const doc = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
      sessions3?: { body?: { email?: { subject?: string[] } } }[];
    };
    for (const s of doc.sessions3 ?? []) out.push(...(s.body?.email?.subject ?? []));
  }
  return out;
}

/** Arkime keeps leading and folding white space that RFC 2047 §6.2 drops between encoded words. */
const squash = (s: string): string => s.replace(/\s+/g, '');

test('sha256Hex matches node:crypto', () => {
  const bytes = new TextEncoder().encode('Mailscope\r\n');
  assert.equal(sha256Hex(bytes), createHash('sha256').update(bytes).digest('hex'));
  assert.equal(sha256Hex(new Uint8Array()), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

for (const capture of [
  'ark_smtp-subject-8859-b.pcap',
  'ark_smtp-subject-8859-q.pcap',
  'ark_smtp-subject-encoded-empty.pcap',
  'ark_smtp-subject-multi-nospace.pcap',
  'ark_smtp-subject-utf8-q.pcap',
  'ark_smtp-subject-windows.pcap',
  'ark_smtp-zip.pcap',
  'ark_smtp-decrypted.pcap',
  'ark_smtp-data-250.pcap',
]) {
  test(`decoded subjects of ${capture} are Arkime's`, async () => {
    const expected = arkimeSubjects(capture);
    assert.ok(expected.length > 0, 'Arkime expects at least one subject');
    const ours: string[] = [];
    for (const raw of mailsOf(capture)) {
      const s = await summarizeMail(raw);
      assert.equal(s.parseError, undefined);
      if (s.subject !== undefined) ours.push(s.subject);
    }
    assert.deepEqual([...new Set(ours.map(squash))].sort(), [...new Set(expected.map(squash))].sort());
  });
}

test('subjects decode exactly: ISO-8859-1 B and Q, UTF-8 Q, raw Windows-1252, GB2312', async () => {
  assert.equal((await summaryOf('ark_smtp-subject-8859-b.pcap')).subject, 'test å é î ø ü');
  assert.equal(
    (await summaryOf('ark_smtp-subject-utf8-q.pcap')).subject,
    'xxxxxx xxxxxx xx xxxxxxxxx xx-xxxxxxx（ANA）GGL_xxxxxxxxxxxxx_xxxxxx.zip',
  );
  assert.equal(
    (await summaryOf('ark_smtp-subject-windows.pcap')).subject,
    'Awesome windows: See What’s Next in charset decoding!',
  );
  const q = (await summaryOf('ark_smtp-subject-8859-q.pcap')).subject ?? '';
  assert.match(q, /^é î ø ü +test$/);
  assert.equal(
    (await summaryOf('ark_smtp-subject-encoded-empty.pcap')).subject,
    'Can this 10 Second Trick Help Prevent YOUR Heart Attack?',
  );
  assert.equal((await summaryOf('sv_pop3-02-bug-7709.pcap', 's001_pop3_01.eml')).subject, '回复: 回复: 测试1下');
  assert.equal(
    (await summaryOf('sv_pop3.pcap', 's000_pop3_16.eml')).subject,
    '配信不能: Información Ingeniería NUMAR',
  );
});

test("ark_smtp-zip: a.zip's name and sha256 are Arkime's, headers are printable", async () => {
  const s = await summaryOf('ark_smtp-zip.pcap');
  assert.equal(s.attachments.length, 1);
  const [a] = s.attachments;
  assert.equal(a?.filename, 'a.zip');
  assert.equal(a?.contentType, 'application/zip');
  assert.equal(a?.disposition, 'attachment');
  assert.equal(a?.sha256, '61479904e443b354d4427a51b990c696f731e341e4c63328e07c1a92658ba591');
  assert.equal(a?.size, 310);
  assert.equal(s.from, 'xxxxxxxxx <xxxxx@xxx.net>');
  assert.deepEqual(s.to, ['xxxxxxxxx@xxxxxxx.com']);
  assert.equal(s.messageId, '<20131217145016.GA29077@xxx.net>');
  assert.equal(s.date, '2013-12-17T14:50:16.000Z');
});

test('sv_mime-quoted-printable: related.patch size and sha256 are Suricata\'s', async () => {
  const s = await summaryOf('sv_mime-quoted-printable.pcap');
  const patch = s.attachments.find((a) => a.filename === 'related.patch');
  assert.ok(patch, 'related.patch found');
  assert.equal(patch.size, 34224);
  assert.equal(patch.sha256, '359641873610597882317aee0f72104ed54fe8aa82d6fa323a5418e4529bd3b9');
  assert.deepEqual(
    s.attachments.map((a) => a.filename),
    ['words.txt', 'related.patch'],
  );
  assert.equal(s.from, 'WShark User <xxxxxx@xxxxx.co.uk>');
});

test("sv_smtp-file-data-01-ixia: J.txt is 16384 bytes, Suricata's size", async () => {
  const s = await summaryOf('sv_smtp-file-data-01-ixia.pcap');
  assert.equal(s.attachments.length, 1);
  assert.equal(s.attachments[0]?.filename, 'J.txt');
  assert.equal(s.attachments[0]?.size, 16384);
  assert.deepEqual(s.to, ['recipient@example.com']);
  assert.equal(s.from, 'sender@example.com');
});

test("sv_bug-6207-1-invalid-base64: the zip's name and size are Suricata's", async () => {
  const s = await summaryOf('sv_bug-6207-1-invalid-base64.pcap');
  assert.equal(
    s.attachments[0]?.filename,
    'smtptest-2021-02-25T13-54-22Z-aefb2fc1308d62f4b6c74769f69b13ddf80e995fd98ae442f3be499ea928c67f..zip',
  );
  assert.equal(s.attachments[0]?.size, 286);
});

test('sv_smtp-raw-extraction: winmail.dat (base64) is listed with a sha256 of its decoded bytes', async () => {
  const s = await summaryOf('sv_smtp-raw-extraction.pcap');
  const w = s.attachments.find((a) => a.filename === 'winmail.dat');
  assert.ok(w);
  assert.equal(w.contentType, 'application/ms-tnef');
  assert.equal(w.size, 10355);
  assert.match(w.sha256, /^[0-9a-f]{64}$/);
  assert.equal(s.subject, 'Testing testing 1 2 3 (Multiple attachments)');
});

test('sv_mime-dec-parse-full-msg-test02: From, Subject and Date are Suricata\'s', async () => {
  const s = await summaryOf('sv_mime-dec-parse-full-msg-test02.pcap');
  assert.equal(s.from, 'toto <toto@gmail.com>');
  assert.equal(s.subject, 'This is a test email');
  assert.equal(s.date, new Date('Fri, 21 Apr 2023 05:10:36 +0000').toISOString());
});

test('zeek_smtp: Cc is listed and NEWS.txt is an attachment', async () => {
  const cc = await summaryOf('zeek_smtp.pcap', 's002_smtp_01.eml');
  assert.ok(cc.cc.length > 0, 'the "Bro SMTP CC Header" mail has a Cc');
  const first = await summaryOf('zeek_smtp.pcap');
  assert.equal(first.attachments[0]?.filename, 'NEWS.txt');
  // NEWS.txt is quoted-printable with hard line breaks: postal-mime decodes them to LF, as it does
  // =0A, so 10544 (Zeek, which keeps CRLF and the boundary's CRLF too, says 10809).
  assert.equal(first.attachments[0]?.size, 10544);
});

test('a 7bit text attachment keeps the CRLF line ends it was sent with; quoted-printable keeps LF like Suricata', async () => {
  const mail = new TextEncoder().encode(
    'Subject: t\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n' +
      '--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\none\r\ntwo\r\n' +
      '--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Disposition: attachment; filename=q.txt\r\n\r\ncaf=C3=A9\r\nsoft=\r\nbreak\r\n' +
      '--b--\r\n',
  );
  const s = await summarizeMail(mail);
  const a = s.attachments.find((x) => x.filename === 'a.txt');
  const q = s.attachments.find((x) => x.filename === 'q.txt');
  assert.equal(a?.size, 'one\r\ntwo'.length);
  assert.equal(a?.sha256, sha256Hex(new TextEncoder().encode('one\r\ntwo')));
  assert.equal(q?.sha256, sha256Hex(new TextEncoder().encode('caf\u00e9\nsoftbreak')));
});

test('every corpus mail summarises without throwing', async () => {
  let n = 0;
  for (const capture of readdirSync(EXPECTED)) {
    const dir = join(EXPECTED, capture, 'helper_reassembly');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.eml'))) {
      const s = await summarizeMail(new Uint8Array(readFileSync(join(dir, f))));
      assert.ok(Array.isArray(s.attachments));
      n++;
    }
  }
  assert.ok(n >= 60, `expected the corpus' ~70 mails, found ${n}`);
});

test('bad input gives parseError, never a rejection', async () => {
  const deep = new TextEncoder().encode(
    Array.from({ length: 300 }, (_, i) => `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`).join(''),
  );
  const s = await summarizeMail(deep);
  assert.match(s.parseError ?? '', /nesting|depth/i);
  assert.deepEqual(s.attachments, []);

  const empty = await summarizeMail(new Uint8Array());
  assert.equal(empty.parseError, undefined);
  assert.equal(empty.subject, undefined);
  assert.deepEqual(empty.to, []);
});

test('RFC 2231 continued, charset-tagged filename and group addresses', async () => {
  const mail = [
    'From: "Ann Example" <ann@example.com>',
    'To: Team: a@example.com, "B" <b@example.com>;',
    'Subject: =?windows-1251?B?z/Do4uXy?=',
    'Content-Type: multipart/mixed; boundary="x"',
    '',
    '--x',
    'Content-Type: text/plain',
    '',
    'hi',
    '--x',
    'Content-Type: application/octet-stream',
    "Content-Disposition: attachment; filename*0*=utf-8''r%C3%A9sum; filename*1*=%C3%A9.pdf",
    'Content-Transfer-Encoding: base64',
    '',
    'AAEC',
    '--x--',
    '',
  ].join('\r\n');
  const s = await summarizeMail(new TextEncoder().encode(mail));
  assert.equal(s.subject, 'Привет');
  assert.equal(s.from, 'Ann Example <ann@example.com>');
  assert.deepEqual(s.to, ['a@example.com', 'B <b@example.com>']);
  assert.equal(s.attachments.length, 1);
  assert.equal(s.attachments[0]?.filename, 'résumé.pdf');
  assert.equal(s.attachments[0]?.size, 3);
  assert.equal(s.attachments[0]?.sha256, sha256Hex(new Uint8Array([0, 1, 2])));
});

test('mailHeaderAnomalies: a header section past 64 KiB (zeek_mime-header-size-limit) is MAIL_HEADER_TOO_LARGE', () => {
  const folded = `From: a@example.org\r\nSubject: CVE-CANDIDATE\r\n${' x\r\n'.repeat(20_000)}\r\nbody\r\n`;
  assert.deepEqual(mailHeaderAnomalies(new TextEncoder().encode(folded)).map((a) => a.code), ['MAIL_HEADER_TOO_LARGE']);
  // The same header without its blank line (a mail cut short) is still too large.
  assert.deepEqual(mailHeaderAnomalies(new TextEncoder().encode(folded.slice(0, 70_000))).map((a) => a.code), ['MAIL_HEADER_TOO_LARGE']);
  assert.deepEqual(mailHeaderAnomalies(new TextEncoder().encode(`Subject: x\r\n${' x\r\n'.repeat(1000)}\r\nbody\r\n`)), []);
});

test('mailHeaderAnomalies: a multipart boundary longer than RFC 2046\'s 70 characters (sv_bug-1449-01) is MIME_BOUNDARY_TOO_LONG', () => {
  const mail = (b: string, quoted = true): Uint8Array =>
    new TextEncoder().encode(`Content-Type: multipart/mixed;\r\n boundary=${quoted ? `"${b}"` : b}\r\n\r\n--${b}\r\n\r\ntext\r\n--${b}--\r\n`);
  assert.deepEqual(mailHeaderAnomalies(mail('A'.repeat(296))).map((a) => a.code), ['MIME_BOUNDARY_TOO_LONG']);
  assert.deepEqual(mailHeaderAnomalies(mail('A'.repeat(71), false)).map((a) => a.code), ['MIME_BOUNDARY_TOO_LONG']);
  assert.deepEqual(mailHeaderAnomalies(mail('A'.repeat(70))), []);
  assert.deepEqual(mailHeaderAnomalies(mail('=_frontier', false)), []);
});

test('mailHeaderAnomalies: the corpus mails of happy-path captures have none', () => {
  for (const capture of ['zeek_smtp.pcap', 'ark_smtp-zip.pcap', 'sv_mime-quoted-printable.pcap']) {
    for (const raw of mailsOf(capture)) assert.deepEqual(mailHeaderAnomalies(raw), [], capture);
  }
  assert.deepEqual(mailHeaderAnomalies(new Uint8Array(0)), []);
});

test('hostile header sizes are cut to what a batch may carry; the mail itself is not touched', async () => {
  const subject = 'x'.repeat(100_000);
  const to = Array.from({ length: 10_050 }, (_, i) => `r${i}@example.org`).join(', ');
  const raw = new TextEncoder().encode(`Subject: ${subject}\r\nFrom: a@example.org\r\nTo: ${to}\r\n\r\nbody\r\n`);
  const s = await summarizeMail(raw);
  assert.equal(s.subject?.length, MAX_SUMMARY_HEADER_CHARS);
  assert.ok(s.subject?.endsWith('\u2026'));
  assert.equal(s.to.length, MAX_SUMMARY_LIST_ITEMS, 'recipients past the list limit are left out');
  assert.equal(s.from, 'a@example.org');
});

test('clip never splits a surrogate pair', () => {
  const s = `${'a'.repeat(8)}\u{1F600}${'b'.repeat(8)}`; // the emoji at UTF-16 units 8-9
  assert.equal(clip(s, 10), `${'a'.repeat(8)}\u2026`);
  assert.equal(clip(s, 11), `${'a'.repeat(8)}\u{1F600}\u2026`);
  assert.equal(clip('short', 10), 'short');
});
