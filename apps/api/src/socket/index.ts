/**
 * The socket gateways and uploads, attached by api-server.ts (contract: services/gateway.ts):
 * `/agent` (AgentGateway, also the app's AgentControl), `/ui` (UiGateway, the broadcaster of live
 * updates), the ingest service both feed, and the upload routes under /api.
 */
import { join } from 'node:path';
import { AGENT_PROTOCOL_LIMITS } from '@mailscope/shared';
import type { Server } from 'socket.io';
import { authenticateCookieHeader } from '../auth/login-sessions.ts';
import { IngestService } from '../ingest/ingest-service.ts';
import { MailSettingsCache } from '../ingest/settings-cache.ts';
import type { Gateway, GatewayDeps } from '../services/gateway.ts';
import { uploadRoutes } from '../uploads/upload-routes.ts';
import { UploadService } from '../uploads/upload-service.ts';
import { AgentGateway } from './agent-gateway.ts';
import type { AgentNamespace } from './agent-gateway.ts';
import { UiGateway } from './ui-gateway.ts';
import type { UiNamespace } from './ui-gateway.ts';

/**
 * Largest socket.io message: one of an agent batch's binary parts (each at most
 * AGENT_PROTOCOL_LIMITS.maxBatchBytes, a block plus its 12-byte header), with room for the framing.
 * api-server.ts passes it as `maxHttpBufferSize`.
 */
export const SOCKET_MAX_MESSAGE_BYTES = AGENT_PROTOCOL_LIMITS.maxBatchBytes + 1024;

export interface AttachedGateway extends Gateway {
  readonly agents: AgentGateway;
  readonly ui: UiGateway;
  readonly ingest: IngestService;
  readonly uploads: UploadService;
}

export interface AttachOptions {
  /** Agent command ack timeout (ms); default 10 s. */
  readonly commandTimeoutMs?: number;
  /** Stats tick period on /ui (ms); default 1 s. */
  readonly tickMs?: number;
  /**
   * `io` has the cluster adapter (MAILSCOPE_CLUSTER, socket/cluster.ts): the /agent gateway reaches
   * agents connected to the other instances. /ui needs nothing more: its broadcasts go through the
   * adapter to every instance's browsers. Default false.
   */
  readonly cluster?: boolean;
  /** Cluster: period of the full refresh of which agents the other instances have (ms); default 5 s. */
  readonly presenceRefreshMs?: number;
}

export async function attachSockets(io: Server, deps: GatewayDeps, options: AttachOptions = {}): Promise<AttachedGateway> {
  const { app, db, config, events } = deps;
  const log = app.log;
  const settings = new MailSettingsCache(db);
  await settings.load();

  const ui = new UiGateway(io.of('/ui') as UiNamespace, {
    authenticate: (cookie) => authenticateCookieHeader(db, cookie),
    log: log.child({ ns: '/ui' }),
    ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
  });
  const ingest = new IngestService({ db, log: log.child({ component: 'ingest' }), broadcaster: ui, settings });
  const agents = new AgentGateway(io.of('/agent') as AgentNamespace, {
    db, log: log.child({ ns: '/agent' }), ingest, settings, broadcaster: ui,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }),
    ...(options.cluster === true ? { cluster: true } : {}),
    ...(options.presenceRefreshMs === undefined ? {} : { presenceRefreshMs: options.presenceRefreshMs }),
  });
  const uploads = new UploadService({ db, log: log.child({ component: 'uploads' }), ingest, settings, broadcaster: ui });
  await app.register(uploadRoutes, { prefix: '/api', uploads, tempDir: join(config.dataDir, 'uploads'), limitBytes: config.uploadLimitBytes });

  const onSettings = (s: Parameters<AgentGateway['pushSettings']>[0]): void => {
    settings.set(s);
    agents.pushSettings(s);
  };
  const onCapture = (c: { id: string }): void => {
    void db.prisma.capture.findUnique({ where: { id: c.id } }).then((row) => {
      if (row === null) return;
      ui.emit('capture:status', {
        captureId: row.id, source: row.source, status: row.status, error: row.error, packets: Number(row.packets),
        drops: Number(row.drops), sessions: row.sessions, mails: row.mails, bytes: Number(row.bytes),
      });
    }, (e: unknown) => log.warn({ err: e }, 'could not announce a capture change'));
  };
  events.on('settings-changed', onSettings);
  events.on('capture-changed', onCapture);

  return {
    agentControl: agents,
    agents,
    ui,
    ingest,
    uploads,
    async close() {
      events.off('settings-changed', onSettings);
      events.off('capture-changed', onCapture);
      await uploads.close();
      ui.close();
      agents.close();
      io.of('/agent').disconnectSockets(true);
    },
  };
}
