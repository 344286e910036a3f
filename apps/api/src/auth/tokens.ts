/** Random bearer secrets (login cookies, agent tokens) and the only form in which they are stored. */
import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** sha256 hex of a token: what LoginSession.tokenHash and Agent.tokenHash hold. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
