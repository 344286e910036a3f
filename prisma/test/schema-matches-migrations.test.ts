/**
 * migrations/ applied to an empty database give exactly what schema.prisma describes, so a schema
 * change without its migration (or a hand edit of a migration) fails here. Two checks:
 * - the catalog (columns, types, defaults, nullability, indexes, constraints, enums, extensions)
 *   equals that of a database built from the SQL Prisma's own schema engine (WebAssembly build)
 *   writes for schema.prisma from scratch;
 * - every model, field, type, nullability, primary key, unique and index in Prisma's DMMF of
 *   schema.prisma is found in the migrated database, named as Prisma names it, and nothing more.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import type pg from 'pg';
import { migrate } from '../src/migrate.ts';
import { noFilters, openSchemaEngine } from '../tools/schema-engine.ts';
import { freshDatabase, testServers, withClient } from './helpers.ts';

const schemaPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'schema.prisma');
const schema = await readFile(schemaPath, 'utf8');

interface DmmfField { name: string; kind: string; type: string; isList: boolean; isRequired: boolean; isId: boolean; isUnique: boolean; nativeType: [string, string[]] | null; dbName?: string | null }
interface DmmfModel { name: string; dbName: string | null; fields: DmmfField[]; primaryKey: { fields: string[] } | null }
interface DmmfIndex { model: string; type: 'id' | 'normal' | 'unique' | 'fulltext'; dbName?: string; algorithm?: string; fields: { name: string; operatorClass?: string }[] }
const dmmf = (JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: [[schemaPath, schema]] }))) as { datamodel: { models: DmmfModel[]; enums: { name: string; values: { name: string }[] }[]; indexes: DmmfIndex[] } }).datamodel;

/** Everything about the public schema that a migration decides. */
async function catalog(c: pg.Client): Promise<Record<string, unknown>> {
  const q = async (sql: string): Promise<unknown[]> => (await c.query(sql)).rows;
  return {
    columns: await q(`SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, numeric_precision, datetime_precision
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY table_name, ordinal_position`),
    indexes: await q(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY tablename, indexname`),
    constraints: await q(`SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations' ORDER BY 1, 2`),
    enums: await q(`SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY 1`),
    extensions: await q(`SELECT extname FROM pg_extension ORDER BY 1`),
  };
}

const SCALAR_UDT: Record<string, string> = { String: 'text', Int: 'int4', BigInt: 'int8', Boolean: 'bool', DateTime: 'timestamptz', Json: 'jsonb', Bytes: 'bytea', Float: 'float8', Decimal: 'numeric' };
const NATIVE_UDT: Record<string, string> = { Uuid: 'uuid', SmallInt: 'int2', Timestamptz: 'timestamptz', Integer: 'int4', BigInt: 'int8', Text: 'text' };

for (const server of await testServers()) {
  test(`[${server.name}] migrations build the same database as Prisma's engine does from schema.prisma`, async () => {
    const migrated = await freshDatabase(server);
    await migrate(migrated);
    const reference = await freshDatabase(server);
    const engine = await openSchemaEngine(reference, schemaPath, schema);
    const diff = await engine.diff({ from: { tag: 'empty' }, to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] }, script: true, exitCode: null, filters: noFilters });
    await withClient(reference, (c) => c.query(diff.stdout ?? ''));
    const [a, b] = [await withClient(migrated, catalog), await withClient(reference, catalog)];
    assert.deepEqual(a, b, 'prisma/migrations differs from schema.prisma: write a migration (npm run migration-sql -w @mailscope/db)');
  });

  test(`[${server.name}] every model, field, key and index of the DMMF is in the migrated database, and nothing else`, async () => {
    const url = await freshDatabase(server);
    await migrate(url);
    await withClient(url, async (c) => {
      const cols = (await c.query<{ table_name: string; column_name: string; udt_name: string; is_nullable: string }>(
        `SELECT table_name, column_name, udt_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`)).rows;
      const idx = (await c.query<{ table: string; name: string; unique: boolean; primary: boolean; method: string; columns: string[]; opclasses: string[] }>(`
        SELECT t.relname AS table, i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary, am.amname AS method,
               array_agg(a.attname::text ORDER BY k.ord) AS columns, array_agg(oc.opcname::text ORDER BY k.ord) AS opclasses
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = i.relam
        CROSS JOIN LATERAL unnest(x.indkey, x.indclass) WITH ORDINALITY AS k(attnum, opclass, ord)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum JOIN pg_opclass oc ON oc.oid = k.opclass
        WHERE t.relnamespace = 'public'::regnamespace AND t.relname <> '_prisma_migrations'
        GROUP BY t.relname, i.relname, x.indisunique, x.indisprimary, am.amname`)).rows;

      const expectedCols: string[] = [];
      const expectedIdx: string[] = [];
      for (const model of dmmf.models) {
        const table = model.dbName ?? model.name;
        for (const f of model.fields.filter((f) => f.kind === 'scalar' || f.kind === 'enum')) {
          const base = f.kind === 'enum' ? f.type : (f.nativeType !== null ? NATIVE_UDT[f.nativeType[0]] : undefined) ?? SCALAR_UDT[f.type];
          // Prisma creates list columns nullable.
          expectedCols.push(`${table}.${f.dbName ?? f.name} ${f.isList ? `_${base}` : base} ${f.isRequired && !f.isList ? 'NOT NULL' : 'NULL'}`);
        }
      }
      for (const i of dmmf.indexes) {
        const table = dmmf.models.find((m) => m.name === i.model)?.dbName ?? i.model;
        const columns = i.fields.map((f) => f.name);
        const name = i.dbName ?? (i.type === 'id' ? `${table}_pkey` : `${table}_${columns.join('_')}_${i.type === 'unique' ? 'key' : 'idx'}`);
        const method = (i.algorithm ?? 'BTree').toLowerCase();
        const opclasses = i.fields.map((f) => f.operatorClass ?? 'default');
        expectedIdx.push(`${table}.${name} ${i.type === 'normal' ? 'index' : i.type === 'id' ? 'primary' : 'unique'} ${method} (${columns.join(',')}) [${opclasses.join(',')}]`);
      }
      const actualCols = cols.map((r) => `${r.table_name}.${r.column_name} ${r.udt_name} ${r.is_nullable === 'NO' ? 'NOT NULL' : 'NULL'}`);
      const actualIdx = idx.map((r) => {
        const opclasses = r.opclasses.map((o) => (o.endsWith('_ops') && o !== 'gin_trgm_ops' ? 'default' : o));
        return `${r.table}.${r.name} ${r.primary ? 'primary' : r.unique ? 'unique' : 'index'} ${r.method} (${r.columns.join(',')}) [${opclasses.join(',')}]`;
      });
      assert.deepEqual(actualCols.sort(), expectedCols.sort());
      assert.deepEqual(actualIdx.sort(), expectedIdx.sort());

      const enums = (await c.query<{ typname: string; labels: string[] }>(`SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`)).rows;
      assert.deepEqual(
        enums.map((e) => `${e.typname}: ${e.labels.join(',')}`).sort(),
        dmmf.enums.map((e) => `${e.name}: ${e.values.map((v) => v.name).join(',')}`).sort(),
      );
      const trgm = await c.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'`);
      assert.equal(trgm.rowCount, 1, 'pg_trgm is installed by the migration');
    });
  });
}
