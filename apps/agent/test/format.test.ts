import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MailEvent, SessionClosedEvent, SessionOpenedEvent, TimelineEvent } from '@mailscope/protocols/events';
import {
  ANSI,
  PLAIN,
  formatFrames,
  formatLatency,
  formatSessionDialogue,
  formatSessionTable,
  formatTimelineEntry,
  formatTotals,
  toJsonLine,
} from '../src/format.ts';

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678) * 1000;
const client = { addr: '192.0.2.10', port: 50000 };
const server = { addr: '198.51.100.25', port: 25 };

const opened: SessionOpenedEvent = {
  type: 'session-opened', sessionId: 1, protocol: 'smtp', client, server, startTs: T0, sawSyn: true, detectedBy: 'port',
};
const closed: SessionClosedEvent = {
  type: 'session-closed', sessionId: 1, protocol: 'smtp', client, server, startTs: T0, endTs: T0 + 2_000_000,
  closeReason: 'fin', outcome: 'auth-failed', authUser: 'alice', authMechanism: 'PLAIN', authSuccess: false,
  encrypted: false, mails: 0, packets: { client: 7, server: 6 }, bytes: { client: 300, server: 400 },
  retransmissions: 0, gaps: 0, gapBytes: 0, anomalies: 1,
};
const tl = (seq: number, over: Partial<TimelineEvent>): TimelineEvent => ({
  type: 'timeline', sessionId: 1, seq, ts: T0 + seq * 1000, dir: 'client', kind: 'command', verb: '', arg: '', frames: [seq], ...over,
});

test('the table: one row per session, auth failure shown, totals', () => {
  const pop: SessionOpenedEvent = { ...opened, sessionId: 2, protocol: 'pop3', server: { addr: '2001:db8::1', port: 110 } };
  const text = formatSessionTable([{ opened, closed }, { opened: pop }]);
  const lines = text.split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0] ?? '', /^# +time \(UTC\) +proto +client -> server +user +outcome +mails +packets$/);
  assert.match(lines[1] ?? '', /^1 +2024-01-02 03:04:05\.678 +SMTP +192\.0\.2\.10:50000 -> 198\.51\.100\.25:25 +alice \(failed\) +auth-failed +0 +13$/);
  assert.match(lines[2] ?? '', /POP3 +192\.0\.2\.10:50000 -> \[2001:db8::1\]:110 +- +open +0 +0$/);
  assert.equal(formatTotals([{ opened, closed }, { opened: pop }], 40), '2 sessions (1 SMTP, 1 POP3), 0 mails, 13 packets in sessions of 40 frames read, 1 anomaly');
});

test('colour only when asked: the failed row is red with ANSI, plain otherwise', () => {
  assert.ok(!formatSessionTable([{ opened, closed }], PLAIN).includes('\u001b['));
  assert.ok(formatSessionTable([{ opened, closed }], ANSI).includes('\u001b[31m'));
});

test('a multi-line reply prints one line per reply line with - and space continuation, latency once', () => {
  const lines = formatTimelineEntry(tl(3, { dir: 'server', kind: 'reply', verb: '250', arg: 'mx.example\nPIPELINING\nAUTH PLAIN', latencyUs: 1500 }), T0);
  assert.equal(lines.length, 3);
  assert.match(lines[0] ?? '', /\+0\.003s +#3 +S: 250-mx\.example {2}\(1\.5 ms\)$/);
  assert.match(lines[1] ?? '', /^ +S: 250-PIPELINING$/);
  assert.match(lines[2] ?? '', /^ +S: 250 AUTH PLAIN$/);
});

test('AUTH entries show the user and mask the password; JSON masks it too', () => {
  const auth = tl(4, { kind: 'auth', verb: 'PLAIN', auth: { mechanism: 'PLAIN', user: 'alice', password: 's3cret!', success: false } });
  const [line = ''] = formatTimelineEntry(auth, T0);
  assert.match(line, /C: AUTH PLAIN {2}user alice {2}password \*\*\*\* {2}\(refused\)/);
  assert.ok(!line.includes('s3cret!'));
  const json = toJsonLine(auth);
  assert.ok(!json.includes('s3cret!'));
  assert.equal((JSON.parse(json) as { auth: { password: string; user: string } }).auth.password, '****');
  assert.equal(auth.auth?.password, 's3cret!', 'the event itself is not modified');
});

test('mail JSON leaves the raw bytes out and keeps the summary', () => {
  const mail: MailEvent = {
    type: 'mail', sessionId: 1, index: 1, direction: 'sent', command: 'DATA', size: 5, sha256: 'ab'.repeat(32),
    complete: true, startTs: T0, endTs: T0, frames: [9], raw: new TextEncoder().encode('hello'),
    summary: { subject: 'Hi', to: ['b@example.com'], cc: [], attachments: [] },
  };
  const parsed = JSON.parse(toJsonLine(mail)) as Record<string, unknown>;
  assert.equal(parsed.raw, undefined);
  assert.deepEqual(parsed.summary, { subject: 'Hi', to: ['b@example.com'], cc: [], attachments: [] });
  const dialogue = formatSessionDialogue([opened, tl(1, { verb: 'EHLO', arg: 'client.example' }), mail, closed]);
  assert.match(dialogue, /^Session 1 {2}SMTP {2}192\.0\.2\.10:50000 -> 198\.51\.100\.25:25 {2}2024-01-02 03:04:05\.678 UTC$/m);
  assert.match(dialogue, /outcome auth-failed, user alice \(PLAIN, refused\)/);
  assert.match(dialogue, /C: EHLO client\.example/);
  assert.match(dialogue, /Mail 1 \(sent by DATA\): 5 bytes, complete/);
  assert.match(dialogue, /Subject: {3}Hi/);
});

test('anomalies are highlighted; frame lists and latencies are short', () => {
  const [a = ''] = formatTimelineEntry(tl(5, { kind: 'anomaly', verb: 'UNMATCHED_REPLY', arg: 'reply without a command' }), T0, ANSI);
  assert.match(a, /!! UNMATCHED_REPLY: reply without a command/);
  assert.ok(a.includes('\u001b[33m'));
  assert.equal(formatFrames([7]), '#7');
  assert.equal(formatFrames([7, 8, 9]), '#7-9');
  assert.equal(formatFrames([7, 12]), '#7,12');
  assert.equal(formatFrames([1, 5, 9, 11, 40]), '#1..40 (5 frames)');
  assert.equal(formatLatency(350_000), '350 ms');
  assert.equal(formatLatency(2_410_000), '2.41 s');
});
