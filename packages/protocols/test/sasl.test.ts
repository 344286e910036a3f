import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64, decodeBase64Text, parseCramMd5, parsePlain, parseXoauth2 } from '../src/sasl.ts';

test('decodeBase64 decodes standard Base64 with and without padding', () => {
  assert.equal(decodeBase64Text('YWxpY2U='), 'alice');
  assert.equal(decodeBase64Text('YWxpY2U'), 'alice');
  assert.equal(decodeBase64Text('c2VjcmV0'), 'secret');
  assert.equal(decodeBase64Text(''), '');
});

test('decodeBase64 accepts the URL alphabet and whitespace', () => {
  // 0xfb 0xff 0xfe is "+//+" in the standard alphabet and "-__-" in the URL one.
  assert.deepEqual([...decodeBase64('-__-')!], [0xfb, 0xff, 0xfe]);
  assert.deepEqual([...decodeBase64('+//+')!], [0xfb, 0xff, 0xfe]);
  assert.equal(decodeBase64Text('YWxp\r\n Y2U='), 'alice');
});

test('invalid Base64 gives undefined, never a throw', () => {
  for (const bad of ['abc!', 'YW=xp', 'A', 'YWxpY2U=x', 'é', 'dGVzdA==\0', 'Zm9v\u0100']) {
    assert.equal(decodeBase64(bad), undefined, JSON.stringify(bad));
  }
});

test('PLAIN: with and without authzid; wrong field count is undefined', () => {
  assert.deepEqual(parsePlain('\0alice\0secret'), { user: 'alice', password: 'secret' });
  assert.deepEqual(parsePlain('admin\0alice\0secret'), { user: 'alice', password: 'secret', authzid: 'admin' });
  assert.equal(parsePlain('alice:secret'), undefined);
  assert.equal(parsePlain('a\0b\0c\0d'), undefined);
});

test('CRAM-MD5: the user is everything before the last space; the digest is not kept', () => {
  assert.deepEqual(parseCramMd5('tim b913a602c7eda7a495b4e6e7334d3890'), { user: 'tim' });
  assert.deepEqual(parseCramMd5('john smith 0123abcd'), { user: 'john smith' });
  assert.equal(parseCramMd5('nodigest'), undefined);
});

test('XOAUTH2: user and bearer token', () => {
  assert.deepEqual(parseXoauth2('user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmT\x01\x01'), {
    user: 'someuser@example.com',
    password: 'ya29.vF9dft4qmT',
  });
  assert.equal(parseXoauth2('{"status":"401"}'), undefined);
});

test('a Base64 XOAUTH2 initial response decodes end to end', () => {
  const b64 = 'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==';
  const c = parseXoauth2(decodeBase64Text(b64)!);
  assert.equal(c?.user, 'someuser@example.com');
  assert.equal(c?.password, 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg');
});
