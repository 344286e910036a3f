/**
 * Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm), loaded by hand so
 * plain `node` runs it (the package imports its .wasm as an ES module, which Node 20 allows only
 * behind --experimental-wasm-modules). Dev tooling only: tools/migration-sql.ts and the test that
 * proves migrations/ and schema.prisma agree.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaEngine } from '@prisma/schema-engine-wasm/schema_engine_bg';

let loaded: Promise<void> | undefined;

async function load(): Promise<void> {
  const require = createRequire(import.meta.url);
  const bytes = await readFile(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm'));
  // The project's lib (ES2023) has no WebAssembly types; this is the one call used.
  const wasm = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, imports: object): Promise<{ instance: { exports: object } }> } }).WebAssembly;
  const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': bg });
  (bg as unknown as { __wbg_set_wasm(exports: object): void }).__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
}

/** An engine for `schemaPath` that reaches PostgreSQL at `url` through @prisma/adapter-pg. */
export async function openSchemaEngine(url: string, schemaPath: string, schema: string): Promise<SchemaEngine> {
  loaded ??= load();
  await loaded;
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: url }));
  return bg.SchemaEngine.new({ datamodels: [[schemaPath, schema]] }, () => undefined, adapter);
}

export const noFilters = { externalTables: [], externalEnums: [] };
