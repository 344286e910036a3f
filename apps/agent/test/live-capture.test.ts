import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalyzerEvent, MailEvent, SessionClosedEvent, TimelineEvent } from '@mailscope/protocols/events';
import { DEFAULT_MAIL_SETTINGS, type MailModuleSettings } from '@mailscope/shared';
import { CapturePipeline } from '../src/capture/capture-pipeline.ts';
import { LiveCapture } from '../src/capture/live-capture.ts';
import { decodeBatch } from '../src/spool/batch-codec.ts';
import { Spool } from '../src/spool/spool.ts';
import { curlRetr, pop3Message, sendMail, sleep, startPop3Server, startSmtpServer } from './helpers/mail-servers.ts';
import { requireLiveCapture } from './helpers/prereq.ts';

requireLiveCapture();

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-live-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const SETTINGS: MailModuleSettings = { ...DEFAULT_MAIL_SETTINGS, saveMail: true, smtpPorts: [2525], pop3Ports: [1110] };

/** Runs `traffic` under a capture on lo and returns the engine's events after the capture stopped. */
async function captureDuring(
  t: { after: (fn: () => void) => void },
  settings: MailModuleSettings,
  traffic: (pipeline: CapturePipeline) => Promise<void>,
): Promise<{ events: AnalyzerEvent[]; spool: Spool }> {
  const spool = new Spool(tempDir(t));
  const events: AnalyzerEvent[] = [];
  const pipeline = new CapturePipeline({ captureId: '00000000-0000-4000-8000-000000000001', device: 'lo', settings, spool, onEvent: (e) => events.push(e) });
  pipeline.start();
  try {
    await sleep(50);
    await traffic(pipeline);
    await sleep(300);
  } finally {
    await pipeline.stop();
  }
  return { events, spool };
}

function sessionTimeline(events: readonly AnalyzerEvent[], sessionId: number): TimelineEvent[] {
  return events.filter((e): e is TimelineEvent => e.type === 'timeline' && e.sessionId === sessionId);
}

test('live capture on lo: nodemailer -> smtp-server on 2525 with AUTH LOGIN gives the dialogue and the mail byte for byte', async (t) => {
  const smtp = await startSmtpServer(2525);
  t.after(() => smtp.close());
  const { events, spool } = await captureDuring(t, SETTINGS, async () => {
    await sendMail(2525, 'Live test one', 'Hello Bob,\r\n.this line starts with a dot\r\nbye\r\n');
  });
  const opened = events.filter((e) => e.type === 'session-opened');
  assert.equal(opened.length, 1, 'one SMTP session');
  const sid = opened[0]!.sessionId;
  const tl = sessionTimeline(events, sid);
  const commands = tl.filter((e) => e.kind === 'command').map((e) => e.verb);
  for (const verb of ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT']) assert.ok(commands.includes(verb), `${verb} in ${commands.join(',')}`);
  assert.deepEqual(commands.filter((v) => ['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT'].includes(v)), ['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT'], 'wire order');
  assert.equal(tl[0]?.kind, 'tcp', 'the handshake comes first');
  const auth = tl.find((e) => e.kind === 'auth');
  assert.equal(auth?.auth?.mechanism, 'LOGIN');
  assert.equal(auth?.auth?.user, 'alice');
  assert.equal(auth?.auth?.password, 's3cret');
  assert.equal(auth?.auth?.success, true);
  assert.ok(tl.some((e) => e.kind === 'reply' && e.verb === '250' && (e.latencyUs ?? -1) >= 0), 'replies carry their latency');
  const mails = events.filter((e): e is MailEvent => e.type === 'mail');
  assert.equal(mails.length, 1);
  assert.equal(smtp.received.length, 1);
  assert.ok(Buffer.from(mails[0]!.raw).equals(smtp.received[0]!), 'the captured mail is what smtp-server received');
  assert.equal(mails[0]!.envelope?.mailFrom, 'alice@example.com');
  assert.deepEqual(mails[0]!.envelope?.rcptTo, ['bob@example.net']);
  assert.equal(mails[0]!.summary?.subject, 'Live test one');
  const closed = events.find((e): e is SessionClosedEvent => e.type === 'session-closed');
  assert.equal(closed?.outcome, 'delivered');
  assert.equal(closed?.closeReason, 'fin');
  assert.equal(closed?.anomalies, 0, 'a clean dialogue raises no anomaly');
  // Everything was spooled for the API, packets with their bytes.
  const batches = spool.list().map((e) => decodeBatch(readFileSync(e.file)));
  assert.equal(batches.reduce((n, b) => n + b.packets.length, 0), events.filter((e) => e.type === 'packet').length);
  assert.ok(batches.every((b) => b.packets.every((p) => p.raw.byteLength === p.capturedLength && p.linkType === 1)));
  assert.ok(Buffer.from(batches.flatMap((b) => b.mails)[0]!.raw!).equals(smtp.received[0]!));
  assert.deepEqual(batches.map((b) => b.seq), batches.map((_, i) => i), 'batches numbered from 0');
});

test('live capture on lo: curl POP3 client against the POP3 server on 1110 gives USER/PASS/RETR/QUIT and the mail', async (t) => {
  const message = pop3Message('Live POP3');
  const pop3 = await startPop3Server(1110, [message]);
  t.after(() => pop3.close());
  let fetched: Buffer = Buffer.alloc(0);
  const { events } = await captureDuring(t, SETTINGS, async () => {
    fetched = await curlRetr(1110, 1);
  });
  assert.ok(fetched.includes(Buffer.from('Subject: Live POP3')), 'curl retrieved the mail');
  const opened = events.filter((e) => e.type === 'session-opened');
  assert.equal(opened.length, 1);
  assert.equal(opened[0]!.type === 'session-opened' && opened[0]!.protocol, 'pop3');
  const tl = sessionTimeline(events, opened[0]!.sessionId);
  const commands = tl.filter((e) => e.kind === 'command').map((e) => e.verb);
  for (const verb of ['USER', 'PASS', 'RETR', 'QUIT']) assert.ok(commands.includes(verb), `${verb} in ${commands.join(',')}`);
  const auth = tl.find((e) => e.kind === 'auth');
  assert.equal(auth?.auth?.user, 'alice');
  assert.equal(auth?.auth?.password, 's3cret');
  const mails = events.filter((e): e is MailEvent => e.type === 'mail');
  assert.equal(mails.length, 1);
  assert.ok(Buffer.from(mails[0]!.raw).equals(message), 'the retrieved mail, dot-stuffing removed, is the maildrop message');
  assert.equal(mails[0]!.direction, 'retrieved');
});

test('settings change during a capture: POP3 port 1110 added is captured from then on, the SMTP session in flight goes on', async (t) => {
  const smtp = await startSmtpServer(2525);
  const pop3 = await startPop3Server(1110, [pop3Message('after the change')]);
  t.after(() => smtp.close());
  t.after(() => pop3.close());
  const before: MailModuleSettings = { ...SETTINGS, pop3Ports: [110] };
  let filterAfter = '';
  const { events } = await captureDuring(t, before, async (pipeline) => {
    assert.equal(pipeline.filter, 'tcp port 110 or tcp port 2525');
    await curlRetr(1110, 1); // not captured: 1110 is not listed yet
    await sleep(100);
    // An SMTP session runs across the change.
    const sending = sendMail(2525, 'Across the change', 'x'.repeat(200_000));
    await sleep(5);
    await pipeline.updateSettings({ ...SETTINGS, pop3Ports: [110, 1110] });
    filterAfter = pipeline.filter;
    await sending;
    await curlRetr(1110, 1);
  });
  assert.equal(filterAfter, 'tcp port 110 or tcp port 1110 or tcp port 2525');
  const opened = events.filter((e) => e.type === 'session-opened');
  assert.deepEqual(opened.map((e) => e.type === 'session-opened' && e.protocol).sort(), ['pop3', 'smtp'], 'one POP3 session (the second) and the SMTP one');
  const closed = events.filter((e): e is SessionClosedEvent => e.type === 'session-closed');
  const smtpClosed = closed.find((c) => c.protocol === 'smtp');
  assert.equal(smtpClosed?.outcome, 'delivered');
  assert.equal(smtpClosed?.gaps, 0, 'no frame lost while the filter changed');
  const mail = events.find((e): e is MailEvent => e.type === 'mail' && e.direction === 'sent');
  assert.ok(mail !== undefined && Buffer.from(mail.raw).equals(smtp.received[0]!), 'the SMTP mail is whole');
  assert.equal(closed.find((c) => c.protocol === 'pop3')?.outcome, 'retrieved');
  const frameNos = events.filter((e) => e.type === 'packet').map((e) => (e.type === 'packet' ? e.no : 0));
  assert.deepEqual(frameNos, frameNos.map((_, i) => i + 1), 'frames numbered 1..n without holes or repeats');
});

test('LiveCapture.setFilter with a filter that does not compile keeps the running capture', async () => {
  const frames: number[] = [];
  const capture = LiveCapture.open({ device: 'lo', filter: 'tcp port 2525', onFrame: (f) => frames.push(f.no) });
  try {
    await assert.rejects(capture.setFilter('tcp port and ('), (err: Error) => {
      assert.equal((err as { code?: string }).code, 'BAD_FILTER');
      assert.match(err.message, /'tcp port and \('/);
      return true;
    });
    assert.equal(capture.filter, 'tcp port 2525');
    assert.equal(capture.linkType, 1);
  } finally {
    capture.close();
  }
});

test('LiveCapture counts the frames the kernel dropped while the ring was full, and no more once the agent keeps up', async () => {
  const port = 39_123;
  const burst = 400;
  /** A child's script sending `n` datagrams, each `gapMs` after the one before. */
  const sendDatagrams = (n: number, gapMs: number): string =>
    `const s = require('node:dgram').createSocket('udp4'); let i = 0;
     const next = () => { if (i++ === ${n}) return s.close(); s.send(Buffer.alloc(32, i & 255), ${port}, '127.0.0.1', () => setTimeout(next, ${gapMs})); }; next();`;
  let delivered = 0;
  // 1 MiB: on lo the ring's slots are 64 KiB each (see DEFAULT_BUFFER_BYTES), ~16 frames.
  const capture = LiveCapture.open({ device: 'lo', filter: `udp dst port ${port}`, bufferBytes: 1024 * 1024, onFrame: () => void delivered++ });
  try {
    // The event loop stays blocked while a child process sends the burst: nothing reads the ring.
    execFileSync(process.execPath, ['-e', sendDatagrams(burst, 0)]);
    await sleep(300);
    const full = capture.stats();
    assert.equal(full.received, delivered);
    assert.ok(full.dropped !== null && full.dropped > 0, `drops counted, got ${full.dropped} with ${delivered} of ${burst} delivered`);
    // On lo the kernel queues each frame twice, as sent and as received, and libpcap discards the
    // sent copy; the kernel's drop counter (pcap_stats' too) counts whichever copy found the ring
    // full. So each datagram is delivered or counted, and at most both copies are.
    assert.ok(full.received + full.dropped >= burst && full.received + full.dropped <= 2 * burst,
      `delivered ${full.received} + dropped ${full.dropped} accounts for the ${burst} datagrams`);

    // With the loop free to read, a slow stream (the ring holds ~8 datagrams' two copies) is
    // delivered whole and adds no drop.
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, ['-e', sendDatagrams(10, 20)], (err) => (err === null ? resolve() : reject(err)));
    });
    await sleep(300);
    const after = capture.stats();
    assert.equal(after.dropped, full.dropped, 'no new drops');
    assert.equal(after.received, full.received + 10);
  } finally {
    capture.close();
  }
});
