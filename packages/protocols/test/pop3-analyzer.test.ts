import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pop3Analyzer } from '../src/pop3-analyzer.ts';
import { DEFAULT_LIMITS, type EngineLimits } from '../src/limits.ts';
import type { CloseReason, ExtractedMail, ProtocolSummary, TimelineEntryInput } from '../src/session.ts';

type Dir = 'c' | 's';
/** One step of a dialogue: who sends, what; frame = position + 1, ts = 1000 × frame. */
type Step = readonly [Dir, string] | readonly [Dir, string, 'gap', number];

interface Run {
  entries: TimelineEntryInput[];
  mails: ExtractedMail[];
  summary: ProtocolSummary;
  analyzer: Pop3Analyzer;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Feeds `steps`, cutting each step's bytes with `cut` (all pieces keep the step's frame and ts). */
function run(
  steps: readonly Step[],
  opts: { close?: CloseReason | null; limits?: Partial<EngineLimits>; cut?: (bytes: Uint8Array, step: number) => Uint8Array[] } = {},
): Run {
  const entries: TimelineEntryInput[] = [];
  const mails: ExtractedMail[] = [];
  const analyzer = new Pop3Analyzer({ entry: (e) => entries.push(e), mail: (m) => mails.push(m) }, { ...DEFAULT_LIMITS, ...opts.limits });
  steps.forEach((step, i) => {
    const frame = i + 1;
    const ts = frame * 1000;
    const dir = step[0] === 'c' ? 'client' : 'server';
    if (step[2] === 'gap') {
      analyzer.gap(dir, step[3] ?? 0, ts);
      return;
    }
    const bytes = enc.encode(step[1]);
    for (const piece of opts.cut ? opts.cut(bytes, i) : [bytes]) analyzer.data(dir, piece, frame, ts);
  });
  const close = opts.close === undefined ? 'fin' : opts.close;
  if (close !== null) analyzer.close(close, (steps.length + 1) * 1000);
  return { entries, mails, summary: analyzer.summary(), analyzer };
}

/** `verb arg` of every entry of `kind` (all when omitted), for compact assertions. */
const verbs = (r: Run, kind?: TimelineEntryInput['kind']): string[] =>
  r.entries.filter((e) => kind === undefined || e.kind === kind).map((e) => (e.arg === '' ? e.verb : `${e.verb} ${e.arg}`));
const anomalies = (r: Run): string[] => r.entries.filter((e) => e.kind === 'anomaly').map((e) => e.verb);
const auths = (r: Run) => r.entries.filter((e) => e.kind === 'auth').map((e) => e.auth);
const text = (m: ExtractedMail | undefined): string => dec.decode(m?.raw);

const GREETING: Step = ['s', '+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n'];
const LOGIN: Step[] = [['c', 'USER alice\r\n'], ['s', '+OK\r\n'], ['c', 'PASS s3cr3t pass\r\n'], ['s', '+OK maildrop locked\r\n']];

describe('greeting and USER/PASS', () => {
  test('a +OK greeting is remembered with its APOP timestamp; USER/PASS gives one auth entry', () => {
    const r = run([GREETING, ...LOGIN, ['c', 'QUIT\r\n'], ['s', '+OK bye\r\n']]);
    assert.equal(r.analyzer.apopTimestamp, '<1896.697170952@dbc.mtview.ca.us>');
    assert.deepEqual(r.entries[0], {
      ts: 1000,
      dir: 'server',
      kind: 'reply',
      verb: '+OK',
      arg: 'POP3 server ready <1896.697170952@dbc.mtview.ca.us>',
      frames: [1],
    });
    assert.deepEqual(verbs(r), [
      '+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>',
      'USER alice',
      '+OK',
      'PASS ****',
      '+OK maildrop locked',
      'USER alice',
      'QUIT',
      '+OK bye',
    ]);
    const reply = r.entries[4];
    assert.equal(reply?.latencyUs, 1000);
    assert.deepEqual(reply?.frames, [5]);
    const auth = r.entries[5];
    assert.equal(auth?.kind, 'auth');
    assert.equal(auth?.dir, 'client');
    assert.deepEqual(auth?.frames, [2, 4]);
    assert.deepEqual(auth?.auth, { mechanism: 'USER', user: 'alice', password: 's3cr3t pass', success: true });
    assert.equal(r.analyzer.state, 'UPDATE');
    assert.deepEqual(r.summary, {
      outcome: 'no-mail',
      authUser: 'alice',
      authMechanism: 'USER',
      authSuccess: true,
      encrypted: false,
      mails: 0,
      deleted: [],
      greeting: '+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>',
    });
    for (const e of r.entries) if (e.kind !== 'auth') assert.ok(!e.arg.includes('s3cr3t'), 'password leaked into ' + e.verb);
  });

  test('a -ERR greeting closes the dialogue: no-mail', () => {
    const r = run([['s', '-ERR maildrop busy\r\n']], { close: 'fin' });
    assert.deepEqual(verbs(r), ['-ERR maildrop busy']);
    assert.equal(r.analyzer.state, 'CLOSED');
    assert.equal(r.summary.outcome, 'no-mail');
    assert.equal(r.summary.greeting, '-ERR maildrop busy');
  });

  test('a -ERR to PASS is an auth failure', () => {
    const r = run([GREETING, ['c', 'USER bob\r\n'], ['s', '+OK\r\n'], ['c', 'PASS nope\r\n'], ['s', '-ERR invalid password\r\n'], ['c', 'QUIT\r\n'], ['s', '+OK\r\n']]);
    assert.deepEqual(auths(r), [{ mechanism: 'USER', user: 'bob', password: 'nope', success: false }]);
    assert.equal(r.summary.outcome, 'auth-failed');
    assert.equal(r.summary.authSuccess, false);
    assert.equal(r.analyzer.state, 'CLOSED');
    assert.equal(r.summary.deleted, undefined);
  });

  test('a failed then a successful login is not auth-failed', () => {
    const r = run([GREETING, ['c', 'USER bob\r\n'], ['s', '+OK\r\n'], ['c', 'PASS x\r\n'], ['s', '-ERR no\r\n'], ...LOGIN, ['c', 'QUIT\r\n'], ['s', '+OK\r\n']]);
    assert.deepEqual(auths(r).map((a) => a?.success), [false, true]);
    assert.equal(r.summary.outcome, 'no-mail');
    assert.equal(r.summary.authUser, 'alice');
  });

  test('APOP: user only, digest masked, never a password', () => {
    const r = run([GREETING, ['c', 'APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n'], ['s', '+OK mrose maildrop has 2 messages\r\n']]);
    assert.deepEqual(verbs(r, 'command'), ['APOP mrose ****']);
    assert.deepEqual(auths(r), [{ mechanism: 'APOP', user: 'mrose', success: true }]);
    assert.equal(r.analyzer.state, 'TRANSACTION');
    assert.deepEqual(anomalies(r), []);
  });

  test('APOP after a greeting without timestamp is an anomaly', () => {
    const r = run([['s', '+OK ready\r\n'], ['c', 'APOP mrose c4c9\r\n'], ['s', '-ERR\r\n']]);
    assert.deepEqual(anomalies(r), ['APOP_WITHOUT_TIMESTAMP']);
    assert.equal(r.summary.outcome, 'auth-failed');
  });

  test('lower-case commands are upper-cased', () => {
    const r = run([GREETING, ['c', 'user alice\r\n'], ['s', '+OK\r\n'], ['c', 'pass pw\r\n'], ['s', '+OK\r\n'], ['c', 'retr 1\r\n'], ['s', '+OK\r\nHi\r\n.\r\n']]);
    assert.deepEqual(verbs(r, 'command'), ['USER alice', 'PASS ****', 'RETR 1']);
    assert.equal(r.mails[0]?.messageNumber, 1);
    assert.equal(text(r.mails[0]), 'Hi\r\n');
  });

  test('a capture without greeting: the first server line answers the client', () => {
    const r = run([['c', 'CAPA\r\n'], ['s', '+OK Capability list follows\r\nUSER\r\nSASL PLAIN XOAUTH2\r\n.\r\n'], ['c', 'STAT\r\n'], ['s', '+OK 1 308661\r\n']]);
    assert.deepEqual(verbs(r, 'reply'), ['+OK Capability list follows\nUSER\nSASL PLAIN XOAUTH2', '+OK 1 308661']);
    assert.equal(r.summary.greeting, undefined);
    assert.deepEqual(anomalies(r), []);
  });
});

// The NTLMSSP messages of ark_ntlm_synthetic's POP3 session (50013->110).
const NTLM_NEGOTIATE = 'TlRMTVNTUAABAAAABwIAAgcABwAoAAAACAAIAC8AAAAKAGFKAAAAD1BPUDNET01QT1AzSE9TVA==';
const NTLM_CHALLENGE = 'TlRMTVNTUAACAAAADgAOADgAAAAFAgACASNFZ4mrze8AAAAAAAAAAAQABABGAAAACgBhSgAAAA9QAE8AUAAzAFQARwBUAAAAAAA=';
const NTLM_AUTHENTICATE =
  'TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAA4ADgCIAAAACAAIAJYAAAAQABAAngAAABAAEACuAAAABQIAAgoAYUoAAAAPAAAAAAAAAAAAAAAAAAAAAExMTExMTExMTExMTExMTExMTExMTExMTE5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTlAATwBQADMARABPAE0AbABpAGEAbQBQAE8AUAAzAEgATwBTAFQAS0tLS0tLS0tLS0tLS0tLSw==';

describe('AUTH (RFC 5034)', () => {
  const ok: Step = ['s', '+OK authenticated\r\n'];
  const plain = b64('\0alice\0pw1');
  const cases: { name: string; steps: Step[]; cred: object; commands: string[] }[] = [
    {
      name: 'PLAIN with initial response',
      steps: [['c', `AUTH PLAIN ${plain}\r\n`], ok],
      cred: { mechanism: 'PLAIN', user: 'alice', password: 'pw1', success: true },
      commands: ['AUTH PLAIN ****'],
    },
    {
      name: 'PLAIN without initial response',
      steps: [['c', 'AUTH PLAIN\r\n'], ['s', '+ \r\n'], ['c', `${plain}\r\n`], ok],
      cred: { mechanism: 'PLAIN', user: 'alice', password: 'pw1', success: true },
      commands: ['AUTH PLAIN', 'SASL ****'],
    },
    {
      name: 'LOGIN without initial response',
      steps: [['c', 'auth login\r\n'], ['s', `+ ${b64('Username:')}\r\n`], ['c', `${b64('alice')}\r\n`], ['s', `+ ${b64('Password:')}\r\n`], ['c', `${b64('pw2')}\r\n`], ok],
      cred: { mechanism: 'LOGIN', user: 'alice', password: 'pw2', success: true },
      commands: ['AUTH login', 'SASL ****', 'SASL ****'],
    },
    {
      name: 'LOGIN with initial response',
      steps: [['c', `AUTH LOGIN ${b64('alice')}\r\n`], ['s', `+ ${b64('Password:')}\r\n`], ['c', `${b64('pw3')}\r\n`], ok],
      cred: { mechanism: 'LOGIN', user: 'alice', password: 'pw3', success: true },
      commands: ['AUTH LOGIN ****', 'SASL ****'],
    },
    {
      name: 'CRAM-MD5 (server first)',
      steps: [['c', 'AUTH CRAM-MD5\r\n'], ['s', `+ ${b64('<1896.697170952@postoffice.example.net>')}\r\n`], ['c', `${b64('tim b913a602c7eda7a495b4e6e7334d3890')}\r\n`], ok],
      cred: { mechanism: 'CRAM-MD5', user: 'tim', success: true },
      commands: ['AUTH CRAM-MD5', 'SASL ****'],
    },
    {
      name: 'CRAM-MD5 with a (non-standard) initial response',
      steps: [['c', `AUTH CRAM-MD5 ${b64('tim b913a602c7eda7a495b4e6e7334d3890')}\r\n`], ok],
      cred: { mechanism: 'CRAM-MD5', user: 'tim', success: true },
      commands: ['AUTH CRAM-MD5 ****'],
    },
    {
      name: 'XOAUTH2 with initial response',
      steps: [['c', `AUTH XOAUTH2 ${b64('user=joe\x01auth=Bearer tok123\x01\x01')}\r\n`], ok],
      cred: { mechanism: 'XOAUTH2', user: 'joe', password: 'tok123', success: true },
      commands: ['AUTH XOAUTH2 ****'],
    },
    {
      name: 'XOAUTH2 without initial response',
      steps: [['c', 'AUTH XOAUTH2\r\n'], ['s', '+ \r\n'], ['c', `${b64('user=joe\x01auth=Bearer tok456\x01\x01')}\r\n`], ok],
      cred: { mechanism: 'XOAUTH2', user: 'joe', password: 'tok456', success: true },
      commands: ['AUTH XOAUTH2', 'SASL ****'],
    },
    {
      // ark_ntlm_synthetic's POP3 session (50013->110): NEGOTIATE, CHALLENGE, AUTHENTICATE (user liam).
      name: 'NTLM (ark_ntlm_synthetic): the user comes from the AUTHENTICATE message, the second answer',
      steps: [['c', 'AUTH NTLM\r\n'], ['s', '+ \r\n'], ['c', `${NTLM_NEGOTIATE}\r\n`], ['s', `+ ${NTLM_CHALLENGE}\r\n`], ['c', `${NTLM_AUTHENTICATE}\r\n`], ['s', '+OK Logged in\r\n']],
      cred: { mechanism: 'NTLM', user: 'liam', success: true },
      commands: ['AUTH NTLM', 'SASL ****', 'SASL ****'],
    },
    {
      name: 'NTLM with the NEGOTIATE as initial response',
      steps: [['c', `AUTH NTLM ${NTLM_NEGOTIATE}\r\n`], ['s', `+ ${NTLM_CHALLENGE}\r\n`], ['c', `${NTLM_AUTHENTICATE}\r\n`], ['s', '+OK Logged in\r\n']],
      cred: { mechanism: 'NTLM', user: 'liam', success: true },
      commands: ['AUTH NTLM ****', 'SASL ****'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = run([GREETING, ...c.steps, ['c', 'STAT\r\n'], ['s', '+OK 0 0\r\n']]);
      assert.deepEqual(auths(r), [c.cred]);
      assert.deepEqual(verbs(r, 'command'), [...c.commands, 'STAT']);
      assert.deepEqual(anomalies(r), []);
      assert.equal(r.analyzer.state, 'TRANSACTION');
      assert.equal(r.summary.authSuccess, true);
      const secret = (c.cred as { password?: string }).password;
      if (secret) for (const e of r.entries) if (e.kind !== 'auth') assert.ok(!e.arg.includes(secret));
    });
  }

  test('NTLM: the auth entry names user, domain and workstation', () => {
    const r = run([GREETING, ['c', 'AUTH NTLM\r\n'], ['s', '+ \r\n'], ['c', `${NTLM_NEGOTIATE}\r\n`], ['s', `+ ${NTLM_CHALLENGE}\r\n`], ['c', `${NTLM_AUTHENTICATE}\r\n`], ['s', '-ERR no\r\n']]);
    assert.deepEqual(r.entries.find((e) => e.kind === 'auth')?.arg, 'liam (domain POP3DOM, workstation POP3HOST)');
    assert.deepEqual(auths(r), [{ mechanism: 'NTLM', user: 'liam', success: false }]);
  });

  test('challenges are decoded and timed from the last client line', () => {
    const r = run([GREETING, ['c', 'AUTH LOGIN\r\n'], ['s', `+ ${b64('Username:')}\r\n`], ['c', `${b64('a')}\r\n`], ['s', `+ ${b64('Password:')}\r\n`], ['c', `${b64('b')}\r\n`], ['s', '+OK\r\n']]);
    const replies = r.entries.filter((e) => e.kind === 'reply').slice(1);
    assert.deepEqual(replies.map((e) => [e.verb, e.arg, e.latencyUs, e.frames]), [
      ['+', 'Username:', 1000, [3]],
      ['+', 'Password:', 1000, [5]],
      ['+OK', '', 1000, [7]],
    ]);
    assert.deepEqual(r.entries.find((e) => e.kind === 'auth')?.frames, [2, 4, 6]);
  });

  test('XOAUTH2 failure: error challenge, empty answer, -ERR', () => {
    const r = run([GREETING, ['c', `AUTH XOAUTH2 ${b64('user=joe\x01auth=Bearer bad\x01\x01')}\r\n`], ['s', `+ ${b64('{"status":"401"}')}\r\n`], ['c', '\r\n'], ['s', '-ERR invalid credentials\r\n']]);
    assert.deepEqual(verbs(r).slice(1, 5), ['AUTH XOAUTH2 ****', '+ {"status":"401"}', 'SASL', '-ERR invalid credentials']);
    assert.deepEqual(auths(r), [{ mechanism: 'XOAUTH2', user: 'joe', password: 'bad', success: false }]);
    assert.equal(r.summary.outcome, 'auth-failed');
    assert.deepEqual(anomalies(r), []);
  });

  test('"*" cancels the exchange; the next command is a command again', () => {
    const r = run([GREETING, ['c', 'AUTH CRAM-MD5\r\n'], ['s', `+ ${b64('<1.2@h>')}\r\n`], ['c', '*\r\n'], ['s', '-ERR cancelled\r\n'], ['c', 'USER x\r\n'], ['s', '+OK\r\n']]);
    assert.deepEqual(verbs(r, 'command'), ['AUTH CRAM-MD5', '* authentication cancelled', 'USER x']);
    assert.deepEqual(auths(r), [{ mechanism: 'CRAM-MD5', success: false }]);
  });

  test('an answer that is not Base64 is an anomaly', () => {
    const r = run([GREETING, ['c', 'AUTH PLAIN\r\n'], ['s', '+ \r\n'], ['c', '!!notbase64!!\r\n'], ['s', '-ERR\r\n']]);
    assert.deepEqual(anomalies(r), ['SASL_BAD_BASE64']);
    assert.deepEqual(auths(r), [{ mechanism: 'PLAIN', success: false }]);
  });

  test('AUTH without mechanism lists mechanisms (multi-line) and is not a login attempt', () => {
    const r = run([GREETING, ['c', 'AUTH\r\n'], ['s', '+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n'], ['c', 'AUTH\r\n'], ['s', '-ERR Unrecognized command.\r\n'], ['c', 'NOOP\r\n'], ['s', '+OK\r\n']]);
    assert.deepEqual(verbs(r, 'reply').slice(1), ['+OK \nPLAIN\nLOGIN', '-ERR Unrecognized command.', '+OK']);
    assert.deepEqual(auths(r), []);
    assert.notEqual(r.summary.outcome, 'auth-failed');
    assert.equal(r.analyzer.state, 'AUTHORIZATION');
  });
});

describe('multi-line responses', () => {
  test('CAPA is multi-line; its lines go into the reply arg', () => {
    const r = run([GREETING, ['c', 'CAPA\r\n'], ['s', '+OK Capability list follows\r\nTOP\r\nUSER\r\nPIPELINING\r\n.\r\n'], ['c', 'NOOP\r\n'], ['s', '+OK\r\n']]);
    const capa = r.entries[2];
    assert.equal(capa?.kind, 'reply');
    assert.equal(capa?.arg, 'Capability list follows\nTOP\nUSER\nPIPELINING');
    assert.equal(capa?.latencyUs, 1000);
    assert.deepEqual(verbs(r).slice(3), ['NOOP', '+OK']);
  });

  test('LIST/UIDL without argument are multi-line, with argument single-line', () => {
    const r = run([
      GREETING,
      ...LOGIN,
      ['c', 'LIST\r\n'],
      ['s', '+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n'],
      ['c', 'LIST 2\r\n'],
      ['s', '+OK 2 200\r\n'],
      ['c', 'UIDL\r\n'],
      ['s', '+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n'],
      ['c', 'UIDL 1\r\n'],
      ['s', '+OK 1 whqtswO00WBw418f9t5JxYwZ\r\n'],
      ['c', 'LIST 9\r\n'],
      ['s', '-ERR no such message\r\n'],
      ['c', 'LIST\r\n'],
      ['s', '-ERR not now\r\n'],
      ['c', 'QUIT\r\n'],
      ['s', '+OK\r\n'],
    ]);
    assert.deepEqual(verbs(r, 'reply').slice(3), [
      '+OK 2 messages (320 octets)\n1 120\n2 200',
      '+OK 2 200',
      '+OK \n1 whqtswO00WBw418f9t5JxYwZ\n2 QhdPYR:00WBw1Ph7x7',
      '+OK 1 whqtswO00WBw418f9t5JxYwZ',
      '-ERR no such message',
      '-ERR not now',
      '+OK',
    ]);
    assert.deepEqual(anomalies(r), []);
  });

  test('a listing arriving in several frames: frames and dot-unstuffing', () => {
    const r = run([GREETING, ['c', 'CAPA\r\n'], ['s', '+OK\r\nX-ONE\r\n'], ['s', '..dotted\r\n'], ['s', '.\r\n']]);
    const e = r.entries[2];
    assert.deepEqual(e?.frames, [3, 4, 5]);
    assert.equal(e?.arg, '\nX-ONE\n.dotted');
    assert.equal(e?.ts, 3000);
  });

  test('a long listing keeps maxReplyLines lines and says how many more there were', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `${i + 1} 100\r\n`).join('');
    const r = run([GREETING, ['c', 'LIST\r\n'], ['s', `+OK\r\n${lines}.\r\n`]], { limits: { maxReplyLines: 10 } });
    const arg = r.entries[2]?.arg ?? '';
    assert.equal(arg.split('\n').length, 12);
    assert.ok(arg.endsWith('10 100\n… (40 more lines)'), arg);
  });
});

describe('RETR and TOP', () => {
  test('RETR: the mail is the body after +OK, dot-unstuffed, up to the "." line; last CRLF kept', () => {
    const body = 'From: a@example.com\r\nSubject: hi\r\n\r\n..leading dot\r\n...\r\nend\r\n';
    const r = run([GREETING, ...LOGIN, ['c', 'RETR 2\r\n'], ['s', '+OK 80 octets\r\n'], ['s', body + '.\r\n'], ['c', 'QUIT\r\n'], ['s', '+OK\r\n']]);
    assert.equal(r.mails.length, 1);
    const m = r.mails[0]!;
    assert.equal(text(m), 'From: a@example.com\r\nSubject: hi\r\n\r\n.leading dot\r\n..\r\nend\r\n');
    assert.equal(m.size, m.raw.length);
    assert.deepEqual(
      { index: m.index, direction: m.direction, command: m.command, messageNumber: m.messageNumber, complete: m.complete, finalReply: m.finalReply },
      { index: 1, direction: 'retrieved', command: 'RETR', messageNumber: 2, complete: true, finalReply: '+OK' },
    );
    assert.deepEqual(m.frames, [8]);
    assert.equal(m.startTs, 7000);
    assert.equal(m.endTs, 8000);
    const data = r.entries.find((e) => e.kind === 'data');
    assert.deepEqual(data && [data.verb, data.arg, data.frames, data.ts], ['RETR', `RETR 2: ${m.size} bytes`, [8], 8000]);
    const reply = r.entries.find((e) => e.kind === 'reply' && e.arg === '80 octets');
    assert.equal(reply?.latencyUs, 1000);
    assert.equal(r.summary.outcome, 'retrieved');
    assert.deepEqual(anomalies(r), []);
  });

  test('TOP is a mail with command TOP; RETR -ERR is single-line and no mail', () => {
    const r = run([GREETING, ...LOGIN, ['c', 'RETR 7\r\n'], ['s', '-ERR no such message\r\n'], ['c', 'TOP 1 0\r\n'], ['s', '+OK\r\nSubject: x\r\n\r\n.\r\n'], ['c', 'NOOP\r\n'], ['s', '+OK\r\n']]);
    assert.equal(r.mails.length, 1);
    assert.deepEqual([r.mails[0]?.command, r.mails[0]?.messageNumber, r.mails[0]?.complete, text(r.mails[0])], ['TOP', 1, true, 'Subject: x\r\n\r\n']);
    assert.deepEqual(verbs(r).slice(-2), ['NOOP', '+OK']);
  });

  test('the message-number → mail mapping follows each RETR', () => {
    const r = run([GREETING, ...LOGIN, ['c', 'RETR 3\r\nRETR 1\r\n'], ['s', '+OK\r\nthree\r\n.\r\n+OK\r\none\r\n.\r\n']]);
    assert.deepEqual(r.mails.map((m) => [m.index, m.messageNumber, text(m)]), [
      [1, 3, 'three\r\n'],
      [2, 1, 'one\r\n'],
    ]);
  });

  test('an empty body is an empty mail', () => {
    const r = run([GREETING, ['c', 'RETR 1\r\n'], ['s', '+OK\r\n.\r\n']]);
    assert.equal(r.mails[0]?.raw.length, 0);
    assert.equal(r.mails[0]?.complete, true);
  });

  test('the terminator split at every position across two chunks', () => {
    const wire = '+OK\r\nline one\r\n..x\r\n.\r\n+OK 1 2\r\n';
    for (let cutAt = 0; cutAt <= wire.length; cutAt++) {
      const r = run([GREETING, ['c', 'RETR 1\r\nSTAT\r\n'], ['s', wire]], {
        cut: (bytes, i) => (i === 2 ? [bytes.subarray(0, cutAt), bytes.subarray(cutAt)] : [bytes]),
      });
      assert.equal(text(r.mails[0]), 'line one\r\n.x\r\n', `cut at ${cutAt}`);
      assert.equal(r.mails[0]?.complete, true);
      assert.deepEqual(verbs(r, 'reply').slice(-1), ['+OK 1 2'], `cut at ${cutAt}`);
    }
  });

  test('a mail over maxMailBytes is kept cut, counted whole, incomplete', () => {
    const r = run([GREETING, ['c', 'RETR 1\r\n'], ['s', '+OK\r\n' + 'x'.repeat(98) + '\r\n.\r\n']], { limits: { maxMailBytes: 40 } });
    const m = r.mails[0]!;
    assert.deepEqual([m.raw.length, m.size, m.complete], [40, 100, false]);
    assert.deepEqual(anomalies(r), ['MAIL_TRUNCATED']);
  });
});

describe('pipelining (RFC 2449)', () => {
  test('commands in one chunk, answers in another: FIFO matching and latency', () => {
    const r = run([GREETING, ...LOGIN, ['c', 'STAT\r\nLIST\r\nRETR 1\r\nUIDL 1\r\n'], ['s', '+OK 1 10\r\n+OK\r\n1 10\r\n.\r\n'], ['s', '+OK\r\nbody\r\n.\r\n+OK 1 abc\r\n']]);
    const replies = r.entries.filter((e) => e.kind === 'reply').slice(3);
    assert.deepEqual(replies.map((e) => [e.arg, e.latencyUs, e.frames]), [
      ['1 10', 1000, [7]],
      ['\n1 10', 1000, [7]],
      ['', 2000, [8]],
      ['1 abc', 2000, [8]],
    ]);
    assert.equal(text(r.mails[0]), 'body\r\n');
    assert.deepEqual(anomalies(r), []);
  });

  test('too many unanswered commands: the oldest is dropped, one anomaly, memory bounded', () => {
    const r = run([GREETING, ['c', 'NOOP\r\n'.repeat(50)], ['s', '+OK\r\n'.repeat(50)]], { limits: { maxPendingCommands: 10 } });
    assert.deepEqual(anomalies(r).filter((a) => a === 'TOO_MANY_PENDING_COMMANDS').length, 1);
    // The 10 queued (newest) commands get their answers; the 40 extra answers are unmatched, and
    // ten violations in a row make the analyzer give up.
    assert.equal(r.entries.filter((e) => e.kind === 'reply' && e.latencyUs !== undefined).length, 10);
    assert.equal(r.entries.filter((e) => e.verb === 'UNMATCHED_RESPONSE').length, 10);
    assert.equal(r.analyzer.state, 'NOT_POP3');
  });
});

describe('DELE, RSET, QUIT (UPDATE)', () => {
  test('DELE + QUIT → deleted', () => {
    const r = run([GREETING, ...LOGIN, ['c', 'DELE 3\r\n'], ['s', '+OK\r\n'], ['c', 'DELE 1\r\n'], ['s', '+OK\r\n'], ['c', 'DELE 9\r\n'], ['s', '-ERR no such message\r\n'], ['c', 'QUIT\r\n'], ['s', '+OK\r\n']]);
    assert.deepEqual(r.summary.deleted, [1, 3]);
    assert.equal(r.analyzer.state, 'UPDATE');
  });

  test('DELE + RSET + QUIT → none deleted', () => {
    const r = run([GREETING, ...LOGIN, ['c', 'DELE 1\r\n'], ['s', '+OK\r\n'], ['c', 'RSET\r\n'], ['s', '+OK\r\n'], ['c', 'QUIT\r\n'], ['s', '+OK\r\n']]);
    assert.deepEqual(r.summary.deleted, []);
  });

  test('DELE without a successful QUIT deletes nothing', () => {
    const r = run([GREETING, ...LOGIN, ['c', 'DELE 1\r\n'], ['s', '+OK\r\n'], ['c', 'QUIT\r\n'], ['s', '-ERR some messages not deleted\r\n']]);
    assert.equal(r.summary.deleted, undefined);
    const r2 = run([GREETING, ...LOGIN, ['c', 'DELE 1\r\n'], ['s', '+OK\r\n']], { close: 'rst' });
    assert.equal(r2.summary.deleted, undefined);
    assert.equal(r2.summary.outcome, 'aborted');
  });
});

describe('STLS (RFC 2595)', () => {
  test('after +OK to STLS: a tls entry and nothing parsed', () => {
    const r = run([GREETING, ['c', 'STLS\r\n'], ['s', '+OK Begin TLS\r\n\x16\x03\x01garbage\r\n'], ['c', '\x16\x03\x01hello\r\nUSER x\r\n'], ['s', '+OK\r\n']]);
    assert.deepEqual(verbs(r), ['+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>', 'STLS', '+OK Begin TLS', 'STLS TLS negotiation begins; the rest of the session is encrypted']);
    assert.deepEqual(r.entries[3]?.kind, 'tls');
    assert.deepEqual(r.entries[3]?.frames, [3]);
    assert.equal(r.summary.outcome, 'encrypted');
    assert.equal(r.summary.encrypted, true);
    assert.equal(r.analyzer.state, 'TLS');
  });

  test('-ERR to STLS keeps the session in clear', () => {
    const r = run([GREETING, ['c', 'STLS\r\n'], ['s', '-ERR no TLS\r\n'], ['c', 'NOOP\r\n'], ['s', '+OK\r\n']]);
    assert.equal(r.summary.encrypted, false);
    assert.deepEqual(verbs(r).slice(-2), ['NOOP', '+OK']);
  });

  test('commands pipelined after STLS are flagged (command injection)', () => {
    const r = run([GREETING, ['c', 'STLS\r\nUSER evil\r\n'], ['s', '+OK\r\n']]);
    assert.deepEqual(anomalies(r), ['PIPELINED_AFTER_STLS']);
  });
});

describe('violations', () => {
  test('unknown command: anomaly, still answered', () => {
    const r = run([GREETING, ['c', 'XTND XMIT\r\n'], ['s', '-ERR unknown command\r\n'], ['c', 'NOOP\r\n'], ['s', '+OK\r\n']]);
    assert.deepEqual(verbs(r).slice(1), ['XTND XMIT', 'UNKNOWN_COMMAND unknown command XTND', '-ERR unknown command', 'NOOP', '+OK']);
  });

  test('a response with no pending command', () => {
    const r = run([GREETING, ['s', '+OK extra\r\n']]);
    assert.deepEqual(anomalies(r), ['UNMATCHED_RESPONSE']);
  });

  test('server garbage between a command and its answer (zeek pop3-unknown-commands)', () => {
    const r = run([
      ['s', '+OK example.com POP3-Server\n'],
      ['c', 'USER zeek@zeek.org\n'],
      ['s', '+OK Please enter your password\n'],
      ['c', 'PASS zeek\n'],
      ['s', '+OK mailbox locked and ready\n'],
      ['c', 'STAT\n'],
      ['s', '+\r\r..\r\r..x\r\r\n'],
      ['s', ".\r\r\t\t'\n"],
      ['s', 'x\n'],
      ['s', '+OK 1 236\n'],
      ['c', 'QUIT\n'],
      ['s', '+OK Bye\n'],
    ]);
    assert.deepEqual(anomalies(r), ['BARE_LF', 'BARE_LF', 'UNKNOWN_RESPONSE', 'UNKNOWN_RESPONSE', 'UNKNOWN_RESPONSE']);
    const stat = r.entries.find((e) => e.arg === '1 236');
    assert.equal(stat?.latencyUs, 4000);
    assert.equal(r.summary.authSuccess, true);
    assert.equal(r.analyzer.state, 'UPDATE');
  });

  test('LIST answer without its "." line (zeek pop3-bad-list-retr-crafted)', () => {
    const r = run([
      ['s', '+OK example.com POP3-Server\r\n'],
      ['c', 'LIST\r\n'],
      ['s', 'GARBAGE (and LIST response missing .)\r\n'],
      ['s', '+OK 2 messages (320 octets)\r\n'],
      ['s', '1 120\r\n'],
      ['s', '2 200\r\n'],
      ['c', 'RETR 1\r\n'],
      ['s', '+OK message follows\r\n'],
      ['s', 'Subject: Crafted email\r\n'],
      ['s', '\r\n'],
      ['s', 'The body of the email.\r\n'],
      ['s', '.\r\n'],
      ['c', 'QUIT\r\n'],
      ['s', '+OK bye\r\n'],
    ], { close: 'rst' });
    assert.deepEqual(anomalies(r), ['UNKNOWN_RESPONSE', 'UNTERMINATED_MULTILINE']);
    assert.equal(r.entries.find((e) => e.arg.startsWith('2 messages'))?.arg, '2 messages (320 octets)\n1 120\n2 200 (unterminated)');
    assert.equal(r.mails.length, 1);
    assert.equal(text(r.mails[0]), 'Subject: Crafted email\r\n\r\nThe body of the email.\r\n');
    assert.equal(r.mails[0]?.complete, true);
    assert.deepEqual(verbs(r).slice(-2), ['QUIT', '+OK bye']);
  });

  test('redis on port 110 is given up as NOT_POP3, bounded', () => {
    const steps: Step[] = [['c', '*2\r\n$4\r\nAUTH\r\n$4\r\nzeek\r\n'], ['s', '+OK\r\n']];
    for (let i = 0; i < 50; i++) steps.push(['c', '*1\r\n$4\r\nPING\r\n'], ['s', '+PONG\r\n']);
    const r = run(steps);
    assert.equal(r.analyzer.state, 'NOT_POP3');
    assert.equal(anomalies(r).filter((a) => a === 'NOT_POP3').length, 1);
    assert.ok(r.entries.length < 40, `${r.entries.length} entries`);
    assert.equal(r.summary.mails, 0);
  });

  test('an over-long command line is cut and flagged', () => {
    const r = run([['s', '+OK hi\r\n'], ['c', `USER ${'a'.repeat(100)}\r\n`], ['s', '+OK\r\n']], { limits: { maxLineBytes: 20 } });
    assert.deepEqual(anomalies(r), ['COMMAND_LINE_TOO_LONG']);
    assert.equal(r.entries.find((e) => e.kind === 'command')?.arg, 'a'.repeat(15));
    // The same line carried over several chunks gives the same cut and no spurious BARE_LF.
    for (const at of [3, 10, 30, 104]) {
      const split = run([['s', '+OK hi\r\n'], ['c', `USER ${'a'.repeat(100)}\r\n`], ['s', '+OK\r\n']], {
        limits: { maxLineBytes: 20 },
        cut: (b, i) => (i === 1 ? [b.subarray(0, at), b.subarray(at)] : [b]),
      });
      assert.deepEqual(split.entries, r.entries, `cut at ${at}`);
    }
  });

  test('random bytes never throw and stay bounded', () => {
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let round = 0; round < 200; round++) {
      const entries: TimelineEntryInput[] = [];
      const a = new Pop3Analyzer({ entry: (e) => entries.push(e), mail: () => undefined }, DEFAULT_LIMITS);
      let total = 0;
      for (let i = 0; i < 20; i++) {
        const len = rnd() * 4;
        const bytes = new Uint8Array(len);
        // Bias towards protocol-looking bytes so the state machine gets exercised.
        for (let j = 0; j < len; j++) bytes[j] = rnd() < 64 ? [0x0a, 0x0d, 0x2e, 0x2b, 0x20][rnd() % 5]! : rnd();
        total += len;
        if (rnd() < 20) a.gap(i % 2 ? 'client' : 'server', rnd(), i);
        else a.data(i % 2 ? 'client' : 'server', bytes, i + 1, i);
      }
      a.close('end-of-capture', 100);
      assert.ok(entries.length <= total + 10, `round ${round}: ${entries.length} entries for ${total} bytes`);
      assert.ok(['no-mail', 'incomplete', 'retrieved', 'auth-failed', 'encrypted'].includes(a.summary().outcome));
    }
  });
});

describe('gaps and close', () => {
  test('a gap in line mode resyncs at the next line', () => {
    const r = run([GREETING, ['c', 'STAT\r\n'], ['s', '+OK 1 '], ['s', '', 'gap', 50], ['s', 'rest of line\r\n+OK 2 20\r\n']]);
    assert.deepEqual(anomalies(r), ['CONTENT_GAP']);
    assert.deepEqual(verbs(r, 'reply').slice(1), ['+OK 2 20']);
  });

  test('a gap inside a RETR body: mail incomplete, terminator still found', () => {
    const r = run([GREETING, ['c', 'RETR 1\r\nNOOP\r\n'], ['s', '+OK\r\nfirst\r\n'], ['s', '', 'gap', 100], ['s', 'middle\r\nlast\r\n.\r\n+OK noop\r\n']]);
    const m = r.mails[0]!;
    assert.equal(m.complete, false);
    assert.equal(m.size, 'first\r\n'.length + 100 + 'middle\r\nlast\r\n'.length);
    assert.equal(text(m), 'first\r\nmiddle\r\nlast\r\n');
    assert.deepEqual(verbs(r).slice(-1), ['+OK noop']);
    assert.equal(r.entries.find((e) => e.kind === 'data')?.arg, `RETR 1: ${m.size} bytes (incomplete)`);
  });

  test('close in mid-RETR emits the mail incomplete; outcome retrieved', () => {
    const r = run([GREETING, ['c', 'RETR 4\r\n'], ['s', '+OK\r\npartial\r\nmore']], { close: 'end-of-capture' });
    assert.equal(r.mails.length, 1);
    assert.deepEqual([r.mails[0]?.complete, r.mails[0]?.messageNumber, text(r.mails[0])], [false, 4, 'partial\r\nmore']);
    assert.equal(r.summary.outcome, 'retrieved');
  });

  test('close with PASS unanswered: auth entry without success; incomplete', () => {
    const r = run([GREETING, ['c', 'USER u\r\n'], ['s', '+OK\r\n'], ['c', 'PASS p\r\n']], { close: 'end-of-capture' });
    assert.deepEqual(auths(r), [{ mechanism: 'USER', user: 'u', password: 'p' }]);
    assert.equal(r.summary.outcome, 'incomplete');
    assert.equal(r.summary.authSuccess, undefined);
  });

  test('outcomes by close reason', () => {
    const base: Step[] = [GREETING, ...LOGIN, ['c', 'STAT\r\n'], ['s', '+OK 0 0\r\n']];
    assert.equal(run(base, { close: 'rst' }).summary.outcome, 'aborted');
    assert.equal(run(base, { close: 'end-of-capture' }).summary.outcome, 'incomplete');
    assert.equal(run(base, { close: 'timeout' }).summary.outcome, 'incomplete');
    assert.equal(run(base, { close: null }).summary.outcome, 'incomplete');
    assert.equal(run(base, { close: 'fin' }).summary.outcome, 'no-mail');
    assert.equal(run([...base, ['c', 'STAT\r\n']], { close: 'fin' }).summary.outcome, 'incomplete');
    assert.equal(run([...base, ['c', 'QUIT\r\n'], ['s', '+OK\r\n']], { close: 'rst' }).summary.outcome, 'no-mail');
  });

  test('a last line without CRLF is read at FIN', () => {
    const r = run([GREETING, ['c', 'QUIT\r\n'], ['s', '+OK bye']], { close: 'fin' });
    assert.deepEqual(verbs(r).slice(-1), ['+OK bye']);
    assert.equal(r.summary.outcome, 'no-mail');
  });
});

describe('split invariance', () => {
  const dialogues: Record<string, Step[]> = {
    full: [
      GREETING,
      ['c', 'CAPA\r\n'],
      ['s', '+OK\r\nTOP\r\nPIPELINING\r\nSASL PLAIN LOGIN\r\n.\r\n'],
      ['c', 'AUTH LOGIN\r\n'],
      ['s', `+ ${b64('Username:')}\r\n`],
      ['c', `${b64('alice')}\r\n`],
      ['s', `+ ${b64('Password:')}\r\n`],
      ['c', `${b64('pw')}\r\n`],
      ['s', '+OK\r\n'],
      ['c', 'LIST\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\n'],
      ['s', '+OK 2 messages\r\n1 40\r\n2 30\r\n.\r\n+OK\r\nSubject: a\r\n\r\n..dot\r\nx\r\n.\r\n+OK\r\nSubject: b\r\n\r\nl1\r\n.\r\n+OK\r\n'],
      ['c', 'QUIT\r\n'],
      ['s', '+OK bye\r\n'],
    ],
    userpass: [GREETING, ...LOGIN, ['c', 'retr 1\r\n'], ['s', '+OK\r\n.\r\n'], ['c', 'bogus\r\n'], ['s', '-ERR\r\n'], ['c', 'STLS\r\n'], ['s', '+OK\r\n\x16\x03']],
    crafted: [['s', '+OK x\r\n'], ['c', 'LIST\r\n'], ['s', 'GARBAGE\r\n+OK 2\r\n1 1\r\n'], ['c', 'RETR 1\r\n'], ['s', '+OK\r\nabc\r\n.\r\n']],
  };
  const normalize = (r: Run) => ({
    entries: r.entries,
    mails: r.mails.map((m) => ({ ...m, raw: Array.from(m.raw) })),
    summary: r.summary,
  });
  for (const [name, steps] of Object.entries(dialogues)) {
    test(`${name}: whole, byte by byte, and cut at every offset give the same result`, () => {
      const whole = normalize(run(steps));
      assert.ok(whole.entries.length > 5);
      const bytewise = normalize(run(steps, { cut: (b) => Array.from(b, (_, i) => b.subarray(i, i + 1)) }));
      assert.deepEqual(bytewise, whole);
      const sizes = steps.map((s) => enc.encode(s[1]).length);
      const total = sizes.reduce((a, b) => a + b, 0);
      for (let offset = 0; offset < total; offset++) {
        let o = offset;
        const cutStep = sizes.findIndex((n) => (o < n ? true : ((o -= n), false)));
        const r = normalize(run(steps, { cut: (b, i) => (i === cutStep ? [b.subarray(0, o), b.subarray(o)] : [b]) }));
        assert.deepEqual(r, whole, `cut at offset ${offset}`);
      }
    });
  }
});

test('a retrieved mail with a multipart boundary past 70 characters gets MIME_BOUNDARY_TOO_LONG after its data entry', () => {
  const mail = `Content-Type: multipart/mixed; boundary="${'A'.repeat(296)}"\r\n\r\nbody\r\n`;
  const r = run([GREETING, ...LOGIN, ['c', 'RETR 1\r\n'], ['s', `+OK\r\n${mail}.\r\n`]]);
  assert.deepEqual(anomalies(r), ['MIME_BOUNDARY_TOO_LONG']);
  const i = r.entries.findIndex((e) => e.kind === 'anomaly');
  assert.equal(r.entries[i - 1]?.kind, 'data');
  assert.equal(r.mails.length, 1);
});
