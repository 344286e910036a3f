/**
 * For tests that make a database of their own on a shared server (the embedded one, or
 * TEST_DATABASE_URL in CI) and drop it afterwards.
 */
import type pg from 'pg';

/**
 * Drops a throwaway database. WITH (FORCE) ends the backends still on it, but a role that is not
 * superuser may only end its own: when the server refuses (42501, a backend of another role such as
 * an autovacuum worker), our own backends are ended and the drop is retried while the other one
 * finishes.
 */
export async function dropDatabase(c: pg.Client, name: string): Promise<void> {
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
  }
  for (let attempt = 0; ; attempt++) {
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()', [name]);
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      return;
    } catch (err) {
      if (attempt >= 50 || (err as { code?: string }).code !== '55006') throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

