/**
 * @mailscope/db: Mailscope's PostgreSQL store. `openDatabase` gives the API a migrated database,
 * its own embedded server when no URL is given (ARCHITECTURE.md, "Storage").
 *
 * Subpaths: `@mailscope/db/bulk` (batched packet / timeline inserts), `@mailscope/db/migrate`,
 * `@mailscope/db/embedded`; the generated Prisma types are re-exported here.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded.ts';
import type { EmbeddedServer } from './embedded.ts';
import { PrismaClient } from './generated/prisma/client.ts';
import type { DbLogger } from './logger.ts';
import { silentLogger } from './logger.ts';
import { migrate } from './migrate.ts';

export * from './generated/prisma/client.ts';
export { insertPackets, insertTimelineEntries, BULK_CHUNK_ROWS } from './bulk.ts';
export type { BulkMethod, BulkResult, PacketRow, TimelineRow } from './bulk.ts';
export { EmbeddedPostgresError } from './embedded.ts';
export { MigrationError, migrate } from './migrate.ts';
export type { DbLogger } from './logger.ts';

/** `<repo>/data/postgres`: where the embedded server keeps its data unless told otherwise. */
export const DEFAULT_DATA_DIR = resolve(join(fileURLToPath(import.meta.url), '..', '..', '..', 'data', 'postgres'));

/** Connections of the one pool shared by Prisma and the bulk inserts. */
const POOL_SIZE = 10;

export interface OpenDatabaseOptions {
  /** A PostgreSQL URL (DATABASE_URL). Omitted: the embedded server is started. */
  readonly url?: string | undefined;
  /** The embedded server's data folder; default `DEFAULT_DATA_DIR`. Ignored with `url`. */
  readonly dataDir?: string | undefined;
  /** The embedded server's port on 127.0.0.1; default: a free one. Ignored with `url`. */
  readonly port?: number | undefined;
  readonly log?: DbLogger | undefined;
}

/**
 * The Prisma client as openDatabase builds it: every query leaves out the captured passwords
 * (TimelineEntry.authPassword) unless it asks for them with `omit: { authPassword: false }`.
 */
export type DbClient = ReturnType<typeof createClient>;

export interface Database {
  /** Queries and CRUD. */
  readonly prisma: DbClient;
  /** The same connections, for raw SQL and the batched inserts of `@mailscope/db/bulk`. */
  readonly pool: pg.Pool;
  /** The connection URL in use (contains the password: do not log it). */
  readonly url: string;
  /** Whether this process started the server (no `url` given). */
  readonly embedded: boolean;
  /** Disconnects, then stops the embedded server if there is one. Idempotent. */
  close(): Promise<void>;
}

function createClient(pool: pg.Pool) {
  return new PrismaClient({
    adapter: new PrismaPg(pool),
    omit: { timelineEntry: { authPassword: true } },
  });
}

/**
 * Connects to `url`, or starts the embedded PostgreSQL in `dataDir` (recovering from an unclean
 * stop, see startEmbeddedPostgres), applies pending migrations (migrate: waits for another
 * instance migrating the same database), and resolves once the database is ready.
 * Throws `EmbeddedPostgresError` or `MigrationError` with a message saying what failed; nothing is
 * left running then.
 */
export async function openDatabase(opts: OpenDatabaseOptions = {}): Promise<Database> {
  const log = opts.log ?? silentLogger;
  let server: EmbeddedServer | undefined;
  let url = opts.url;
  if (url === undefined || url === '') {
    server = await startEmbeddedPostgres({ dataDir: opts.dataDir ?? DEFAULT_DATA_DIR, port: opts.port, log });
    url = server.url;
  }
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  pool.on('error', (e) => log.warn(`database connection lost: ${e.message}`));
  try {
    const result = await migrate(url, { log });
    if (result.applied.length > 0) log.info(`database migrated: ${result.applied.join(', ')}`);
  } catch (e) {
    await pool.end().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    throw e;
  }
  const prisma = createClient(pool);
  let closed = false;
  return {
    prisma,
    pool,
    url,
    embedded: server !== undefined,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      await pool.end();
      await server?.stop();
    },
  };
}
