/**
 * The real API in this process, as apps/api/src/server.ts starts it: the agent's end-to-end tests
 * run it beside the agent. Test-only, so it may import the API's source.
 */
import { after } from 'node:test';
import { openDatabase } from '@mailscope/db';
import { startApiServer } from '../../../api/src/api-server.ts';
import type { App } from '../../../api/src/app.ts';
import { ensureFirstAdmin } from '../../../api/src/auth/admin-bootstrap.ts';
import { loadConfig } from '../../../api/src/env.ts';

/** The first admin's password in these tests. */
export const ADMIN_PASSWORD = 'test-password';

export interface RealApi {
  readonly app: App;
  readonly base: string;
  readonly port: number;
  readonly logs: string[];
  close(): Promise<void>;
}

/**
 * The API as server.ts starts it (app, socket.io with its message limit, gateways, first admin), on
 * the database at `url`, listening on 127.0.0.1:`port` (0: a free one). Closing it is what a stopped
 * API looks like to an agent: its sockets are closed, its port refuses connections.
 */
export async function startRealApi(url: string, dataDir: string, port = 0): Promise<RealApi> {
  const db = await openDatabase({ url });
  const config = loadConfig({ MAILSCOPE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', MAILSCOPE_ADMIN_PASSWORD: ADMIN_PASSWORD });
  const server = await startApiServer({ db, config, keepLogs: true });
  const { app, logs } = server;
  await ensureFirstAdmin(db, ADMIN_PASSWORD);
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  let closed = false;
  const api: RealApi = {
    app, base: `http://127.0.0.1:${bound}`, port: bound, logs,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await db.close();
    },
  };
  after(() => api.close());
  return api;
}
