/**
 * MAILSCOPE_CLUSTER=postgres: several API instances on one PostgreSQL. socket.io's PostgreSQL
 * adapter relays every broadcast (the /ui live events, settings to agents), room membership,
 * fetchSockets() and server-side events between the instances through LISTEN / NOTIFY on the API's
 * own database, so a browser sees the rows any instance stores and an admin on one instance reaches
 * an agent connected to another (socket/agent-gateway.ts, `cluster`).
 *
 * server.ts imports this module only when the variable is set: a single instance loads nothing of
 * the adapter.
 */
import { createAdapter } from '@socket.io/postgres-adapter';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import type { ServerOptions } from 'socket.io';

/**
 * Where the adapter puts a message NOTIFY cannot carry (over 8000 bytes, or binary); each instance
 * deletes rows older than 30 s. The adapter's own default name and columns (its README).
 */
export const ATTACHMENTS_TABLE = 'socket_io_attachments';

/**
 * Created at start rather than by a migration: it is the adapter's transient scratch space, not
 * Mailscope data (no model, no retention, rows live 30 s), it exists only where clustering is on,
 * and IF NOT EXISTS makes it safe for every instance to run on every start.
 */
const CREATE_ATTACHMENTS = `CREATE TABLE IF NOT EXISTS ${ATTACHMENTS_TABLE} (
  id          bigserial UNIQUE,
  created_at  timestamptz DEFAULT NOW(),
  payload     bytea
)`;

/**
 * The adapter's own connections, apart from the app's pool (its NOTIFYs must not queue behind a
 * large ingest): one it holds for LISTEN as long as the process runs, and ONE for everything it
 * sends. One, because NOTIFYs are delivered in commit order: sent over two connections, a
 * session's 'session:closed' could reach the other instances' browsers before its
 * 'session:opened'. Over one connection the pool runs them in the order they were emitted.
 * (A message over 8000 bytes goes as an INSERT then a NOTIFY and may still pass a smaller one.)
 */
const ADAPTER_POOL_SIZE = 2;

export interface PostgresCluster {
  /** For `new Server(httpServer, { adapter })`. */
  readonly adapter: NonNullable<ServerOptions['adapter']>;
  /** Ends the adapter's connections; after `io.close()`. */
  close(): Promise<void>;
}

export interface PostgresClusterOptions {
  /** The API's database (Database.url). */
  readonly url: string;
  readonly log: FastifyBaseLogger;
  /** Adapter heartbeat period, ms; default 5000 (how soon a new instance is known to the others). */
  readonly heartbeatIntervalMs?: number;
  /** No heartbeat for this long and an instance is considered gone, ms; default 10000. */
  readonly heartbeatTimeoutMs?: number;
}

export async function startPostgresCluster(opts: PostgresClusterOptions): Promise<PostgresCluster> {
  const { log } = opts;
  const pool = new pg.Pool({ connectionString: opts.url, max: ADAPTER_POOL_SIZE });
  // A dropped idle connection must not crash the process (the pool's 'error'). Neither must the
  // adapter's LISTEN connection, which it holds checked out, so the pool does not listen to it: an
  // 'error' without a listener would throw.
  pool.on('error', (e) => log.warn({ err: e }, 'cluster: database connection lost'));
  const checkedOut = new Set<pg.PoolClient>();
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (_err, client) => checkedOut.delete(client));
  pool.on('connect', (client) => {
    client.on('error', (e) => log.warn({ err: e }, 'cluster: database connection lost'));
    // When its LISTEN connection ends (PostgreSQL restarted, the connection was killed) the adapter
    // forgets it and LISTENs again on a new one 1-3 s later, but never releases the dead one: the
    // pool would count it as in use forever (no LISTEN any more once the pool is full, and
    // pool.end() would never finish). Released here with an error, which removes it. Only that
    // connection (the one with 'notification' listeners): a query's connection is released by
    // its query.
    client.on('end', () => {
      const c = client as pg.PoolClient;
      if (checkedOut.has(c) && client.listenerCount('notification') > 0) c.release(new Error('connection ended'));
    });
  });
  try {
    await createAttachmentsTable(pool);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  const adapter = createAdapter(pool, {
    errorHandler: (e: Error) => log.warn({ err: e }, 'cluster: socket.io adapter error'),
    ...(opts.heartbeatIntervalMs === undefined ? {} : { heartbeatInterval: opts.heartbeatIntervalMs }),
    ...(opts.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeout: opts.heartbeatTimeoutMs }),
  });
  log.info('cluster: socket.io PostgreSQL adapter on the API database');
  let closed = false;
  return {
    adapter,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

async function createAttachmentsTable(pool: pg.Pool): Promise<void> {
  try {
    await pool.query(CREATE_ATTACHMENTS);
  } catch (e) {
    // Two instances starting at once: CREATE TABLE IF NOT EXISTS is not atomic in PostgreSQL, the
    // loser fails on the catalog's unique index (23505) or sees the table appear (42P07). Then the
    // table exists.
    const code = (e as { code?: unknown }).code;
    if (code !== '23505' && code !== '42P07') throw e;
    await pool.query(CREATE_ATTACHMENTS);
  }
}
