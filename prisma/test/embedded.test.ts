import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EmbeddedPostgresError, startEmbeddedPostgres } from '../src/embedded.ts';
import { withClient } from './helpers.ts';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mailscope-embedded-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Running, not a zombie (the killed parent's children are reparented; a reaper may be slow). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

test('initialises on first start; a second start in the same folder keeps the data', async () => {
  const dir = await tempDir();
  const first = await startEmbeddedPostgres({ dataDir: dir });
  await withClient(first.url, async (c) => {
    await c.query('CREATE TABLE kept (n int)');
    await c.query('INSERT INTO kept VALUES (42)');
  });
  await first.stop();
  await first.stop();
  const second = await startEmbeddedPostgres({ dataDir: dir });
  try {
    const n = await withClient(second.url, async (c) => (await c.query('SELECT n FROM kept')).rows[0].n);
    assert.equal(n, 42);
  } finally {
    await second.stop();
  }
});

test('recovers when the process that started it was killed with SIGKILL', async () => {
  const dir = await tempDir();
  const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'start-embedded.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('READY')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before READY`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const orphan = Number((await readFile(join(dir, 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  assert.ok(alive(orphan), 'the postmaster outlives its killed parent (that is the case to recover from)');

  const server = await startEmbeddedPostgres({ dataDir: dir });
  try {
    assert.equal(alive(orphan), false, 'the orphan was stopped');
    const note = await withClient(server.url, async (c) => (await c.query('SELECT note FROM survivor')).rows[0].note);
    assert.equal(note, 'written before kill -9');
  } finally {
    await server.stop();
  }
});

test('a stale postmaster.pid (its process gone) does not block the start', async () => {
  const dir = await tempDir();
  const server = await startEmbeddedPostgres({ dataDir: dir });
  await server.stop();
  const { writeFile } = await import('node:fs/promises');
  // A pid that is certainly not a postmaster of this cluster: our own.
  await writeFile(join(dir, 'pgdata', 'postmaster.pid'), `${process.pid}\n${join(dir, 'pgdata')}\n`);
  const again = await startEmbeddedPostgres({ dataDir: dir });
  await again.stop();
});

test('a port already taken gives an error that says so', async () => {
  const dir = await tempDir();
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  after(() => blocker.close());
  const address = blocker.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await assert.rejects(startEmbeddedPostgres({ dataDir: dir, port }), (e: unknown) =>
    e instanceof EmbeddedPostgresError && e.message.includes(`could not start on 127.0.0.1:${port}`) && /already in use|could not (create|bind)/i.test(e.message));
});
