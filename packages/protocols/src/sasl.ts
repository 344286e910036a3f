/**
 * SASL credential decoding shared by SMTP AUTH (RFC 4954) and POP3 AUTH (RFC 5034): Base64 that
 * never throws, and the PLAIN, LOGIN, CRAM-MD5, XOAUTH2 and NTLM payload layouts.
 */

const B64 = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
  B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
}
B64['-'.charCodeAt(0)] = 62;
B64['_'.charCodeAt(0)] = 63;

/**
 * Decodes Base64 (standard or URL alphabet, padding optional, whitespace ignored).
 * Returns undefined when the text holds anything else: the caller records an anomaly.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/[\s]+/g, '').replace(/=+$/, '');
  if (clean.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = B64[clean.charCodeAt(i) & 0xff];
    if (v === undefined || v < 0 || clean.charCodeAt(i) > 0xff) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Decodes Base64 to text (UTF-8, invalid sequences replaced); undefined when not Base64. */
export function decodeBase64Text(text: string): string | undefined {
  const bytes = decodeBase64(text);
  return bytes === undefined ? undefined : utf8.decode(bytes);
}

export interface SaslCredential {
  readonly user?: string;
  readonly password?: string;
  /** PLAIN: the authorization identity when it differs from the user. */
  readonly authzid?: string;
  /** NTLM: the user's domain (Arkime's `ntlm.domain`). */
  readonly domain?: string;
  /** NTLM: the client's host name (Arkime's `ntlm.host`). */
  readonly workstation?: string;
}

/** RFC 4616: `[authzid] NUL authcid NUL passwd`. */
export function parsePlain(decoded: string): SaslCredential | undefined {
  const parts = decoded.split('\0');
  if (parts.length !== 3) return undefined;
  const [authzid, user, password] = parts as [string, string, string];
  return authzid ? { user, password, authzid } : { user, password };
}

/** CRAM-MD5 (RFC 2195) response: `user SP hex-digest`. The digest is not a password. */
export function parseCramMd5(decoded: string): SaslCredential | undefined {
  const sp = decoded.lastIndexOf(' ');
  if (sp <= 0) return undefined;
  return { user: decoded.slice(0, sp) };
}

/** XOAUTH2: `user=<user>^Aauth=Bearer <token>^A^A`. The token stands in for the password. */
export function parseXoauth2(decoded: string): SaslCredential | undefined {
  let user: string | undefined;
  let password: string | undefined;
  for (const field of decoded.split('\x01')) {
    if (field.startsWith('user=')) user = field.slice(5);
    else if (field.startsWith('auth=')) password = field.slice(5).replace(/^Bearer\s+/i, '');
  }
  if (user === undefined && password === undefined) return undefined;
  return { user, password };
}

/** What an NTLMSSP AUTHENTICATE message names; strings may be empty (anonymous authentication). */
export interface NtlmAuthenticate {
  readonly user: string;
  readonly domain: string;
  readonly workstation: string;
}

const NTLMSSP_SIGNATURE = [0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00] as const;
/** MS-NLMP §2.2.2.5 flag A: strings are UTF-16LE; without it they are in the OEM code page. */
const NTLMSSP_NEGOTIATE_UNICODE = 0x00000001;
/** MS-NLMP §2.2.1.3: signature, type, five security buffers (LM, NT, domain, user, workstation). */
const NTLM_AUTHENTICATE_MIN = 52;
/** ... then EncryptedRandomSessionKey and NegotiateFlags; NTLMv1-era clients stop at 52 bytes. */
const NTLM_FLAGS_END = 64;
const utf16le = new TextDecoder('utf-16le', { fatal: false });

/**
 * Decodes an NTLMSSP AUTHENTICATE (type 3) message (MS-NLMP §2.2.1.3): user, domain and workstation
 * names, UTF-16LE when NEGOTIATE_UNICODE is set, else OEM (read as Latin-1). The message carries a
 * challenge response (a hash), never a password. Returns undefined for any other message (NEGOTIATE,
 * CHALLENGE, not NTLMSSP) and when a name lies outside the message; never throws.
 *
 * A message whose payload starts before byte 64 has no NegotiateFlags field (the 52-byte layout of
 * old clients); its strings are then taken for UTF-16LE when every second byte of the user name is
 * zero, as ASCII names in UTF-16LE are.
 */
export function parseNtlmAuthenticate(msg: Uint8Array): NtlmAuthenticate | undefined {
  if (msg.length < NTLM_AUTHENTICATE_MIN) return undefined;
  for (let i = 0; i < NTLMSSP_SIGNATURE.length; i++) if (msg[i] !== NTLMSSP_SIGNATURE[i]) return undefined;
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  if (dv.getUint32(8, true) !== 3) return undefined;
  let payloadStart = msg.length;
  const field = (at: number): Uint8Array | undefined => {
    const len = dv.getUint16(at, true);
    const off = dv.getUint32(at + 4, true);
    if (off > msg.length || len > msg.length - off) return undefined;
    if (len > 0 && off < payloadStart) payloadStart = off;
    return msg.subarray(off, off + len);
  };
  const buffers = [12, 20, 28, 36, 44].map(field);
  const [, , domain, user, workstation] = buffers;
  if (domain === undefined || user === undefined || workstation === undefined) return undefined;
  let unicode: boolean;
  if (payloadStart >= NTLM_FLAGS_END && msg.length >= NTLM_FLAGS_END) {
    unicode = (dv.getUint32(60, true) & NTLMSSP_NEGOTIATE_UNICODE) !== 0;
  } else {
    unicode = user.length > 0 && user.length % 2 === 0 && user.every((b, i) => i % 2 === 0 || b === 0);
  }
  const text = (b: Uint8Array): string => (unicode ? utf16le.decode(b) : latin1(b));
  return { user: text(user), domain: text(domain), workstation: text(workstation) };
}

/**
 * The credential of an NTLM exchange: the first AUTHENTICATE message among the client's decoded
 * SASL answers (the second answer after AUTH NTLM, the first when the NEGOTIATE went in the AUTH
 * line). Empty names are left out; undefined when no answer is an AUTHENTICATE message.
 */
export function parseNtlm(answers: readonly (Uint8Array | undefined)[]): SaslCredential | undefined {
  for (const a of answers) {
    const m = a === undefined ? undefined : parseNtlmAuthenticate(a);
    if (m === undefined) continue;
    return {
      ...(m.user !== '' ? { user: m.user } : {}),
      ...(m.domain !== '' ? { domain: m.domain } : {}),
      ...(m.workstation !== '' ? { workstation: m.workstation } : {}),
    };
  }
  return undefined;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** SASL mechanisms whose exchange the analyzers decode. */
export const SASL_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2', 'NTLM'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
