import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  POP3_COMMANDS,
  SMTP_COMMANDS,
  SMTP_REPLY_CODES,
  describeCommand,
  describeEnhancedStatus,
  describeSmtpReply,
} from '../src/protocol-reference.ts';

test('the commands a session timeline shows are all described', () => {
  for (const v of ['EHLO', 'HELO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'QUIT', 'STARTTLS']) {
    assert.ok(describeCommand('smtp', v), v);
  }
  for (const v of ['USER', 'PASS', 'APOP', 'STAT', 'LIST', 'RETR', 'DELE', 'TOP', 'UIDL', 'CAPA', 'STLS', 'QUIT']) {
    assert.ok(describeCommand('pop3', v), v);
  }
  assert.match(describeCommand('smtp', 'ehlo')?.rfc ?? '', /RFC 5321/);
  assert.equal(describeCommand('pop3', 'EHLO'), undefined);
  assert.equal(describeCommand('smtp', 'toString'), undefined);
});

test('every entry names an RFC (or a documented source) and has a one-line summary', () => {
  for (const table of [SMTP_COMMANDS, POP3_COMMANDS, SMTP_REPLY_CODES]) {
    for (const [key, e] of Object.entries(table)) {
      assert.ok(e.summary.length > 5 && !e.summary.includes('\n'), key);
      assert.match(e.rfc, /RFC \d+|README/, key);
    }
  }
});

test('reply codes asked for by the UI are listed', () => {
  const wanted = ['250', '251', '334', '354', '421', '450', '451', '452', '454', '500', '501', '502', '503', '504', '530', '534', '535', '550', '551', '552', '553', '554', '555'];
  for (const c of wanted) assert.ok(Object.hasOwn(SMTP_REPLY_CODES, c), c);
  assert.match(describeSmtpReply('535')?.summary ?? '', /credentials invalid/);
});

test('unlisted codes fall back to their class; nonsense is undefined', () => {
  assert.match(describeSmtpReply('299')?.summary ?? '', /Positive completion/);
  assert.match(describeSmtpReply('471')?.summary ?? '', /Transient/);
  assert.equal(describeSmtpReply('600'), undefined);
  assert.equal(describeSmtpReply('25'), undefined);
});

test('enhanced status codes: detail, then subject, then class', () => {
  assert.equal(describeEnhancedStatus('5.1.1')?.summary, 'Permanent failure: Bad destination mailbox address (no such user)');
  assert.equal(describeEnhancedStatus('4.2.2')?.summary, 'Persistent transient failure: Mailbox full');
  assert.equal(describeEnhancedStatus('5.7.8')?.rfc, 'RFC 4954 §6');
  assert.equal(describeEnhancedStatus('2.6.99')?.summary, 'Success: Message content or media status');
  assert.equal(describeEnhancedStatus('5.9.1')?.summary, 'Permanent failure: retrying the same way will fail');
  assert.equal(describeEnhancedStatus('3.1.1'), undefined);
  assert.equal(describeEnhancedStatus('5.1'), undefined);
});
