/** The one Setting row (id 1) as `MailModuleSettings`; the gateway reads it to configure agents. */
import type { Database } from '@mailscope/db';
import { DEFAULT_MAIL_SETTINGS } from '@mailscope/shared';
import type { MailModuleSettings } from '@mailscope/shared';

export interface StoredSettings {
  readonly settings: MailModuleSettings;
  /** Null until somebody saved them (the defaults are in use). */
  readonly updatedAt: Date | null;
  readonly updatedBy: string | null;
}

const SELECT = { saveMail: true, saveLocation: true, smtpPorts: true, pop3Ports: true, captureFilter: true, anyPort: true, updatedAt: true, updatedBy: true } as const;

/** The current settings; `DEFAULT_MAIL_SETTINGS` when none were saved. */
export async function readSettings(db: Database): Promise<StoredSettings> {
  const row = await db.prisma.setting.findUnique({ where: { id: 1 }, select: SELECT });
  if (row === null) return { settings: DEFAULT_MAIL_SETTINGS, updatedAt: null, updatedBy: null };
  const { updatedAt, updatedBy, ...settings } = row;
  return { settings, updatedAt, updatedBy };
}

/** Saves validated settings (from `validateMailSettings`). */
export async function writeSettings(db: Database, settings: MailModuleSettings, userId: string): Promise<StoredSettings> {
  const data = {
    saveMail: settings.saveMail,
    saveLocation: settings.saveLocation,
    smtpPorts: [...settings.smtpPorts],
    pop3Ports: [...settings.pop3Ports],
    captureFilter: settings.captureFilter,
    anyPort: settings.anyPort,
    updatedBy: userId,
  };
  const row = await db.prisma.setting.upsert({ where: { id: 1 }, create: { id: 1, ...data }, update: data, select: SELECT });
  const { updatedAt, updatedBy, ...saved } = row;
  return { settings: saved, updatedAt, updatedBy };
}
