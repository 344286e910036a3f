import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpAnalyzer } from '../src/smtp-analyzer.ts';
import { DEFAULT_LIMITS, type EngineLimits } from '../src/limits.ts';
import type { CloseReason, ExtractedMail, ProtocolSummary, TimelineEntryInput } from '../src/session.ts';
import type { Direction } from '../src/types.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One call: bytes of a direction, or a gap. Step i is frame i + 1 at ts (i + 1) * 1000. */
type Step = [Direction, string] | ['gap', Direction, number];

interface Result {
  entries: TimelineEntryInput[];
  mails: (Omit<ExtractedMail, 'raw'> & { raw: string })[];
  summary: ProtocolSummary;
  /** Entries as `dir kind verb arg` lines, the compact view most tests compare. */
  lines: string[];
}

interface RunOptions {
  limits?: Partial<EngineLimits>;
  close?: CloseReason | null;
  /** How each step's bytes are cut into data() calls (all with the step's frame and ts). */
  split?: (b: Uint8Array, stepIndex: number) => Uint8Array[];
}

function run(steps: Step[], opts: RunOptions = {}): Result {
  const entries: TimelineEntryInput[] = [];
  const mails: Result['mails'] = [];
  const a = new SmtpAnalyzer(
    { entry: (e) => entries.push(e), mail: (m) => mails.push({ ...m, raw: dec.decode(m.raw) }) },
    { ...DEFAULT_LIMITS, ...opts.limits },
  );
  steps.forEach((s, i) => {
    const frame = i + 1;
    const ts = frame * 1000;
    if (s[0] === 'gap') {
      a.gap(s[1], s[2], ts);
      return;
    }
    const bytes = enc.encode(s[1]);
    for (const piece of opts.split ? opts.split(bytes, i) : [bytes]) a.data(s[0], piece, frame, ts);
  });
  if (opts.close !== null) a.close(opts.close ?? 'fin', (steps.length + 1) * 1000);
  return { entries, mails, summary: a.summary(), lines: entries.map((e) => `${e.dir[0]} ${e.kind} ${e.verb} ${e.arg}`) };
}

const GREETING: Step = ['server', '220 mx.example.net ESMTP\r\n'];
const EHLO: Step[] = [
  ['client', 'EHLO client.example.org\r\n'],
  ['server', '250-mx.example.net\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2\r\n'],
];

const PLAIN_DIALOGUE: Step[] = [
  GREETING,
  ...EHLO,
  ['client', 'MAIL FROM:<alice@example.org> SIZE=42 BODY=8BITMIME\r\n'],
  ['server', '250 2.1.0 Ok\r\n'],
  ['client', 'RCPT TO:<bob@example.net>\r\n'],
  ['server', '250 2.1.5 Ok\r\n'],
  ['client', 'RCPT TO:<nobody@example.net>\r\n'],
  ['server', '550 5.1.1 No such user\r\n'],
  ['client', 'DATA\r\n'],
  ['server', '354 End data with <CR><LF>.<CR><LF>\r\n'],
  ['client', 'Subject: hi\r\n\r\n..leading dot\r\nlast line\r\n.\r\n'],
  ['server', '250 2.0.0 Ok: queued as 1234\r\n'],
  ['client', 'QUIT\r\n'],
  ['server', '221 2.0.0 Bye\r\n'],
];

test('a plain dialogue: exact entries, latencies, frames, envelope and mail bytes', () => {
  const r = run(PLAIN_DIALOGUE);
  assert.deepEqual(r.entries, [
    { ts: 1000, dir: 'server', kind: 'reply', verb: '220', arg: 'mx.example.net ESMTP', frames: [1] },
    { ts: 2000, dir: 'client', kind: 'command', verb: 'EHLO', arg: 'client.example.org', frames: [2] },
    { ts: 3000, dir: 'server', kind: 'reply', verb: '250', arg: 'mx.example.net\nPIPELINING\nCHUNKING\nAUTH PLAIN LOGIN CRAM-MD5 XOAUTH2', frames: [3], latencyUs: 1000 },
    { ts: 4000, dir: 'client', kind: 'command', verb: 'MAIL', arg: 'FROM:<alice@example.org> SIZE=42 BODY=8BITMIME', frames: [4] },
    { ts: 5000, dir: 'server', kind: 'reply', verb: '250', arg: '2.1.0 Ok', frames: [5], latencyUs: 1000 },
    { ts: 6000, dir: 'client', kind: 'command', verb: 'RCPT', arg: 'TO:<bob@example.net>', frames: [6] },
    { ts: 7000, dir: 'server', kind: 'reply', verb: '250', arg: '2.1.5 Ok', frames: [7], latencyUs: 1000 },
    { ts: 8000, dir: 'client', kind: 'command', verb: 'RCPT', arg: 'TO:<nobody@example.net>', frames: [8] },
    { ts: 9000, dir: 'server', kind: 'reply', verb: '550', arg: '5.1.1 No such user', frames: [9], latencyUs: 1000 },
    { ts: 10000, dir: 'client', kind: 'command', verb: 'DATA', arg: '', frames: [10] },
    { ts: 11000, dir: 'server', kind: 'reply', verb: '354', arg: 'End data with <CR><LF>.<CR><LF>', frames: [11], latencyUs: 1000 },
    { ts: 12000, dir: 'client', kind: 'data', verb: 'DATA', arg: '40 bytes', frames: [12] },
    { ts: 13000, dir: 'server', kind: 'reply', verb: '250', arg: '2.0.0 Ok: queued as 1234', frames: [13], latencyUs: 1000 },
    { ts: 14000, dir: 'client', kind: 'command', verb: 'QUIT', arg: '', frames: [14] },
    { ts: 15000, dir: 'server', kind: 'reply', verb: '221', arg: '2.0.0 Bye', frames: [15], latencyUs: 1000 },
  ]);
  assert.deepEqual(r.mails, [
    {
      index: 1,
      direction: 'sent',
      envelope: { mailFrom: 'alice@example.org', mailParams: ['SIZE=42', 'BODY=8BITMIME'], rcptTo: ['bob@example.net'] },
      command: 'DATA',
      raw: 'Subject: hi\r\n\r\n.leading dot\r\nlast line\r\n',
      size: 40,
      complete: true,
      finalReply: '250',
      startTs: 11000,
      endTs: 12000,
      frames: [12],
    },
  ]);
  assert.deepEqual(r.summary, {
    outcome: 'delivered',
    authUser: undefined,
    authMechanism: undefined,
    authSuccess: undefined,
    encrypted: false,
    mails: 1,
    helo: 'client.example.org',
    greeting: 'mx.example.net ESMTP',
  });
});

test('EHLO capabilities are remembered', () => {
  const a = new SmtpAnalyzer({ entry: () => undefined, mail: () => undefined }, DEFAULT_LIMITS);
  for (const [dir, text] of [GREETING, ...EHLO] as [Direction, string][]) a.data(dir, enc.encode(text), 1, 1);
  assert.deepEqual(a.capabilities, ['PIPELINING', 'CHUNKING', 'AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2']);
});

test('a 554 greeting is a refusal: outcome rejected, greeting kept, no latency', () => {
  const r = run([['server', '554 5.7.1 No service for you\r\n'], ['client', 'QUIT\r\n'], ['server', '221 Bye\r\n']]);
  assert.equal(r.summary.outcome, 'rejected');
  assert.equal(r.summary.greeting, '5.7.1 No service for you');
  assert.equal(r.entries[0]!.latencyUs, undefined);
  assert.equal(r.entries[2]!.latencyUs, 1000);
});

// ------------------------------------------------------------------ AUTH

const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');

interface AuthCase {
  name: string;
  steps: Step[];
  mechanism: string;
  user: string | undefined;
  password: string | undefined;
  /** Base64 strings that must not appear in any entry's verb or arg. */
  secrets: string[];
}

const PLAIN_IR = b64('\0alice\0s3cret');
const XO = b64('user=alice@example.org\x01auth=Bearer tok123\x01\x01');
// The NTLMSSP messages of ark_ntlm_synthetic's SMTP session (50011->25): NEGOTIATE, CHALLENGE, AUTHENTICATE (user jack).
const NTLM_NEGOTIATE = 'TlRMTVNTUAABAAAABwIAAgcABwAoAAAACAAIAC8AAAAKAGFKAAAAD1NNVFBET01TTVRQSE9TVA==';
const NTLM_CHALLENGE = 'TlRMTVNTUAACAAAADgAOADgAAAAFAgACASNFZ4mrze8AAAAAAAAAAAQABABGAAAACgBhSgAAAA9TAE0AVABQAFQARwBUAAAAAAA=';
const NTLM_AUTHENTICATE =
  'TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAA4ADgCIAAAACAAIAJYAAAAQABAAngAAABAAEACuAAAABQIAAgoAYUoAAAAPAAAAAAAAAAAAAAAAAAAAAExMTExMTExMTExMTExMTExMTExMTExMTE5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTlMATQBUAFAARABPAE0AagBhAGMAawBTAE0AVABQAEgATwBTAFQAS0tLS0tLS0tLS0tLS0tLSw==';
const AUTH_CASES: AuthCase[] = [
  { name: 'PLAIN with initial response', mechanism: 'PLAIN', user: 'alice', password: 's3cret', secrets: [PLAIN_IR],
    steps: [['client', `AUTH PLAIN ${PLAIN_IR}\r\n`], ['server', '235 2.7.0 Authentication successful\r\n']] },
  { name: 'PLAIN without initial response', mechanism: 'PLAIN', user: 'alice', password: 's3cret', secrets: [PLAIN_IR],
    steps: [['client', 'AUTH PLAIN\r\n'], ['server', '334 \r\n'], ['client', `${PLAIN_IR}\r\n`], ['server', '235 ok\r\n']] },
  { name: 'PLAIN with an empty initial response (=)', mechanism: 'PLAIN', user: 'alice', password: 's3cret', secrets: [PLAIN_IR],
    steps: [['client', 'AUTH PLAIN =\r\n'], ['server', '334 \r\n'], ['client', `${PLAIN_IR}\r\n`], ['server', '235 ok\r\n']] },
  { name: 'LOGIN without initial response', mechanism: 'LOGIN', user: 'alice', password: 's3cret', secrets: [b64('alice'), b64('s3cret')],
    steps: [['client', 'AUTH LOGIN\r\n'], ['server', '334 VXNlcm5hbWU6\r\n'], ['client', `${b64('alice')}\r\n`], ['server', '334 UGFzc3dvcmQ6\r\n'], ['client', `${b64('s3cret')}\r\n`], ['server', '235 ok\r\n']] },
  { name: 'LOGIN with initial response', mechanism: 'LOGIN', user: 'alice', password: 's3cret', secrets: [b64('alice'), b64('s3cret')],
    steps: [['client', `AUTH LOGIN ${b64('alice')}\r\n`], ['server', '334 UGFzc3dvcmQ6\r\n'], ['client', `${b64('s3cret')}\r\n`], ['server', '235 ok\r\n']] },
  { name: 'CRAM-MD5', mechanism: 'CRAM-MD5', user: 'tim', password: undefined, secrets: [b64('tim b913a602c7eda7a495b4e6e7334d3890')],
    steps: [['client', 'AUTH CRAM-MD5\r\n'], ['server', `334 ${b64('<1896.697170952@postoffice.example.net>')}\r\n`], ['client', `${b64('tim b913a602c7eda7a495b4e6e7334d3890')}\r\n`], ['server', '235 ok\r\n']] },
  { name: 'XOAUTH2 with initial response', mechanism: 'XOAUTH2', user: 'alice@example.org', password: 'tok123', secrets: [XO],
    steps: [['client', `AUTH XOAUTH2 ${XO}\r\n`], ['server', '235 2.7.0 Accepted\r\n']] },
  { name: 'XOAUTH2 without initial response', mechanism: 'XOAUTH2', user: 'alice@example.org', password: 'tok123', secrets: [XO],
    steps: [['client', 'AUTH XOAUTH2\r\n'], ['server', '334 \r\n'], ['client', `${XO}\r\n`], ['server', '235 ok\r\n']] },
  // ark_ntlm_synthetic: the user is in the AUTHENTICATE message, the client's second answer.
  { name: 'NTLM (ark_ntlm_synthetic)', mechanism: 'NTLM', user: 'jack', password: undefined, secrets: [NTLM_AUTHENTICATE],
    steps: [['client', 'AUTH NTLM\r\n'], ['server', '334 \r\n'], ['client', `${NTLM_NEGOTIATE}\r\n`], ['server', `334 ${NTLM_CHALLENGE}\r\n`], ['client', `${NTLM_AUTHENTICATE}\r\n`], ['server', '235 Authentication successful\r\n']] },
  { name: 'NTLM with the NEGOTIATE as initial response', mechanism: 'NTLM', user: 'jack', password: undefined, secrets: [NTLM_NEGOTIATE, NTLM_AUTHENTICATE],
    steps: [['client', `AUTH NTLM ${NTLM_NEGOTIATE}\r\n`], ['server', `334 ${NTLM_CHALLENGE}\r\n`], ['client', `${NTLM_AUTHENTICATE}\r\n`], ['server', '235 ok\r\n']] },
];

for (const c of AUTH_CASES) {
  test(`AUTH ${c.name}: one auth entry at the final reply, credentials decoded, never in command text`, () => {
    const r = run([GREETING, ...EHLO, ...c.steps, ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']]);
    const auths = r.entries.filter((e) => e.kind === 'auth');
    assert.equal(auths.length, 1);
    const finalReplyStep = 3 + c.steps.length;
    assert.deepEqual(auths[0]!.auth, { mechanism: c.mechanism, user: c.user, password: c.password, success: true });
    assert.equal(auths[0]!.ts, finalReplyStep * 1000);
    // Frames: the AUTH command and every client answer.
    const clientFrames = c.steps.map((s, i) => (s[0] === 'client' ? 4 + i : 0)).filter((f) => f > 0);
    assert.deepEqual(auths[0]!.frames, clientFrames);
    // The answers are not commands: the only commands are EHLO, AUTH and QUIT.
    assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['EHLO', 'AUTH', 'QUIT']);
    for (const e of r.entries) {
      for (const s of c.secrets) {
        assert.ok(!e.verb.includes(s) && !e.arg.includes(s), `secret in ${e.kind} ${e.verb} ${e.arg}`);
      }
      if (c.password !== undefined) assert.ok(!e.arg.includes(c.password), `password in ${e.arg}`);
    }
    assert.equal(r.summary.authUser, c.user);
    assert.equal(r.summary.authMechanism, c.mechanism);
    assert.equal(r.summary.authSuccess, true);
    assert.equal(r.entries.filter((e) => e.kind === 'anomaly').length, 0);
  });
}

test('AUTH with initial response masks it in the command arg', () => {
  const r = run([GREETING, ['client', `AUTH PLAIN ${PLAIN_IR}\r\n`], ['server', '235 ok\r\n']]);
  assert.equal(r.entries[1]!.arg, 'PLAIN ****');
});

test('AUTH failure: 535 gives success=false and outcome auth-failed', () => {
  const r = run([GREETING, ['client', `AUTH PLAIN ${PLAIN_IR}\r\n`], ['server', '535 5.7.8 Authentication failed\r\n'], ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']]);
  const auth = r.entries.find((e) => e.kind === 'auth');
  assert.deepEqual(auth?.auth, { mechanism: 'PLAIN', user: 'alice', password: 's3cret', success: false });
  assert.equal(r.summary.outcome, 'auth-failed');
  assert.equal(r.summary.authSuccess, false);
});

test('XOAUTH2 failure: the error challenge is answered by an empty line, then 535', () => {
  const err = b64('{"status":"401","schemes":"bearer"}');
  const r = run([GREETING, ['client', `AUTH XOAUTH2 ${XO}\r\n`], ['server', `334 ${err}\r\n`], ['client', '\r\n'], ['server', '535 5.7.8 Username and Password not accepted\r\n'], ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']]);
  assert.deepEqual(r.entries.find((e) => e.kind === 'auth')?.auth, { mechanism: 'XOAUTH2', user: 'alice@example.org', password: 'tok123', success: false });
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['AUTH', 'QUIT']);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'reply').map((e) => e.latencyUs), [undefined, 1000, 1000, 1000]);
});

test('AUTH cancelled with "*": one failed auth entry, the next line is a command again', () => {
  const r = run([GREETING, ['client', 'AUTH LOGIN\r\n'], ['server', '334 VXNlcm5hbWU6\r\n'], ['client', '*\r\n'], ['server', '501 5.7.0 Authentication cancelled\r\n'], ['client', 'NOOP\r\n'], ['server', '250 ok\r\n']]);
  const auths = r.entries.filter((e) => e.kind === 'auth');
  assert.equal(auths.length, 1);
  assert.equal(auths[0]!.auth?.success, false);
  assert.match(auths[0]!.arg, /cancelled/);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['AUTH', 'NOOP']);
});

test('invalid Base64 in AUTH is an INVALID_BASE64 anomaly, not a crash', () => {
  const r = run([GREETING, ['client', 'AUTH PLAIN %%%notbase64%%%\r\n'], ['server', '501 5.5.2 Cannot decode response\r\n'], ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']]);
  const anomalies = r.entries.filter((e) => e.kind === 'anomaly');
  assert.deepEqual(anomalies.map((e) => [e.verb, e.frames]), [['INVALID_BASE64', [2]]]);
  assert.deepEqual(r.entries.find((e) => e.kind === 'auth')?.auth, { mechanism: 'PLAIN', user: undefined, password: undefined, success: false });
});

test('one-sided capture: AUTH LOGIN answers are still read as answers (server never seen)', () => {
  const r = run([['client', 'EHLO c\r\nAUTH LOGIN\r\n'], ['client', `${b64('alice')}\r\n${b64('s3cret')}\r\nMAIL FROM:<a@b>\r\n`]]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['EHLO', 'AUTH', 'MAIL']);
  assert.deepEqual(r.entries.find((e) => e.kind === 'auth')?.auth, { mechanism: 'LOGIN', user: 'alice', password: 's3cret', success: undefined });
  assert.equal(r.summary.outcome, 'incomplete');
});

test('NTLM: the auth entry names the domain and workstation; no password', () => {
  const r = run([GREETING, ['client', 'AUTH NTLM\r\n'], ['server', '334 \r\n'], ['client', `${NTLM_NEGOTIATE}\r\n`], ['server', `334 ${NTLM_CHALLENGE}\r\n`], ['client', `${NTLM_AUTHENTICATE}\r\n`], ['server', '535 no\r\n']]);
  const auth = r.entries.find((e) => e.kind === 'auth');
  assert.deepEqual(auth?.auth, { mechanism: 'NTLM', user: 'jack', password: undefined, success: false });
  assert.equal(auth?.arg, 'user "jack" domain "SMTPDOM" workstation "SMTPHOST", refused');
});

test('one-sided capture: AUTH NTLM takes two answers (NEGOTIATE, AUTHENTICATE), then commands', () => {
  const r = run([['client', 'EHLO c\r\nAUTH NTLM\r\n'], ['client', `${NTLM_NEGOTIATE}\r\n${NTLM_AUTHENTICATE}\r\nMAIL FROM:<a@b>\r\n`]]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['EHLO', 'AUTH', 'MAIL']);
  assert.deepEqual(r.entries.find((e) => e.kind === 'auth')?.auth, { mechanism: 'NTLM', user: 'jack', password: undefined, success: undefined });
});

test('a client that sends its AUTH answer before the 334 (same chunk) is still read right', () => {
  const r = run([GREETING, ['client', `AUTH LOGIN\r\n${b64('alice')}\r\n`], ['server', '334 VXNlcm5hbWU6\r\n'], ['server', '334 UGFzc3dvcmQ6\r\n'], ['client', `${b64('pw')}\r\n`], ['server', '235 ok\r\n']]);
  assert.deepEqual(r.entries.find((e) => e.kind === 'auth')?.auth, { mechanism: 'LOGIN', user: 'alice', password: 'pw', success: true });
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['AUTH']);
});

// ------------------------------------------------------------------ DATA

test('DATA: the terminator split at every position gives the same mail', () => {
  const body = 'Subject: t\r\n\r\n..a\r\n.\r\n';
  const prefix: Step[] = [GREETING, ['client', 'MAIL FROM:<a@b>\r\n'], ['server', '250 ok\r\n'], ['client', 'RCPT TO:<c@d>\r\n'], ['server', '250 ok\r\n'], ['client', 'DATA\r\n'], ['server', '354 go\r\n']];
  for (let i = 0; i <= body.length; i++) {
    const r = run([...prefix, ['client', body.slice(0, i)], ['client', body.slice(i)], ['server', '250 queued\r\n']]);
    assert.equal(r.mails.length, 1, `split ${i}`);
    assert.equal(r.mails[0]!.raw, 'Subject: t\r\n\r\n.a\r\n', `split ${i}`);
    assert.equal(r.mails[0]!.complete, true);
    assert.equal(r.mails[0]!.finalReply, '250');
    assert.equal(r.summary.outcome, 'delivered');
  }
});

test('DATA refused before 354: no mail, outcome rejected, following lines are commands', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\n'], ['server', '250 ok\r\n'], ['client', 'DATA\r\n'], ['server', '554 5.5.1 No valid recipients\r\n'], ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']]);
  assert.equal(r.mails.length, 0);
  assert.equal(r.summary.outcome, 'rejected');
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['MAIL', 'DATA', 'QUIT']);
});

test('a mail refused after its body gets finalReply 554 and outcome rejected', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'], ['server', '250 ok\r\n250 ok\r\n354 go\r\n'], ['client', 'spam\r\n.\r\n'], ['server', '554 5.7.1 Spam\r\n'], ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']]);
  assert.equal(r.mails.length, 1);
  assert.equal(r.mails[0]!.finalReply, '554');
  assert.equal(r.mails[0]!.raw, 'spam\r\n');
  assert.equal(r.summary.outcome, 'rejected');
});

test('sv_detect-email-received: a greeting without CRLF and a lone 250- line leave the replies one short; the 354 still opens the body', () => {
  // The capture's server: the greeting lacks its CRLF, so its next segment ("250-..." with no final
  // line) joins it into one line, and EHLO, MAIL and the RCPTs are answered by the replies of their
  // successors. A 354 only ever answers DATA (RFC 5321 §4.3.2): the commands still ahead of the
  // DATA lost their replies.
  const r = run([
    ['server', '220 smtp.example.net ESMTP AAAAAAAAA'],
    ['client', 'EHLO Simone\r\n'],
    ['server', '250-smtp001.example.net\r\n'],
    ['client', 'MAIL FROM: <a@example.org>\r\n'],
    ['server', '250 ok\r\n'],
    ['client', 'RCPT TO: <b@example.com>\r\n'],
    ['server', '250 ok\r\n'],
    ['client', 'RCPT TO: <c@example.com>\r\n'],
    ['server', '250 ok\r\n'],
    ['client', 'DATA\r\n'],
    ['server', '354 Start mail input; end with <CRLF>.<CRLF>\r\n'],
    ['client', 'Subject: Test Email\r\n'],
    ['client', 'Received: from client.local by smtp.relay1.com\r\n'],
    ['client', '\r\nHello, this is a test email.\r\n'],
    ['client', '.\r\n'],
    ['server', '250 ok: queued as 12345\r\n'],
    ['client', 'QUIT\r\n'],
    ['server', '221 bye\r\n'],
  ]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['EHLO', 'MAIL', 'RCPT', 'RCPT', 'DATA', 'QUIT']);
  assert.deepEqual(r.mails.map((m) => [m.raw, m.finalReply, m.complete, m.envelope?.mailFrom, m.envelope?.rcptTo]), [
    ['Subject: Test Email\r\nReceived: from client.local by smtp.relay1.com\r\n\r\nHello, this is a test email.\r\n', '250', true, 'a@example.org', ['b@example.com', 'c@example.com']],
  ]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly').map((e) => [e.verb, e.frames]), [['MISSING_REPLY', [11]]]);
  assert.equal(r.summary.outcome, 'delivered');
});

test('zeek_smtp-mail-transactions-invalid: a MAIL refused with "sender already given" keeps the open transaction and its sender', () => {
  const r = run([
    GREETING,
    ['client', 'MAIL FROM:<bob@example.org>\r\n'],
    ['server', '250 OK\r\n'],
    ['client', 'DATA\r\n'],
    ['server', '503 valid RCPT command must precede DATA\r\n'],
    ['client', 'MAIL FROM:<carol@example.org>\r\n'],
    ['server', '503 sender already given\r\n'],
    ['client', 'RCPT TO:<alice@example.org>\r\n'],
    ['server', '250 Accepted\r\n'],
    ['client', 'DATA\r\n'],
    ['server', '354 Enter message\r\n'],
    ['client', 'Hello, Alice\r\n.\r\n'],
    ['server', '250 OK id=1\r\n'],
  ]);
  assert.deepEqual(r.mails.map((m) => [m.envelope?.mailFrom, m.envelope?.rcptTo, m.finalReply]), [['bob@example.org', ['alice@example.org'], '250']]);
});

test('a refused MAIL pipelined behind a finished mail does not bring that mail\'s transaction back', () => {
  const r = run([
    GREETING,
    ['client', 'MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n'],
    ['server', '250 ok\r\n250 ok\r\n354 go\r\n'],
    ['client', 'one\r\n.\r\nMAIL FROM:<bad>\r\nRCPT TO:<c@x>\r\nDATA\r\n'],
    ['server', '250 queued\r\n553 bad sender\r\n250 ok\r\n354 go\r\n'],
    ['client', 'two\r\n.\r\n'],
    ['server', '250 queued\r\n'],
  ]);
  // The RCPT went into the refused MAIL's transaction, so mail two has no envelope; never mail one's.
  assert.deepEqual(r.mails.map((m) => [m.raw, m.envelope?.mailFrom, m.envelope?.rcptTo]), [['one\r\n', 'a@x', ['b@x']], ['two\r\n', undefined, undefined]]);
});

test('a client that sends the body right behind DATA is held until the 354', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n'], ['server', '250 ok\r\n250 ok\r\n354 go\r\n'], ['server', '250 queued\r\n221 bye\r\n']]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['MAIL', 'RCPT', 'DATA', 'QUIT']);
  assert.equal(r.mails[0]?.raw, 'Subject: x\r\n\r\nbody\r\n');
  assert.equal(r.mails[0]?.finalReply, '250');
  assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly'), []);
});

test('one-sided capture: DATA enters the body without a 354; mails have no final reply', () => {
  const r = run([['client', 'EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'], ['client', 'Subject: 1\r\n\r\none\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<e@f>\r\nDATA\r\nSubject: 2\r\n\r\ntwo\r\n.\r\nQUIT\r\n']]);
  assert.deepEqual(r.mails.map((m) => [m.raw, m.finalReply, m.complete, m.envelope?.rcptTo]), [
    ['Subject: 1\r\n\r\none\r\n', undefined, true, ['c@d']],
    ['Subject: 2\r\n\r\ntwo\r\n', undefined, true, ['e@f']],
  ]);
  assert.equal(r.entries.filter((e) => e.kind === 'anomaly').length, 0);
  assert.equal(r.summary.outcome, 'incomplete');
});

test('zeek_mime-header-size-limit and sv_bug-1449-01: a mail\'s oversized header or boundary is an anomaly on the timeline when its data ends', () => {
  const header = `Subject: CVE-CANDIDATE\r\n${' x\r\n'.repeat(20_000)}`;
  const boundary = `Content-Type: multipart/mixed; boundary="${'A'.repeat(296)}"\r\n`;
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'], ['server', '250 ok\r\n250 ok\r\n354 go\r\n'], ['client', `${boundary}${header}\r\nbody\r\n.\r\n`], ['server', '250 ok\r\n']]);
  const anomalies = r.entries.filter((e) => e.kind === 'anomaly');
  assert.deepEqual(anomalies.map((e) => [e.verb, e.dir, e.frames, e.ts]), [['MAIL_HEADER_TOO_LARGE', 'client', [4], 4000], ['MIME_BOUNDARY_TOO_LONG', 'client', [4], 4000]]);
  assert.equal(r.mails.length, 1);
});

test('a client that talks before the greeting (moloch-bof): commands queued, the greeting pairs with none', () => {
  const r = run([
    ['client', 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: bof\r\n\r\nAAAA\r\n.\r\n'],
    ['server', '220 mx ESMTP\r\n250 hello\r\n250 sender ok\r\n250 rcpt ok\r\n354 enter mail\r\n'],
    ['server', '250 accepted\r\n'],
    ['client', 'QUIT\r\n'],
    ['server', '221 closing\r\n'],
  ]);
  const replies = r.entries.filter((e) => e.kind === 'reply');
  assert.deepEqual(replies.map((e) => [e.verb, e.latencyUs]), [['220', undefined], ['250', 1000], ['250', 1000], ['250', 1000], ['354', 1000], ['250', 2000], ['221', 1000]]);
  assert.equal(r.summary.greeting, 'mx ESMTP');
  assert.deepEqual(r.mails.map((m) => [m.raw, m.finalReply, m.complete]), [['Subject: bof\r\n\r\nAAAA\r\n', '250', true]]);
  assert.equal(r.summary.outcome, 'delivered');
  // RFC 5321 §3.1 / §4.3.1: the client waits for the greeting (Postfix's postscreen calls this PREGREET).
  assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly').map((e) => [e.verb, e.dir, e.frames]), [['CLIENT_SPOKE_BEFORE_GREETING', 'client', [2]]]);
});

test('a body read on an assumed 354 that the server then refuses is emitted once, with the refusal', () => {
  const r = run([['client', 'MAIL FROM:<a@b>\r\nDATA\r\nhello\r\n.\r\n'], ['server', '220 mx\r\n250 ok\r\n503 no recipients\r\n']]);
  assert.deepEqual(r.mails.map((m) => [m.raw, m.finalReply]), [['hello\r\n', '503']]);
  assert.equal(r.summary.outcome, 'rejected');
});

test('a gap inside the body: mail incomplete, the terminator still found, final reply kept', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'], ['server', '250 ok\r\n250 ok\r\n354 go\r\n'], ['client', 'part one'], ['gap', 'client', 100], ['client', ' tail\r\n.\r\n'], ['server', '250 ok\r\n']]);
  assert.deepEqual(r.mails.map((m) => [m.raw, m.size, m.complete, m.finalReply]), [['part one tail\r\n', 115, false, '250']]);
  assert.equal(r.entries.find((e) => e.kind === 'data')?.arg, '115 bytes, incomplete');
});

test('a gap in line mode resynchronises at the next line', () => {
  const r = run([GREETING, ['client', 'NOOP\r\nMAIL FR'], ['gap', 'client', 20], ['client', 'OM:<x@y>\r\nQUIT\r\n'], ['server', '250 ok\r\n221 bye\r\n']]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['NOOP', 'QUIT']);
  assert.equal(r.summary.outcome, 'incomplete');
});

test('close in the middle of a body: the mail is emitted incomplete; RST makes it aborted', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'], ['server', '250 ok\r\n250 ok\r\n354 go\r\n'], ['client', 'partial body\r\nmore']], { close: 'rst' });
  assert.deepEqual(r.mails.map((m) => [m.raw, m.complete, m.finalReply]), [['partial body\r\nmore', false, undefined]]);
  assert.equal(r.summary.outcome, 'aborted');
  const eoc = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\n'], ['server', '250 ok\r\n']], { close: 'end-of-capture' });
  assert.equal(eoc.summary.outcome, 'incomplete');
  const plain = run([GREETING, ['client', 'NOOP\r\nQUIT\r\n'], ['server', '250 ok\r\n221 bye\r\n']]);
  assert.equal(plain.summary.outcome, 'no-mail');
});

test('a mail whose final reply never comes is emitted at close, exactly once', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'], ['server', '250 ok\r\n250 ok\r\n354 go\r\n'], ['client', 'x\r\n.\r\n']], { close: 'end-of-capture' });
  assert.deepEqual(r.mails.map((m) => [m.raw, m.complete, m.finalReply]), [['x\r\n', true, undefined]]);
  assert.equal(r.summary.outcome, 'incomplete');
});

test('mail bytes beyond maxMailBytes are counted, not kept, and the mail is truncated', () => {
  const r = run([GREETING, ['client', 'DATA\r\n'], ['server', '354 go\r\n'], ['client', '0123456789\r\n.\r\n'], ['server', '250 ok\r\n']], { limits: { maxMailBytes: 4 } });
  assert.deepEqual(r.mails.map((m) => [m.raw, m.size, m.complete]), [['0123', 12, false]]);
});

test('the data entry lists the body frames, capped by maxFramesPerUnit', () => {
  const steps: Step[] = [GREETING, ['client', 'DATA\r\n'], ['server', '354 go\r\n']];
  for (let i = 0; i < 6; i++) steps.push(['client', `line ${i}\r\n`]);
  steps.push(['client', '.\r\n'], ['server', '250 ok\r\n']);
  const r = run(steps, { limits: { maxFramesPerUnit: 3 } });
  assert.deepEqual(r.entries.find((e) => e.kind === 'data')?.frames, [4, 5, 6]);
  assert.deepEqual(r.mails[0]?.frames, [4, 5, 6]);
});

// ------------------------------------------------------------------ BDAT

test('BDAT: pipelined chunks without waiting, LAST ends the mail; mail = concatenation', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b> BODY=BINARYMIME\r\nRCPT TO:<c@d>\r\nBDAT 5\r\nHello'], ['client', 'BDAT 8 LAST\r\n, world\n'], ['server', '250 ok\r\n250 ok\r\n250 5 octets\r\n250 8 octets, message accepted\r\n'], ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']]);
  assert.deepEqual(r.lines.filter((l) => !l.startsWith('s')), ['c command MAIL FROM:<a@b> BODY=BINARYMIME', 'c command RCPT TO:<c@d>', 'c command BDAT 5', 'c data BDAT 5 bytes', 'c command BDAT 8 LAST', 'c data BDAT 8 bytes', 'c command QUIT ']);
  assert.deepEqual(r.mails.map((m) => [m.command, m.raw, m.size, m.complete, m.finalReply, m.frames, m.envelope?.mailParams]), [['BDAT', 'Hello, world\n', 13, true, '250', [2, 3], ['BODY=BINARYMIME']]]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'reply').map((e) => e.latencyUs), [undefined, 2000, 2000, 2000, 1000, 1000]);
  assert.equal(r.summary.outcome, 'delivered');
});

test('BDAT 0 LAST ends a mail with no further bytes', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 3\r\nabcBDAT 0 LAST\r\n'], ['server', '250 ok\r\n250 ok\r\n250 ok\r\n250 done\r\n']]);
  assert.deepEqual(r.mails.map((m) => [m.raw, m.complete, m.finalReply]), [['abc', true, '250']]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'data').map((e) => e.arg), ['3 bytes', '0 bytes']);
});

for (const [arg, code] of [
  ['', 'BDAT_INVALID_CHUNK_SIZE'],
  ['SCRAMBLE', 'BDAT_INVALID_CHUNK_SIZE'],
  ['1234 SCRAMBLE', 'BDAT_INVALID_CHUNK_SIZE'],
  ['-1', 'BDAT_INVALID_CHUNK_SIZE'],
  ['15555555557777777777', 'BDAT_CHUNK_SIZE_OVERFLOW'],
] as const) {
  test(`BDAT ${JSON.stringify(arg)}: ${code}, no mail, what follows stays commands`, () => {
    const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n'], ['server', '250 ok\r\n250 ok\r\n'], ['client', `BDAT${arg ? ' ' + arg : ''}\r\n`], ['server', '521 5.5.4 Syntax: BDAT count [LAST]\r\n'], ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']]);
    assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly').map((e) => e.verb), [code]);
    assert.equal(r.mails.length, 0);
    assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['MAIL', 'RCPT', 'BDAT', 'QUIT']);
    assert.equal(r.summary.outcome, 'rejected');
  });
}

test('a gap inside a BDAT chunk is subtracted from the chunk; the next command is still read', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nBDAT 10 LAST\r\nabc'], ['gap', 'client', 4], ['client', 'xyzQUIT\r\n'], ['server', '250 ok\r\n250 ok\r\n221 bye\r\n']]);
  assert.deepEqual(r.mails.map((m) => [m.raw, m.size, m.complete, m.finalReply]), [['abcxyz', 10, false, '250']]);
  assert.equal(r.entries.find((e) => e.kind === 'data')?.arg, '6 bytes, 4 lost');
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['MAIL', 'BDAT', 'QUIT']);
});

test('RSET during a BDAT mail drops the transaction: the mail is emitted incomplete', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nBDAT 2\r\nabRSET\r\n'], ['server', '250 ok\r\n250 ok\r\n250 reset\r\n']]);
  assert.deepEqual(r.mails.map((m) => [m.raw, m.complete]), [['ab', false]]);
});

// ------------------------------------------------------------------ STARTTLS, pipelining, limits

test('STARTTLS: after its 220 a tls entry, and nothing after it is parsed', () => {
  const r = run([GREETING, ...EHLO, ['client', 'STARTTLS\r\n'], ['server', '220 2.0.0 Ready to start TLS\r\n'], ['client', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\nMAIL FROM:<x@y>\r\n'], ['server', '\x16\x03\x03\x00\x7a\x02\r\n250 fake\r\n']]);
  assert.deepEqual(r.lines.slice(3), ['c command STARTTLS ', 's reply 220 2.0.0 Ready to start TLS', 's tls STARTTLS STARTTLS accepted; the rest of the session is encrypted']);
  assert.deepEqual(r.entries.at(-1)?.frames, [5]);
  assert.equal(r.summary.outcome, 'encrypted');
  assert.equal(r.summary.encrypted, true);
});

test('STARTTLS accepted, then plaintext from the client (a capture decrypted before it was saved): parsed, with an anomaly', () => {
  const r = run([
    GREETING,
    ...EHLO,
    ['client', 'STARTTLS\r\n'],
    ['server', '220 2.0.0 Ready to start TLS\r\n'],
    ['client', 'EHLO client.example.org\r\n'],
    ['server', '250 mx.example.net\r\n'],
    ['client', 'MAIL FROM:<a@example.org>\r\n'],
    ['server', '250 ok\r\n'],
    ['client', 'RCPT TO:<b@example.net>\r\n'],
    ['server', '250 ok\r\n'],
    ['client', 'DATA\r\n'],
    ['server', '354 go\r\n'],
    ['client', 'Subject: decrypted\r\n\r\nhi\r\n.\r\n'],
    ['server', '250 queued\r\n'],
  ]);
  assert.deepEqual(r.mails.map((m) => m.raw), ['Subject: decrypted\r\n\r\nhi\r\n']);
  assert.ok(r.entries.some((e) => e.kind === 'anomaly' && e.verb === 'STARTTLS_PLAINTEXT'));
  assert.ok(!r.entries.some((e) => e.kind === 'tls'));
  assert.equal(r.summary.encrypted, false);
  assert.equal(r.summary.outcome, 'delivered');
});

test('STARTTLS accepted and the connection ends before the client sends anything: encrypted', () => {
  const r = run([GREETING, ...EHLO, ['client', 'STARTTLS\r\n'], ['server', '220 2.0.0 Ready to start TLS\r\n']]);
  assert.equal(r.summary.encrypted, true);
  assert.equal(r.summary.outcome, 'encrypted');
  assert.equal(r.entries.filter((e) => e.kind === 'tls').length, 1);
});

test('STARTTLS refused (454): the session goes on in clear', () => {
  const r = run([GREETING, ['client', 'STARTTLS\r\n'], ['server', '454 4.7.0 TLS not available\r\n'], ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']]);
  assert.equal(r.entries.filter((e) => e.kind === 'tls').length, 0);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['STARTTLS', 'QUIT']);
  assert.equal(r.summary.encrypted, false);
});

test('one-sided STARTTLS followed by a TLS record is recognised as encrypted', () => {
  const r = run([['client', 'EHLO c\r\nSTARTTLS\r\n'], ['client', '\x16\x03\x01\x00\x05hello']]);
  assert.deepEqual(r.entries.map((e) => e.kind), ['command', 'command', 'tls']);
  assert.equal(r.summary.outcome, 'encrypted');
});

test('PIPELINING: replies are matched FIFO, each latency from its own command', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\n'], ['client', 'RCPT TO:<c@d>\r\n'], ['client', 'RCPT TO:<e@f>\r\nDATA\r\n'], ['server', '250 a\r\n250 b\r\n'], ['server', '451 c\r\n354 d\r\n'], ['client', 'x\r\n.\r\n'], ['server', '250 e\r\n']]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'reply').map((e) => [e.arg, e.latencyUs]), [['mx.example.net ESMTP', undefined], ['a', 3000], ['b', 2000], ['c', 2000], ['d', 2000], ['e', 1000]]);
  assert.deepEqual(r.mails[0]?.envelope, { mailFrom: 'a@b', mailParams: [], rcptTo: ['c@d'] });
});

test('a multi-line reply over several frames: one entry, text joined by \\n, frames united', () => {
  const r = run([GREETING, ['client', 'EHLO c\r\n'], ['server', '250-mx\r\n250-SIZE 1000\r\n250-8BI'], ['server', 'TMIME\r\n250 SMTPUTF8\r\n']]);
  const reply = r.entries.at(-1)!;
  assert.deepEqual([reply.verb, reply.arg, reply.frames, reply.latencyUs, reply.ts], ['250', 'mx\nSIZE 1000\n8BITMIME\nSMTPUTF8', [3, 4], 2000, 4000]);
});

test('a multi-line reply past maxReplyLines keeps the first lines and says so once', () => {
  const r = run([GREETING, ['client', 'EHLO c\r\n'], ['server', '250-a\r\n250-b\r\n250-c\r\n250-d\r\n250 e\r\n']], { limits: { maxReplyLines: 2 } });
  assert.deepEqual(r.lines.slice(2), ['s anomaly REPLY_TOO_MANY_LINES reply 250 has more than 2 lines', 's reply 250 a\nb']);
});

test('a reply with no pending command is UNMATCHED_REPLY', () => {
  const r = run([GREETING, ['server', '250 unsolicited\r\n']]);
  assert.deepEqual(r.lines.slice(1), ['s reply 250 unsolicited', 's anomaly UNMATCHED_REPLY reply 250 with no command waiting']);
});

test('lines past maxLineBytes: COMMAND_LINE_TOO_LONG / REPLY_LINE_TOO_LONG, truncated', () => {
  const r = run([GREETING, ['client', `NOOP ${'x'.repeat(50)}\r\n`], ['server', `250 ${'y'.repeat(50)}\r\n`]], { limits: { maxLineBytes: 32 } });
  assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly').map((e) => [e.verb, e.dir, e.frames]), [['COMMAND_LINE_TOO_LONG', 'client', [2]], ['REPLY_LINE_TOO_LONG', 'server', [3]]]);
  assert.equal(r.entries.find((e) => e.kind === 'command')?.arg, 'x'.repeat(27));
});

test('unknown verbs are commands with an UNKNOWN_COMMAND anomaly, and still take a reply', () => {
  const r = run([GREETING, ['client', 'XYZZY plugh\r\n'], ['server', '502 5.5.2 Error: command not recognized\r\n']]);
  assert.deepEqual(r.lines.slice(1), ['c command XYZZY plugh', 'c anomaly UNKNOWN_COMMAND unknown command "XYZZY"', 's reply 502 5.5.2 Error: command not recognized']);
  assert.equal(r.entries.at(-1)?.latencyUs, 1000);
});

test('RSET, NOOP, VRFY, EXPN, HELP are commands with replies; RSET clears the envelope', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<old@x>\r\nRCPT TO:<o@x>\r\nRSET\r\nNOOP\r\nVRFY bob\r\nEXPN list\r\nHELP\r\nMAIL FROM:<new@x>\r\nRCPT TO:<n@x>\r\nDATA\r\n'], ['server', '250\r\n250\r\n250\r\n250\r\n252 maybe\r\n550 no\r\n214 help\r\n250\r\n250\r\n354\r\n'], ['client', 'm\r\n.\r\n'], ['server', '250\r\n']]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'command').map((e) => e.verb), ['MAIL', 'RCPT', 'RSET', 'NOOP', 'VRFY', 'EXPN', 'HELP', 'MAIL', 'RCPT', 'DATA']);
  assert.deepEqual(r.mails[0]?.envelope, { mailFrom: 'new@x', mailParams: [], rcptTo: ['n@x'] });
  assert.equal(r.entries.filter((e) => e.kind === 'anomaly').length, 0);
});

test('pending commands are bounded by maxPendingCommands', () => {
  const r = run([GREETING, ['client', 'NOOP\r\n'.repeat(5)], ['server', '250 1\r\n250 2\r\n250 3\r\n250 4\r\n']], { limits: { maxPendingCommands: 3 } });
  assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly').map((e) => e.verb), ['TOO_MANY_PENDING_COMMANDS', 'TOO_MANY_PENDING_COMMANDS', 'UNMATCHED_REPLY']);
});

test('a client that goes on without a DATA reply past the hold limit: UNANSWERED_COMMAND, read as body', () => {
  const r = run([GREETING, ['client', 'DATA\r\n'], ['client', 'x'.repeat(40) + '\r\n.\r\n']], { limits: { maxBufferedBytesPerDirection: 16 } });
  assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly').map((e) => e.verb), ['UNANSWERED_COMMAND']);
  assert.deepEqual(r.mails.map((m) => [m.raw.length, m.complete]), [[42, true]]);
});

test('never throws on garbage in either direction', () => {
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let round = 0; round < 50; round++) {
    const a = new SmtpAnalyzer({ entry: () => undefined, mail: () => undefined }, { ...DEFAULT_LIMITS, maxLineBytes: 64 });
    for (let i = 0; i < 40; i++) {
      const words = ['DATA\r\n', 'BDAT 3\r\n', 'BDAT 2 LAST\r\n', 'AUTH LOGIN\r\n', '334 x\r\n', '354 go\r\n', '250 ok\r\n', '.\r\n', 'STARTTLS\r\n', '220 go\r\n', '\0\xff\r', '\n'];
      const s = words[Math.floor(rnd() * words.length)]!;
      const dir: Direction = rnd() < 0.5 ? 'client' : 'server';
      if (rnd() < 0.05) a.gap(dir, Math.floor(rnd() * 10), i);
      else a.data(dir, enc.encode(s), i, i);
    }
    a.close('rst', 100);
    assert.ok(['delivered', 'auth-failed', 'rejected', 'encrypted', 'aborted', 'incomplete', 'no-mail'].includes(a.summary().outcome));
  }
});

// ------------------------------------------------------------------ split invariance

const SPLIT_DIALOGUES: Record<string, Step[]> = {
  plain: PLAIN_DIALOGUE,
  'AUTH LOGIN': [GREETING, ...EHLO, ...AUTH_CASES[3]!.steps, ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']],
  PIPELINING: [GREETING, ...EHLO, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n'], ['server', '250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n'], ['client', 'Subject: p\r\n\r\n..\r\n.x\r\n.\r\nMAIL FROM:<g@h>\r\n'], ['server', '250 queued\r\n250 ok\r\n'], ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']],
  BDAT: [GREETING, ...EHLO, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 7\r\n1\r\n.\r\n2BDAT 3 LAST\r\nend'], ['server', '250 ok\r\n250 ok\r\n250 7\r\n250 done\r\n'], ['client', 'QUIT\r\n'], ['server', '221 bye\r\n']],
  STARTTLS: [GREETING, ...EHLO, ['client', 'STARTTLS\r\n'], ['server', '220 go ahead\r\n'], ['client', '\x16\x03\x01\x00\x10\r\nEHLO x\r\n'], ['server', '\x16\x03\x03\x00\x10\r\n250 x\r\n']],
};

for (const [name, steps] of Object.entries(SPLIT_DIALOGUES)) {
  test(`split invariance (${name}): whole, byte by byte and cut at every offset give the same result`, () => {
    const whole = run(steps);
    assert.ok(whole.entries.length >= 6, 'the dialogue produced entries');
    assert.equal(whole.entries.filter((e) => e.kind === 'anomaly').length, 0);
    const bytewise = run(steps, { split: (b) => [...b].map((x) => Uint8Array.of(x)) });
    assert.deepEqual(bytewise, whole, 'byte by byte');
    steps.forEach((s, si) => {
      if (s[0] === 'gap') return;
      const len = enc.encode(s[1]).length;
      for (let cut = 1; cut < len; cut++) {
        const r = run(steps, { split: (b, i) => (i === si ? [b.subarray(0, cut), b.subarray(cut)] : [b]) });
        assert.deepEqual(r, whole, `step ${si} cut at ${cut}`);
      }
    });
  });
}

// ------------------------------------------------------------------ corpus regressions

test('regression (zeek_smtp-bdat-gap): a command right after a gap that ate a BDAT tail is read; DATA then works', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nBDAT 200\r\n' + 'A'.repeat(100)], ['server', '250 OK\r\n250 OK\r\n'], ['gap', 'client', 1000], ['server', '250 OK\r\n'], ['client', 'DATA\r\n'], ['server', '354 go\r\n'], ['client', 'Subject: Test\r\n\r\nHello!\r\n.\r\n'], ['server', '250 queued\r\n']]);
  assert.deepEqual(r.mails.map((m) => [m.command, m.size, m.complete, m.finalReply, m.raw.length]), [['BDAT', 200, false, undefined, 100], ['DATA', 25, true, '250', 25]]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly').map((e) => e.verb), ['UNMATCHED_REPLY']);
  assert.equal(r.summary.outcome, 'delivered');
});

test('regression (ark_smtp-data-250): an unsolicited 421 at the end is no UNMATCHED_REPLY', () => {
  const r = run([GREETING, ['client', 'NOOP\r\n'], ['server', '250 ok\r\n'], ['server', '421 4.4.2 timeout exceeded\r\n']]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly'), []);
  assert.equal(r.entries.at(-1)?.verb, '421');
});

test('regression (zeek_smtp-multi-addr): Exchange\'s unsolicited "451 4.7.0 Timeout waiting for client input" before it closes is no UNMATCHED_REPLY', () => {
  const r = run([GREETING, ['client', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'], ['server', '250 ok\r\n250 ok\r\n354 go\r\n'], ['client', 'hi\r\n.\r\n'], ['server', '250 queued\r\n'], ['server', '451 4.7.0 Timeout waiting for client input\r\n']]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly'), []);
  assert.deepEqual(r.entries.at(-1), { ts: 6000, dir: 'server', kind: 'reply', verb: '451', arg: '4.7.0 Timeout waiting for client input', frames: [6], latencyUs: undefined });
  assert.equal(r.summary.outcome, 'delivered');
});

test('an unsolicited 2xx / 3xx reply is still an UNMATCHED_REPLY', () => {
  const r = run([GREETING, ['client', 'NOOP\r\n'], ['server', '250 ok\r\n'], ['server', '250 again\r\n']]);
  assert.deepEqual(r.entries.filter((e) => e.kind === 'anomaly').map((e) => e.verb), ['UNMATCHED_REPLY']);
});
