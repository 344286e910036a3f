/** Random bearer secrets (login cookies, agent tokens) and the only form in which they are stored. */
import { createHash, randomBytes } from 'node:crypto';

/**
 * 32 random bytes, base64url (43 characters), behind a fixed `ms_` prefix: base64url may start
 * with '-', and `mailscope-agent run --token -abc...` is then read as an option, not its value
 * (one token in 64 broke the command line); the prefix also tells a Mailscope secret apart.
 */
export function newToken(): string {
  return `ms_${randomBytes(32).toString('base64url')}`;
}

/** sha256 hex of a token: what LoginSession.tokenHash and Agent.tokenHash hold. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
