import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MIGRATIONS_DIR, MigrationError, migrate, readMigrations } from '../src/migrate.ts';
import { freshDatabase, testServers, withClient } from './helpers.ts';

for (const server of await testServers()) {
  test(`[${server.name}] applies every migration once, with Prisma's _prisma_migrations bookkeeping`, async () => {
    const url = await freshDatabase(server);
    const local = await readMigrations();
    const first = await migrate(url);
    assert.deepEqual(first.applied, local.map((m) => m.name));
    const second = await migrate(url);
    assert.deepEqual(second.applied, []);
    assert.deepEqual(second.alreadyApplied, local.map((m) => m.name));
    const rows = await withClient(url, async (c) => (await c.query('SELECT * FROM "_prisma_migrations" ORDER BY migration_name')).rows);
    assert.equal(rows.length, local.length);
    for (const [i, m] of local.entries()) {
      const row = rows[i];
      const file = await readFile(join(MIGRATIONS_DIR, m.name, 'migration.sql'));
      assert.equal(row.migration_name, m.name);
      assert.equal(row.checksum, createHash('sha256').update(file).digest('hex'));
      assert.match(row.id, /^[0-9a-f-]{36}$/);
      assert.ok(row.finished_at instanceof Date);
      assert.equal(row.rolled_back_at, null);
      assert.equal(row.applied_steps_count, 1);
      assert.equal(row.logs, null);
    }
  });

  test(`[${server.name}] refuses a migration changed after it was applied, and applies nothing`, async () => {
    const url = await freshDatabase(server);
    const dir = await mkdtemp(join(tmpdir(), 'mailscope-migrations-'));
    after(() => rm(dir, { recursive: true, force: true }));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await migrate(url, { dir });
    const [first] = await readMigrations(dir);
    assert.ok(first);
    await appendFile(join(dir, first.name, 'migration.sql'), '\n-- edited\n');
    await cp(join(dir, first.name), join(dir, '99990101000000_later'), { recursive: true });
    await assert.rejects(migrate(url, { dir }), (e: unknown) => e instanceof MigrationError && /was changed after it was applied/.test(e.message));
    const names = await withClient(url, async (c) => (await c.query('SELECT migration_name FROM "_prisma_migrations" ORDER BY 1')).rows.map((r) => r.migration_name));
    assert.deepEqual(names, (await readMigrations()).map((m) => m.name), 'the later migration was not applied');
  });

  test(`[${server.name}] a failing migration is rolled back whole and not recorded`, async () => {
    const url = await freshDatabase(server);
    const dir = await mkdtemp(join(tmpdir(), 'mailscope-migrations-'));
    after(() => rm(dir, { recursive: true, force: true }));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await cp(join(dir, (await readMigrations(dir))[0]!.name), join(dir, '99990101000000_broken'), { recursive: true });
    await appendFile(join(dir, '99990101000000_broken', 'migration.sql'), '');
    // Re-creating the same tables fails at the first CREATE TYPE.
    await assert.rejects(migrate(url, { dir }), (e: unknown) => e instanceof MigrationError && /99990101000000_broken failed and was rolled back/.test(e.message));
    const names = await withClient(url, async (c) => (await c.query('SELECT migration_name FROM "_prisma_migrations" ORDER BY 1')).rows.map((r) => r.migration_name));
    assert.deepEqual(names, (await readMigrations()).map((m) => m.name), 'the broken migration is not recorded');
  });

  test(`[${server.name}] two instances migrating at once: one applies, the other waits and finds nothing to do`, async () => {
    const url = await freshDatabase(server);
    const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
    const local = (await readMigrations()).map((m) => m.name);
    assert.equal(results.filter((r) => r.applied.length === local.length).length, 1);
    assert.equal(results.filter((r) => r.applied.length === 0).length, 2);
    const count = await withClient(url, async (c) => (await c.query('SELECT count(*)::int AS n FROM "_prisma_migrations"')).rows[0].n);
    assert.equal(count, local.length);
  });
}
