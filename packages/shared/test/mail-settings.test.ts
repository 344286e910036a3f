import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAIL_SETTINGS, validateMailSettings } from '../src/mail-settings.ts';

const valid = { ...DEFAULT_MAIL_SETTINGS, smtpPorts: [...DEFAULT_MAIL_SETTINGS.smtpPorts], pop3Ports: [...DEFAULT_MAIL_SETTINGS.pop3Ports] };

function errorsOf(input: unknown): Record<string, string> {
  const r = validateMailSettings(input);
  assert.equal(r.ok, false, 'expected refusal');
  return r.ok ? {} : (r.errors as Record<string, string>);
}

test('defaults: SMTP 25;587, POP3 110, Save Mail off, and they validate', () => {
  assert.deepEqual(DEFAULT_MAIL_SETTINGS.smtpPorts, [25, 587]);
  assert.deepEqual(DEFAULT_MAIL_SETTINGS.pop3Ports, [110]);
  assert.equal(DEFAULT_MAIL_SETTINGS.saveMail, false);
  assert.deepEqual(validateMailSettings(valid), { ok: true, settings: valid });
});

test('port lists may come as text and are normalised to arrays', () => {
  const r = validateMailSettings({ ...valid, smtpPorts: '25; 587;2525', pop3Ports: '110;1110', saveLocation: '  /var/mail  ', captureFilter: ' host 192.0.2.10 ' });
  assert.ok(r.ok);
  assert.deepEqual(r.settings.smtpPorts, [25, 587, 2525]);
  assert.deepEqual(r.settings.pop3Ports, [110, 1110]);
  assert.equal(r.settings.saveLocation, '/var/mail');
  assert.equal(r.settings.captureFilter, 'host 192.0.2.10');
});

test('a port may belong to one protocol only', () => {
  assert.equal(errorsOf({ ...valid, smtpPorts: '25;110', pop3Ports: '110' }).pop3Ports, 'port 110 is also listed as SMTP: a port may belong to one protocol only');
});

test('bad port lists carry the parser message per field', () => {
  const e = errorsOf({ ...valid, smtpPorts: '25;70000', pop3Ports: [110, 110] });
  assert.equal(e.smtpPorts, "'70000' is not a port: ports are 1-65535");
  assert.equal(e.pop3Ports, 'port 110 is listed twice');
  assert.match(errorsOf({ ...valid, smtpPorts: [25.5] }).smtpPorts ?? '', /not a port/);
  assert.match(errorsOf({ ...valid, smtpPorts: 25 }).smtpPorts ?? '', /port list/);
});

test('empty lists: allowed one at a time; both empty needs any-port', () => {
  assert.ok(validateMailSettings({ ...valid, pop3Ports: '' }).ok);
  assert.match(errorsOf({ ...valid, smtpPorts: '', pop3Ports: [] }).smtpPorts ?? '', /nothing would be captured/);
  assert.ok(validateMailSettings({ ...valid, smtpPorts: '', pop3Ports: [], anyPort: true }).ok);
});

test('saveLocation: absolute or null', () => {
  for (const ok of ['/srv/mail', 'C:\\mail', 'D:/mail', '\\\\host\\share\\mail']) {
    const r = validateMailSettings({ ...valid, saveLocation: ok });
    assert.ok(r.ok, ok);
    assert.equal(r.settings.saveLocation, ok);
  }
  const empty = validateMailSettings({ ...valid, saveLocation: '' });
  assert.ok(empty.ok);
  assert.equal(empty.settings.saveLocation, null);
  assert.match(errorsOf({ ...valid, saveLocation: 'mail/out' }).saveLocation ?? '', /not an absolute path/);
  assert.match(errorsOf({ ...valid, saveLocation: '/srv/../etc' }).saveLocation ?? '', /'\.\.'/);
  assert.match(errorsOf({ ...valid, saveLocation: '/srv/ma\u0000il' }).saveLocation ?? '', /NUL/);
  assert.match(errorsOf({ ...valid, saveLocation: 7 }).saveLocation ?? '', /absolute/);
});

test('captureFilter: bounded, no NUL', () => {
  assert.match(errorsOf({ ...valid, captureFilter: 'host 192.0.2.1\u0000' }).captureFilter ?? '', /NUL/);
  assert.match(errorsOf({ ...valid, captureFilter: 'x'.repeat(2049) }).captureFilter ?? '', /too long/);
  assert.ok(validateMailSettings({ ...valid, captureFilter: 'host 192.0.2.1\n and tcp' }).ok);
});

test('types, required and unknown fields', () => {
  assert.equal(errorsOf({ ...valid, saveMail: 'yes' }).saveMail, 'must be true or false');
  assert.equal(errorsOf({ ...valid, anyPort: 1 }).anyPort, 'must be true or false');
  const { captureFilter: _omit, ...missing } = valid;
  assert.equal(errorsOf(missing).captureFilter, 'is required');
  assert.equal(errorsOf({ ...valid, savemail: true }).settings, 'unknown setting: savemail');
  assert.equal(errorsOf(null).settings, 'settings must be an object');
  assert.equal(errorsOf([]).settings, 'settings must be an object');
});
