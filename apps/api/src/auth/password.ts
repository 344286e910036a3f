/**
 * Password hashing with scrypt (node:crypto). Stored form, as schema.prisma documents it:
 * `scrypt$N$r$p$salt-base64$hash-base64`, so the cost can be raised later without breaking old
 * hashes (each carries its own parameters).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';

/** N=2^15, r=8, p=1: OWASP's scrypt recommendation (~32 MiB, ~50 ms here). */
const N = 32768;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** 128 * N * r bytes are needed; node's default maxmem (32 MiB) is exactly that, leave headroom. */
const MAXMEM = 64 * 1024 * 1024;
/** Longest password accepted: scrypt is fine with more, but a 1 MB "password" is an attack. */
export const MAX_PASSWORD_CHARS = 1024;

function derive(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLen, opts, (err, key) => (err === null ? resolve(key) : reject(err)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, { N, r: R, p: P, maxmem: MAXMEM });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `password` matches `stored`; false (never a throw) for a malformed stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0)) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (expected.length === 0) return false;
  try {
    const key = await derive(password, salt, expected.length, { N: n, r, p, maxmem: Math.max(MAXMEM, 256 * n * r) });
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

/**
 * A hash of a password nobody knows, verified when the user name does not exist, so that a login
 * for an unknown user costs as much time as one with a wrong password.
 */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}

/** A random password for the first admin: 18 bytes, 24 base64url characters. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
