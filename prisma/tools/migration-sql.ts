/**
 * Prints the SQL that Prisma's own schema engine writes for a migration, without the engine binary
 * this project's machines cannot download: the same engine compiled to WebAssembly
 * (tools/schema-engine.ts) with a throwaway embedded PostgreSQL behind @prisma/adapter-pg.
 *
 *   npm run migration-sql -w @mailscope/db -- --from-empty
 *   git show HEAD:prisma/schema.prisma > /tmp/old.prisma
 *   npm run migration-sql -w @mailscope/db -- --from-schema /tmp/old.prisma
 *
 * Both diff schema files only. Diffing from migrations/ or a live database would need the engine
 * to introspect through the adapter, which fails on PostgreSQL's internal "char" columns.
 * Paste the output into migrations/<yyyymmddhhmmss>_<name>/migration.sql.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DiffTarget } from '@prisma/schema-engine-wasm/schema_engine_bg';
import { startEmbeddedPostgres } from '../src/embedded.ts';
import { noFilters, openSchemaEngine } from './schema-engine.ts';

const schemaPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'schema.prisma');
const fromSchemaAt = process.argv.indexOf('--from-schema');
const fromSchema = fromSchemaAt > 0 ? process.argv[fromSchemaAt + 1] : undefined;
if (!process.argv.includes('--from-empty') && fromSchema === undefined) {
  process.stderr.write('usage: migration-sql --from-empty | --from-schema OLD_SCHEMA.prisma\n');
  process.exit(2);
}

const from: DiffTarget = fromSchema === undefined
  ? { tag: 'empty' }
  : { tag: 'schemaDatamodel', files: [{ path: resolve(fromSchema), content: await readFile(fromSchema, 'utf8') }] };
process.stdout.write(await migrationSql(from));

/** The migration script from `from` to schema.prisma. */
export async function migrationSql(source: DiffTarget): Promise<string> {
  const schema = await readFile(schemaPath, 'utf8');
  const dataDir = await mkdtemp(join(tmpdir(), 'mailscope-migration-sql-'));
  const server = await startEmbeddedPostgres({ dataDir });
  try {
    const engine = await openSchemaEngine(server.url, schemaPath, schema);
    const result = await engine.diff({
      from: source,
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return result.stdout ?? '';
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
