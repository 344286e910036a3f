/**
 * The mail-module settings as the ingest needs them on every batch (Save Mail, save location):
 * read from the Setting row once, then replaced whenever the settings-changed event fires, so a
 * batch costs no settings query.
 */
import type { Database } from '@mailscope/db';
import type { MailModuleSettings } from '@mailscope/shared';
import { DEFAULT_MAIL_SETTINGS } from '@mailscope/shared';

export class MailSettingsCache {
  private value: MailModuleSettings = DEFAULT_MAIL_SETTINGS;

  constructor(private readonly db: Database) {}

  /** Reads the Setting row (id 1); the defaults while there is none. */
  async load(): Promise<MailModuleSettings> {
    const row = await this.db.prisma.setting.findUnique({ where: { id: 1 } });
    this.value = row === null ? DEFAULT_MAIL_SETTINGS : {
      saveMail: row.saveMail,
      saveLocation: row.saveLocation,
      smtpPorts: row.smtpPorts,
      pop3Ports: row.pop3Ports,
      captureFilter: row.captureFilter,
      anyPort: row.anyPort,
    };
    return this.value;
  }

  get current(): MailModuleSettings {
    return this.value;
  }

  set(settings: MailModuleSettings): void {
    this.value = settings;
  }
}
