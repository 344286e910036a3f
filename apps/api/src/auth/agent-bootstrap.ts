/**
 * MAILSCOPE_AGENT_TOKEN: the agent named `local` is registered with that token at start, or its
 * token replaced when it differs, so one secret in the environment (what `npm start` keeps in its
 * data folder, what the compose file's `.env` holds) lets the API and its agent meet without
 * anybody creating a token on the dashboard first. Only the token's sha256 is stored, as for any
 * agent; the change is written to the audit log as an action of the system (no user).
 */
import type { Database } from '@mailscope/db';
import { audit } from '../services/audit.ts';
import { hashToken } from './tokens.ts';

export type LocalAgentResult = 'created' | 'token-replaced' | 'unchanged';

export async function ensureLocalAgent(db: Database, name: string, token: string): Promise<LocalAgentResult> {
  const tokenHash = hashToken(token);
  const existing = await db.prisma.agent.findUnique({ where: { name }, select: { id: true, tokenHash: true } });
  if (existing?.tokenHash === tokenHash) return 'unchanged';
  const other = await db.prisma.agent.findUnique({ where: { tokenHash }, select: { name: true } });
  if (other !== null) throw new Error(`MAILSCOPE_AGENT_TOKEN is already the token of agent '${other.name}'`);
  if (existing === null) {
    try {
      const agent = await db.prisma.agent.create({ data: { name, host: '', version: '', tokenHash }, select: { id: true } });
      await audit(db, null, 'agent.create', `agent:${agent.id}`, { name, source: 'MAILSCOPE_AGENT_TOKEN' });
      return 'created';
    } catch (e) {
      // Another API instance starting at the same moment registered it first.
      const now = await db.prisma.agent.findUnique({ where: { name }, select: { tokenHash: true } });
      if (now?.tokenHash === tokenHash) return 'unchanged';
      throw e;
    }
  }
  await db.prisma.agent.update({ where: { id: existing.id }, data: { tokenHash } });
  await audit(db, null, 'agent.rotate', `agent:${existing.id}`, { name, source: 'MAILSCOPE_AGENT_TOKEN' });
  return 'token-replaced';
}
