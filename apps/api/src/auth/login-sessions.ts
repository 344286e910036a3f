/**
 * Signed-in browsers: the cookie holds a random token, LoginSession only its sha256, so a leaked
 * database does not sign anybody in. Used by the REST preHandlers and by the /ui socket namespace
 * (`authenticateCookieHeader`).
 */
import { fastifyCookie } from '@fastify/cookie';
import type { Database } from '@mailscope/db';
import { hashToken, newToken } from './tokens.ts';

/** Name of the login cookie. */
export const SESSION_COOKIE = 'mailscope_session';
/** A login lasts a working week; logout ends it earlier. */
export const SESSION_TTL_MS = 7 * 24 * 3600_000;

export type UserRole = 'viewer' | 'admin';

/** The signed-in user as requests see it (never the password hash). */
export interface AuthUser {
  readonly id: string;
  readonly username: string;
  readonly role: UserRole;
}

/** Creates a login for `userId`; returns the token to put in the cookie and its expiry. */
export async function createLoginSession(db: Database, userId: string): Promise<{ token: string; expiresAt: Date }> {
  const token = newToken();
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await db.prisma.loginSession.create({ data: { tokenHash: hashToken(token), userId, expiresAt } });
  // Expired rows of anybody are swept here rather than by a timer: logins are rare, rows small.
  await db.prisma.loginSession.deleteMany({ where: { expiresAt: { lt: new Date() } } });
  return { token, expiresAt };
}

/** The user a login token belongs to, or null for an unknown or expired token. */
export async function userForToken(db: Database, token: string | undefined): Promise<AuthUser | null> {
  if (token === undefined || token === '' || token.length > 200) return null;
  const row = await db.prisma.loginSession.findUnique({
    where: { tokenHash: hashToken(token) },
    select: { expiresAt: true, user: { select: { id: true, username: true, role: true } } },
  });
  if (row === null || row.expiresAt.getTime() <= Date.now()) return null;
  return row.user;
}

export async function deleteLoginSession(db: Database, token: string | undefined): Promise<void> {
  if (token === undefined || token === '') return;
  await db.prisma.loginSession.deleteMany({ where: { tokenHash: hashToken(token) } });
}

/**
 * The user signed in by a raw `Cookie` header (e.g. socket.io's handshake headers), or null.
 * Never throws on a malformed header.
 */
export async function authenticateCookieHeader(db: Database, cookieHeader: string | undefined): Promise<AuthUser | null> {
  if (cookieHeader === undefined || cookieHeader === '') return null;
  let token: string | undefined;
  try {
    token = fastifyCookie.parse(cookieHeader)[SESSION_COOKIE];
  } catch {
    return null;
  }
  return userForToken(db, token);
}
