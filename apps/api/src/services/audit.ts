/** Accountable actions (ARCHITECTURE.md, Security): one AuditLog row each. */
import type { Database } from '@mailscope/db';

/** Dotted verbs written to AuditLog.action. */
export type AuditAction =
  | 'credential.reveal'
  | 'settings.update'
  | 'user.create'
  | 'user.update'
  | 'user.delete'
  | 'agent.create'
  | 'agent.rotate'
  | 'agent.delete'
  | 'capture.start'
  | 'capture.stop'
  | 'mail.download'
  | 'attachment.download';

export async function audit(db: Database, userId: string | null, action: AuditAction, target: string | null, details: Record<string, string | number | boolean | null> = {}): Promise<void> {
  await db.prisma.auditLog.create({ data: { userId, action, target, details } });
}
