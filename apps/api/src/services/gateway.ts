/**
 * The contract between the API core (api-server.ts) and the socket gateways (src/socket/index.ts:
 * the /agent gateway, the /ui namespace, uploads). api-server.ts builds the app, creates the socket.io
 * Server on the app's HTTP server, then calls `attachSockets(io, deps)` before listening, so the
 * gateway may still register routes on `deps.app` (under /api, with app.authenticate etc.).
 */
import type { Database } from '@mailscope/db';
import type { FastifyInstance } from 'fastify';
import type { Server } from 'socket.io';
import type { Config } from '../env.ts';
import type { AgentControl } from './agent-control.ts';
import type { AppEvents } from './app-events.ts';

export interface GatewayDeps {
  /** Not ready yet: `app.register(plugin, { prefix: '/api' })` still works. Its `log` is the logger. */
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly config: Config;
  /** 'settings-changed' (push settings to agents), 'capture-changed'. */
  readonly events: AppEvents;
}

export interface Gateway {
  /** What the capture routes call; api-server.ts routes `app.agentControl` to it once attached. */
  readonly agentControl: AgentControl;
  /** Disconnects agents and browsers; called at shutdown before the app and the database close. */
  close(): Promise<void>;
}

/** What src/socket/index.ts exports. */
export type AttachSockets = (io: Server, deps: GatewayDeps) => Promise<Gateway>;

/**
 * An AgentControl that forwards to whatever `set` was given last (the gateway, attached after the
 * app is built); before that, no agent is connected.
 */
export function forwardingAgentControl(initial: AgentControl): AgentControl & { set(target: AgentControl): void } {
  let target = initial;
  return {
    set: (t) => {
      target = t;
    },
    start: (agentId, request) => target.start(agentId, request),
    stop: (captureId) => target.stop(captureId),
    connected: (agentId) => target.connected(agentId),
  };
}
