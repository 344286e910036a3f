import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64, decodeBase64Text, parseCramMd5, parseNtlm, parseNtlmAuthenticate, parsePlain, parseXoauth2 } from '../src/sasl.ts';

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

// ------------------------------------------------------------------ NTLM (MS-NLMP §2.2.1.3)

/** An NTLMSSP AUTHENTICATE message with the given fields (payload after a 64-byte fixed part, or 52 without flags). */
function ntlmAuthenticate(o: { domain: Uint8Array; user: Uint8Array; workstation: Uint8Array; flags?: number }): Uint8Array {
  const fixed = o.flags === undefined ? 52 : 64;
  const lm = new Uint8Array(24).fill(0x4c);
  const nt = new Uint8Array(24).fill(0x4e);
  const payload = [lm, nt, o.domain, o.user, o.workstation];
  const total = fixed + payload.reduce((n, p) => n + p.length, 0);
  const msg = new Uint8Array(total);
  const dv = new DataView(msg.buffer);
  msg.set(new TextEncoder().encode('NTLMSSP\0'), 0);
  dv.setUint32(8, 3, true);
  let off = fixed;
  payload.forEach((p, i) => {
    dv.setUint16(12 + i * 8, p.length, true);
    dv.setUint16(14 + i * 8, p.length, true);
    dv.setUint32(16 + i * 8, off, true);
    msg.set(p, off);
    off += p.length;
  });
  if (o.flags !== undefined) dv.setUint32(60, o.flags, true);
  return msg;
}
const utf16 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf16le'));
const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

test('NTLM AUTHENTICATE: user, domain and workstation in UTF-16LE when NEGOTIATE_UNICODE is set', () => {
  const msg = ntlmAuthenticate({ domain: utf16('DOMÄIN'), user: utf16('jöck'), workstation: utf16('WS1'), flags: 0xa2088205 });
  assert.deepEqual(parseNtlmAuthenticate(msg), { user: 'jöck', domain: 'DOMÄIN', workstation: 'WS1' });
});

test('NTLM AUTHENTICATE: OEM (Latin-1) strings when NEGOTIATE_UNICODE is clear', () => {
  const msg = ntlmAuthenticate({ domain: latin1('DOM'), user: latin1('jäck'), workstation: latin1('WS'), flags: 0x00000202 });
  assert.deepEqual(parseNtlmAuthenticate(msg), { user: 'jäck', domain: 'DOM', workstation: 'WS' });
});

test('NTLM AUTHENTICATE without the flags field (old 52-byte layout): UTF-16LE recognised by its zero high bytes', () => {
  assert.deepEqual(parseNtlmAuthenticate(ntlmAuthenticate({ domain: utf16('D'), user: utf16('bob'), workstation: utf16('W') })), { user: 'bob', domain: 'D', workstation: 'W' });
  assert.deepEqual(parseNtlmAuthenticate(ntlmAuthenticate({ domain: latin1('D'), user: latin1('bob'), workstation: latin1('W') })), { user: 'bob', domain: 'D', workstation: 'W' });
});

test('NTLM AUTHENTICATE from ark_ntlm_synthetic (SMTP 50011->25): user jack, domain SMTPDOM', () => {
  const b64 =
    'TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAA4ADgCIAAAACAAIAJYAAAAQABAAngAAABAAEACuAAAABQIAAgoAYUoAAAAPAAAAAAAAAAAAAAAAAAAAAExMTExMTExMTExMTExMTExMTExMTExMTE5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTlMATQBUAFAARABPAE0AagBhAGMAawBTAE0AVABQAEgATwBTAFQAS0tLS0tLS0tLS0tLS0tLSw==';
  assert.deepEqual(parseNtlmAuthenticate(decodeBase64(b64)!), { user: 'jack', domain: 'SMTPDOM', workstation: 'SMTPHOST' });
});

test('NTLM: NEGOTIATE (type 1) and CHALLENGE (type 2) messages carry no credential', () => {
  assert.equal(parseNtlmAuthenticate(decodeBase64('TlRMTVNTUAABAAAABwIAAgcABwAoAAAACAAIAC8AAAAKAGFKAAAAD1NNVFBET01TTVRQSE9TVA==')!), undefined);
  assert.equal(parseNtlmAuthenticate(decodeBase64('TlRMTVNTUAACAAAADgAOADgAAAAFAgACASNFZ4mrze8AAAAAAAAAAAQABABGAAAACgBhSgAAAA9TAE0AVABQAFQARwBUAAAAAAA=')!), undefined);
});

test('NTLM: truncated, out-of-bounds or foreign messages give undefined, never a throw', () => {
  const good = ntlmAuthenticate({ domain: utf16('D'), user: utf16('bob'), workstation: utf16('W'), flags: 1 });
  for (let n = 0; n < good.length; n++) {
    const r = parseNtlmAuthenticate(good.subarray(0, n));
    // A cut that only loses the tail of the workstation name still has a user: either way, no throw.
    if (r !== undefined) assert.equal(r.user, 'bob');
  }
  const bad = good.slice();
  new DataView(bad.buffer).setUint32(16 + 3 * 8, 0xfffffff0, true);
  assert.equal(parseNtlmAuthenticate(bad), undefined);
  const huge = good.slice();
  new DataView(huge.buffer).setUint16(12 + 3 * 8, 0xffff, true);
  assert.equal(parseNtlmAuthenticate(huge), undefined);
  assert.equal(parseNtlmAuthenticate(new TextEncoder().encode('alice')), undefined);
  assert.equal(parseNtlmAuthenticate(new Uint8Array(0)), undefined);
  // Odd-length UTF-16 user: the last lone byte is dropped, not a throw.
  const odd = ntlmAuthenticate({ domain: utf16('D'), user: new Uint8Array([0x62, 0, 0x6f]), workstation: utf16('W'), flags: 1 });
  assert.equal(parseNtlmAuthenticate(odd)?.user, 'b\ufffd');
});

test('NTLM: the credential is the first AUTHENTICATE among the SASL answers (anonymous: no user)', () => {
  const type1 = decodeBase64('TlRMTVNTUAABAAAABwIAAgcABwAoAAAACAAIAC8AAAAKAGFKAAAAD1NNVFBET01TTVRQSE9TVA==')!;
  const type3 = ntlmAuthenticate({ domain: utf16('DOM'), user: utf16('liam'), workstation: utf16('WS'), flags: 1 });
  assert.deepEqual(parseNtlm([type1, undefined, type3]), { user: 'liam', domain: 'DOM', workstation: 'WS' });
  assert.equal(parseNtlm([type1]), undefined);
  const anonymous = ntlmAuthenticate({ domain: new Uint8Array(0), user: new Uint8Array(0), workstation: utf16('WS'), flags: 1 });
  assert.deepEqual(parseNtlm([anonymous]), { workstation: 'WS' });
});
