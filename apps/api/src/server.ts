/**
 * Starts the API: reads the environment, opens the database (embedded PostgreSQL unless
 * DATABASE_URL), starts the server (api-server.ts: app, socket.io, gateways), creates the first
 * admin, listens; closes everything on SIGINT / SIGTERM.
 */
import { join } from 'node:path';
import { openDatabase } from '@mailscope/db';
import { startApiServer } from './api-server.ts';
import { FIRST_ADMIN_USERNAME, ensureFirstAdmin } from './auth/admin-bootstrap.ts';
import { ensureLocalAgent } from './auth/agent-bootstrap.ts';
import { ConfigError, LOCAL_AGENT_NAME, loadConfig } from './env.ts';
import type { Config } from './env.ts';
import { startRetention } from './services/retention.ts';
import type { RetentionJob } from './services/retention.ts';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }

  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: join(config.dataDir, 'postgres'),
    log: { info: (m) => console.log(m), warn: (m) => console.warn(m) },
  });
  const { app, close: closeServer } = await startApiServer({ db, config });

  const admin = await ensureFirstAdmin(db, config.adminPassword);
  if (admin.generatedPassword !== null) {
    // Printed once, to the terminal only (not through the logger, which may be shipped elsewhere).
    console.log(`\nFirst run: created user '${FIRST_ADMIN_USERNAME}' with password ${admin.generatedPassword}\nChange it after signing in.\n`);
  } else if (admin.created) {
    app.log.info(`created user '${FIRST_ADMIN_USERNAME}' with MAILSCOPE_ADMIN_PASSWORD`);
  }
  if (config.agentToken !== undefined) {
    const result = await ensureLocalAgent(db, LOCAL_AGENT_NAME, config.agentToken);
    if (result !== 'unchanged') app.log.info(`agent '${LOCAL_AGENT_NAME}': ${result === 'created' ? 'registered' : 'token replaced'} with MAILSCOPE_AGENT_TOKEN`);
  }
  const retention: RetentionJob | undefined =
    config.retentionDays === undefined ? undefined : startRetention({ db, days: config.retentionDays, log: app.log.child({ component: 'retention' }) });

  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    app.log.info(`${signal}: shutting down`);
    try {
      await retention?.stop();
      await closeServer();
    } catch (e) {
      app.log.error({ err: e }, 'error while shutting down');
    } finally {
      await db.close();
      process.exit(0);
    }
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (e) {
    app.log.error({ err: e }, 'cannot listen');
    await retention?.stop();
    await closeServer();
    await db.close();
    process.exit(1);
  }
}

await main();
