/** GET /api/settings (any signed-in user), PUT /api/settings (admin). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { formatPortList, validateMailSettings } from '@mailscope/shared';
import { Type } from 'typebox';
import { currentUser } from '../auth/auth-hooks.ts';
import { badRequest } from '../http-errors.ts';
import { readSettings, writeSettings } from '../repositories/settings-repository.ts';
import type { StoredSettings } from '../repositories/settings-repository.ts';
import { audit } from '../services/audit.ts';
import { commonErrors } from '../schemas.ts';

const PortsInput = Type.Union([Type.String({ description: 'a port list such as 25;587' }), Type.Array(Type.Integer())]);

const SettingsResponse = Type.Object({
  settings: Type.Object({
    saveMail: Type.Boolean(),
    saveLocation: Type.Union([Type.String(), Type.Null()]),
    smtpPorts: Type.Array(Type.Integer()),
    pop3Ports: Type.Array(Type.Integer()),
    captureFilter: Type.String(),
    anyPort: Type.Boolean(),
  }),
  /** The port lists as the settings form shows them (`25;587`). */
  text: Type.Object({ smtpPorts: Type.String(), pop3Ports: Type.String() }),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  updatedBy: Type.Union([Type.String(), Type.Null()]),
});

function present(s: StoredSettings) {
  return {
    settings: { ...s.settings, smtpPorts: [...s.settings.smtpPorts], pop3Ports: [...s.settings.pop3Ports] },
    text: { smtpPorts: formatPortList(s.settings.smtpPorts), pop3Ports: formatPortList(s.settings.pop3Ports) },
    updatedAt: s.updatedAt?.toISOString() ?? null,
    updatedBy: s.updatedBy,
  };
}

export const settingsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/settings', {
    preHandler: app.authenticate,
    schema: { tags: ['settings'], summary: 'The mail-module settings', response: { 200: SettingsResponse, 401: commonErrors[401] } },
  }, async () => present(await readSettings(app.db)));

  app.put('/settings', {
    preHandler: app.requireAdmin,
    schema: {
      tags: ['settings'],
      summary: 'Save the mail-module settings (admin); agents get them at once',
      description: 'Every field is required. Port lists are text (`110;1110`) or arrays; a bad list is refused with a message per field.',
      // Loose on purpose: validateMailSettings gives the precise, per-field messages the form shows.
      body: Type.Object({
        saveMail: Type.Boolean(),
        saveLocation: Type.Union([Type.String(), Type.Null()]),
        smtpPorts: PortsInput,
        pop3Ports: PortsInput,
        captureFilter: Type.String(),
        anyPort: Type.Boolean(),
      }),
      response: { 200: SettingsResponse, ...commonErrors },
    },
  }, async (request) => {
    const result = validateMailSettings(request.body);
    if (!result.ok) {
      const fields: Record<string, string> = {};
      for (const [field, message] of Object.entries(result.errors)) if (message !== undefined) fields[field] = message;
      throw badRequest(Object.entries(fields).map(([f, m]) => `${f}: ${m}`).join('; '), { fields });
    }
    const user = currentUser(request);
    const saved = await writeSettings(app.db, result.settings, user.id);
    await audit(app.db, user.id, 'settings.update', 'settings', {
      saveMail: saved.settings.saveMail,
      smtpPorts: formatPortList(saved.settings.smtpPorts),
      pop3Ports: formatPortList(saved.settings.pop3Ports),
      captureFilter: saved.settings.captureFilter,
      anyPort: saved.settings.anyPort,
    });
    try {
      app.events.emit('settings-changed', saved.settings);
    } catch (e) {
      request.log.error({ err: e }, 'settings-changed listener failed');
    }
    return present(saved);
  });
};
