/**
 * In-process notifications from the REST routes to the socket gateways (agents, /ui). One emitter
 * per app, created by whoever builds the app (server.ts or a test) and handed to both sides.
 * Listeners run synchronously inside the route's request: they must not throw and should only
 * schedule work (a listener error is logged by the route, not sent to the client).
 */
import { EventEmitter } from 'node:events';
import type { MailModuleSettings } from '@mailscope/shared';

export interface AppEventMap {
  /** The mail-module settings were saved (PUT /api/settings); the gateway pushes them to agents. */
  'settings-changed': [settings: MailModuleSettings];
  /** A capture was started or stopped through the API (its row already updated). */
  'capture-changed': [capture: { id: string; status: string; agentId: string | null }];
  /** An agent's token was revoked or rotated: its connection, if any, must be dropped. */
  'agent-revoked': [agentId: string];
}

export class AppEvents extends EventEmitter<AppEventMap> {}
