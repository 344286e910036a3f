/**
 * The API as a server, on an open database: the app, socket.io (bounded messages; the PostgreSQL
 * adapter when MAILSCOPE_CLUSTER=postgres) and the gateways attached to it. server.ts runs it; the
 * tests and benchmarks start the same thing, with their own timings.
 */
import { Writable } from 'node:stream';
import type { Database } from '@mailscope/db';
import { Server } from 'socket.io';
import { buildApp } from './app.ts';
import type { App } from './app.ts';
import type { Config } from './env.ts';
import { disconnectedAgentControl } from './services/agent-control.ts';
import { AppEvents } from './services/app-events.ts';
import { forwardingAgentControl } from './services/gateway.ts';
import type { PostgresCluster, PostgresClusterOptions } from './socket/cluster.ts';
import { SOCKET_MAX_MESSAGE_BYTES, attachSockets } from './socket/index.ts';
import type { AttachOptions, AttachedGateway } from './socket/index.ts';

export interface ApiServerOptions {
  readonly db: Database;
  readonly config: Config;
  /** Keep the log lines (JSON, warn and above) in `ApiServer.logs` instead of writing them out. */
  readonly keepLogs?: boolean;
  /** Gateway timings (tests); `cluster` follows `config.cluster`. */
  readonly sockets?: Omit<AttachOptions, 'cluster'>;
  /** Cluster heartbeat timings (tests). */
  readonly clusterHeartbeat?: Pick<PostgresClusterOptions, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs'>;
}

export interface ApiServer {
  readonly app: App;
  readonly io: Server;
  readonly events: AppEvents;
  readonly gateway: AttachedGateway;
  /** With `keepLogs`; empty otherwise. */
  readonly logs: string[];
  /** Stops the gateways, socket.io, the cluster adapter and the app; the database stays open. */
  close(): Promise<void>;
}

/** Builds the server; the caller listens (`app.listen`) and closes the database. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { db, config } = opts;
  const events = new AppEvents();
  const agentControl = forwardingAgentControl(disconnectedAgentControl);
  const logs: string[] = [];
  const logger = opts.keepLogs === true
    ? { level: 'warn', stream: new Writable({ write: (chunk: Buffer, _enc, cb) => { logs.push(chunk.toString()); cb(); } }) }
    : undefined;
  const app = await buildApp({ db, config, events, agentControl, ...(logger === undefined ? {} : { logger }) });

  // MAILSCOPE_CLUSTER=postgres: the socket.io adapter on this database, loaded only then.
  let cluster: PostgresCluster | undefined;
  if (config.cluster === 'postgres') {
    const { startPostgresCluster } = await import('./socket/cluster.ts');
    cluster = await startPostgresCluster({ url: db.url, log: app.log.child({ component: 'cluster' }), ...opts.clusterHeartbeat });
  }
  // Socket messages are bounded like HTTP bodies; the largest is a part of an agent batch.
  const io = new Server(app.server, {
    maxHttpBufferSize: SOCKET_MAX_MESSAGE_BYTES, serveClient: false, ...(cluster === undefined ? {} : { adapter: cluster.adapter }),
  });
  const gateway = await attachSockets(io, { app, db, config, events }, { ...opts.sockets, cluster: cluster !== undefined });
  agentControl.set(gateway.agentControl);

  let closed = false;
  return {
    app, io, events, gateway, logs,
    async close() {
      if (closed) return;
      closed = true;
      await gateway.close();
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      await cluster?.close();
      await app.close();
    },
  };
}
