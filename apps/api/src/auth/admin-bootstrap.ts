/** First run: with no user at all, an admin is created so somebody can sign in. */
import type { Database } from '@mailscope/db';
import { generatePassword, hashPassword } from './password.ts';

export const FIRST_ADMIN_USERNAME = 'admin';

/**
 * Creates user `admin` when the User table is empty, with `password` or a generated one. Returns
 * the generated password (to print once) or null when nothing was created or the password was given.
 */
export async function ensureFirstAdmin(db: Database, password: string | undefined): Promise<{ created: boolean; generatedPassword: string | null }> {
  if ((await db.prisma.user.count()) > 0) return { created: false, generatedPassword: null };
  const chosen = password ?? generatePassword();
  try {
    await db.prisma.user.create({ data: { username: FIRST_ADMIN_USERNAME, passwordHash: await hashPassword(chosen), role: 'admin' } });
  } catch (e) {
    // Another instance starting at the same moment created it first.
    if ((await db.prisma.user.count()) > 0) return { created: false, generatedPassword: null };
    throw e;
  }
  return { created: true, generatedPassword: password === undefined ? chosen : null };
}
