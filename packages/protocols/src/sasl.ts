/**
 * SASL credential decoding shared by SMTP AUTH (RFC 4954) and POP3 AUTH (RFC 5034): Base64 that
 * never throws, and the PLAIN, LOGIN, CRAM-MD5 and XOAUTH2 payload layouts.
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

/** SASL mechanisms whose exchange the analyzers decode. */
export const SASL_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
