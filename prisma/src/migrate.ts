/**
 * Applies prisma/migrations to a database the way `prisma migrate deploy` does, without Prisma's
 * schema engine (a binary download this project's machines cannot make). The bookkeeping is
 * Prisma's own `_prisma_migrations` table, same columns, same checksum (sha256 hex of
 * migration.sql), same advisory lock key, so `prisma migrate deploy` / `migrate status` keep
 * working on a database this runner migrated, and the other way round.
 *
 * Differences from Prisma, both on the safe side: each migration runs in one transaction with its
 * bookkeeping row (a failing migration leaves no trace and nothing half-applied, where Prisma
 * records it as failed and wants `migrate resolve`), and a migration whose file changed after it
 * was applied is refused instead of warned about.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { DbLogger } from './logger.ts';
import { silentLogger } from './logger.ts';

/** prisma/migrations of this package. */
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

/**
 * The key Prisma's schema engine takes with pg_advisory_lock while it migrates (72707369, "HPRI" in
 * ASCII): holding the same one keeps this runner, a second API instance and `prisma migrate deploy`
 * from migrating at the same time.
 */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

/** Prisma's table, as its schema engine creates it. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface Migration {
  /** Folder name, `<yyyymmddhhmmss>_<name>`; migrations apply in its order. */
  readonly name: string;
  readonly sql: string;
  /** sha256 hex of migration.sql's bytes, as Prisma computes it. */
  readonly checksum: string;
}

export interface MigrateResult {
  /** Names applied by this call, in order. */
  readonly applied: readonly string[];
  /** Names that were already applied. */
  readonly alreadyApplied: readonly string[];
}

/** A migration history this runner will not build on; the message says what to do. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** Reads `dir` (default: this package's migrations/): one folder per migration holding migration.sql. */
export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(names.map(async (name) => {
    const bytes = await readFile(join(dir, name, 'migration.sql'));
    return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
  }));
}

/**
 * Applies the pending migrations of `dir` to the database at `url`, in name order, each in its own
 * transaction with its `_prisma_migrations` row. Waits for the advisory lock first, so concurrent
 * callers run one after the other and the later ones find nothing to do.
 *
 * Throws `MigrationError`, applying nothing, when the history is not one to build on: an applied
 * migration whose migration.sql changed (checksum), one recorded as failed and not rolled back,
 * or one the database has that `dir` lacks (the code is older than the database).
 */
export async function migrate(url: string, options: { dir?: string; log?: DbLogger } = {}): Promise<MigrateResult> {
  const log = options.log ?? silentLogger;
  const migrations = await readMigrations(options.dir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const rows = (await client.query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null }>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at, migration_name',
      )).rows.filter((r) => r.rolled_back_at === null);

      const known = new Map(migrations.map((m) => [m.name, m]));
      const applied = new Set<string>();
      for (const row of rows) {
        if (row.finished_at === null) {
          throw new MigrationError(`migration ${row.migration_name} is recorded as failed in _prisma_migrations (started, never finished): repair the database, then mark it with \`prisma migrate resolve --rolled-back ${row.migration_name}\` or delete its row`);
        }
        const local = known.get(row.migration_name);
        if (local === undefined) {
          throw new MigrationError(`the database has migration ${row.migration_name}, which ${options.dir ?? MIGRATIONS_DIR} does not: this code is older than the database`);
        }
        if (!checksumMatches(local, row.checksum)) {
          throw new MigrationError(`migration ${row.migration_name} was changed after it was applied (checksum ${row.checksum} in the database, ${local.checksum} on disk): restore its migration.sql and put the change in a new migration`);
        }
        applied.add(row.migration_name);
      }

      const done: string[] = [];
      for (const m of migrations) {
        if (applied.has(m.name)) continue;
        log.info(`applying migration ${m.name}`);
        await client.query('BEGIN');
        try {
          const id = randomUUID();
          await client.query('INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)', [id, m.checksum, m.name]);
          await client.query(m.sql);
          await client.query('UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw new MigrationError(`migration ${m.name} failed and was rolled back: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
        done.push(m.name);
      }
      return { applied: done, alreadyApplied: [...applied] };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

/** Prisma also accepts the checksum of the file with CRLF line ends made LF (a checkout on Windows). */
function checksumMatches(local: Migration, recorded: string): boolean {
  if (local.checksum === recorded) return true;
  const normalised = createHash('sha256').update(local.sql.replace(/\r\n/g, '\n')).digest('hex');
  return normalised === recorded;
}
