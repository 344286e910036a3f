/**
 * Writes demo/mailscope-demo.pcap, the sample capture `npm start -- --demo` imports so that a new
 * user sees sessions at once. Real TCP connections (handshake, segments, ACKs, teardown) built with
 * the engine's test conversation builder and pcap writer; RFC 5737 addresses, example.* names,
 * fixed times, so the file is the same on every run:
 *
 *   npm run demo-capture -w @mailscope/launcher
 *
 * What it holds (test/demo-capture.test.ts checks it through the engine):
 * 1. SMTP submission on 587: EHLO, AUTH LOGIN (alice), a refused RCPT among two, a MIME mail with
 *    an attachment -> delivered;
 * 2. SMTP on 25: a relay attempt refused at RCPT -> rejected;
 * 3. SMTP on 587: AUTH PLAIN with a wrong password -> auth-failed;
 * 4. POP3 on 110: USER / PASS (bob), STAT, LIST, RETR of the mail, DELE, QUIT -> retrieved.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePcap } from '@mailscope/protocols/pcap-writer';
import { LinkType } from '@mailscope/protocols/types';
// The engine's own builder of test conversations (a fixture, not part of its exports).
import { conversation } from '../../../packages/protocols/fixtures/conversation.ts';
import type { BuiltFrame, ConversationStep } from '../../../packages/protocols/fixtures/conversation.ts';

/** 2026-11-02T09:00:00Z in µs. */
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0) * 1000;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

const CLIENT = '192.0.2.10';
const MX = '198.51.100.20';
const RELAY_CLIENT = '203.0.113.66';

export const DEMO_MAIL =
  'From: Alice Example <alice@example.org>\r\n' +
  'To: Bob Example <bob@example.net>\r\n' +
  'Subject: Quarterly report\r\n' +
  'Date: Mon, 02 Nov 2026 09:00:01 +0000\r\n' +
  'Message-ID: <demo-1@example.org>\r\n' +
  'MIME-Version: 1.0\r\n' +
  'Content-Type: multipart/mixed; boundary="demo-boundary"\r\n' +
  '\r\n' +
  '--demo-boundary\r\n' +
  'Content-Type: text/plain; charset=utf-8\r\n' +
  '\r\n' +
  'Hello Bob,\r\n' +
  '\r\n' +
  'the report is attached.\r\n' +
  '.Lines starting with a dot are dot-stuffed on the wire.\r\n' +
  '\r\n' +
  'Alice\r\n' +
  '--demo-boundary\r\n' +
  'Content-Type: text/csv; name="report.csv"\r\n' +
  'Content-Disposition: attachment; filename="report.csv"\r\n' +
  'Content-Transfer-Encoding: base64\r\n' +
  '\r\n' +
  `${b64('quarter,mails\r\nQ3,1234\r\nQ4,1567\r\n')}\r\n` +
  '--demo-boundary--\r\n';
const STUFFED = `${DEMO_MAIL.replace(/^\./gm, '..')}.\r\n`;

function submission(): BuiltFrame[] {
  const steps: ConversationStep[] = [
    { from: 'server', data: '220 mx.example.net ESMTP ready\r\n' },
    { from: 'client', data: 'EHLO laptop.example.org\r\n' },
    { from: 'server', data: '250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n' },
    { from: 'client', data: 'AUTH LOGIN\r\n' },
    { from: 'server', data: `334 ${b64('Username:')}\r\n` },
    { from: 'client', data: `${b64('alice')}\r\n` },
    { from: 'server', data: `334 ${b64('Password:')}\r\n` },
    { from: 'client', data: `${b64('demo-secret-1')}\r\n` },
    { from: 'server', data: '235 2.7.0 Authentication successful\r\n' },
    { from: 'client', data: 'MAIL FROM:<alice@example.org> SIZE=900\r\n' },
    { from: 'server', data: '250 2.1.0 Ok\r\n' },
    { from: 'client', data: 'RCPT TO:<bob@example.net>\r\n' },
    { from: 'server', data: '250 2.1.5 Ok\r\n' },
    { from: 'client', data: 'RCPT TO:<carol@example.net>\r\n' },
    { from: 'server', data: '550 5.1.1 <carol@example.net>: Recipient address rejected: User unknown\r\n' },
    { from: 'client', data: 'DATA\r\n' },
    { from: 'server', data: '354 End data with <CR><LF>.<CR><LF>\r\n' },
    { from: 'client', data: STUFFED },
    { from: 'server', data: '250 2.0.0 Ok: queued as 4F2A91C3\r\n' },
    { from: 'client', data: 'QUIT\r\n' },
    { from: 'server', data: '221 2.0.0 Bye\r\n' },
  ];
  return conversation({ client: CLIENT, server: MX, clientPort: 50101, serverPort: 587, startTs: T0, stepUs: 2_000, steps });
}

function relayRefused(): BuiltFrame[] {
  const steps: ConversationStep[] = [
    { from: 'server', data: '220 mx.example.net ESMTP ready\r\n' },
    { from: 'client', data: 'HELO unknown.example.com\r\n' },
    { from: 'server', data: '250 mx.example.net\r\n' },
    { from: 'client', data: 'MAIL FROM:<offers@example.com>\r\n' },
    { from: 'server', data: '250 2.1.0 Ok\r\n' },
    { from: 'client', data: 'RCPT TO:<someone@example.com>\r\n' },
    { from: 'server', data: '554 5.7.1 <someone@example.com>: Relay access denied\r\n' },
    { from: 'client', data: 'QUIT\r\n' },
    { from: 'server', data: '221 2.0.0 Bye\r\n' },
  ];
  return conversation({ client: RELAY_CLIENT, server: MX, clientPort: 41234, serverPort: 25, startTs: T0 + 20_000_000, stepUs: 3_000, steps });
}

function wrongPassword(): BuiltFrame[] {
  const steps: ConversationStep[] = [
    { from: 'server', data: '220 mx.example.net ESMTP ready\r\n' },
    { from: 'client', data: 'EHLO laptop.example.org\r\n' },
    { from: 'server', data: '250-mx.example.net\r\n250 AUTH PLAIN LOGIN\r\n' },
    { from: 'client', data: `AUTH PLAIN ${b64('\0alice\0not-the-password')}\r\n` },
    { from: 'server', data: '535 5.7.8 Error: authentication failed\r\n' },
    { from: 'client', data: 'QUIT\r\n' },
    { from: 'server', data: '221 2.0.0 Bye\r\n' },
  ];
  return conversation({ client: CLIENT, server: MX, clientPort: 50102, serverPort: 587, startTs: T0 + 40_000_000, stepUs: 1_500, steps });
}

function pop3Retrieve(): BuiltFrame[] {
  const size = Buffer.byteLength(DEMO_MAIL);
  const steps: ConversationStep[] = [
    { from: 'server', data: '+OK POP3 server ready\r\n' },
    { from: 'client', data: 'USER bob\r\n' },
    { from: 'server', data: '+OK\r\n' },
    { from: 'client', data: 'PASS demo-secret-2\r\n' },
    { from: 'server', data: '+OK Logged in.\r\n' },
    { from: 'client', data: 'STAT\r\n' },
    { from: 'server', data: `+OK 1 ${size}\r\n` },
    { from: 'client', data: 'LIST\r\n' },
    { from: 'server', data: `+OK 1 messages:\r\n1 ${size}\r\n.\r\n` },
    { from: 'client', data: 'RETR 1\r\n' },
    { from: 'server', data: `+OK ${size} octets\r\n${STUFFED}` },
    { from: 'client', data: 'DELE 1\r\n' },
    { from: 'server', data: '+OK Marked to be deleted.\r\n' },
    { from: 'client', data: 'QUIT\r\n' },
    { from: 'server', data: '+OK Logging out, messages deleted.\r\n' },
  ];
  return conversation({ client: '192.0.2.20', server: '198.51.100.30', clientPort: 50201, serverPort: 110, startTs: T0 + 60_000_000, stepUs: 2_500, steps });
}

function demoFrames(): BuiltFrame[] {
  return [...submission(), ...relayRefused(), ...wrongPassword(), ...pop3Retrieve()].sort((a, b) => a.ts - b.ts);
}

/** The bytes of demo/mailscope-demo.pcap. */
export function demoCapture(): Uint8Array {
  return writePcap(LinkType.ETHERNET, demoFrames());
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = join(dirname(fileURLToPath(import.meta.url)), 'mailscope-demo.pcap');
  const bytes = demoCapture();
  writeFileSync(file, bytes);
  process.stdout.write(`${file}: ${bytes.length} bytes\n`);
}
