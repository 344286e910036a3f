/**
 * POST /api/uploads end to end: corpus captures analysed in the worker thread and stored through
 * the ingest; the sessions and mails must be those the engine finds, each mail's sha256 the one
 * in the corpus' helper_reassembly manifest. A text file ends as status 'failed' with a message,
 * and the API keeps serving. The corpus is required: missing files fail the test.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import type { UiUploadProgress } from '@mailscope/shared';
import type { TestApi } from './ingest-harness.ts';
import { connectUi, signIn, startApi, testServers } from './ingest-harness.ts';

/** The shared corpus beside the repository: `<repo>/../shared/corpus`. */
const CORPUS = fileURLToPath(new URL('../../../../shared/corpus', import.meta.url));

function multipart(fileName: string, content: Uint8Array): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----mailscope${Date.now()}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { payload: Buffer.concat([head, content, tail]), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

async function upload(api: TestApi, cookie: string, fileName: string, content: Uint8Array) {
  const body = multipart(fileName, content);
  return api.app.inject({ method: 'POST', url: '/api/uploads', headers: { ...body.headers, cookie }, payload: body.payload });
}

/** sha256 of every mail in the manifest, in file order. */
async function manifestHashes(capture: string): Promise<string[]> {
  const text = await readFile(join(CORPUS, 'expected', capture, 'helper_reassembly', 'manifest.tsv'), 'utf8');
  const [header, ...rows] = text.trim().split('\n');
  const col = header!.split('\t').indexOf('sha256');
  assert.ok(col >= 0, 'manifest has a sha256 column');
  return rows.map((r) => r.split('\t')[col]!);
}

async function waitForUpload(api: TestApi, cookie: string, id: string): Promise<{ status: string; error: string | null; frames: number; sessions: number; mails: number; packets: number }> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const r = await api.app.inject({ method: 'GET', url: `/api/uploads/${id}`, headers: { cookie } });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    if (body.status === 'done' || body.status === 'failed') return body;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('upload not analysed within 60 s');
}

for (const server of await testServers()) {
  describe(`uploads (${server.name})`, () => {
    test('corpus captures: the engine\'s sessions and mails are stored, sha256 as in the manifest', async () => {
      const api = await startApi(server);
      const cookie = await signIn(api.db, 'admin');
      const ui = await connectUi(api, cookie);
      const progress: UiUploadProgress[] = [];
      ui.on('upload:progress', (p) => progress.push(p));
      const cases = [
        { capture: 'zeek_smtp.pcap', protocol: 'smtp' },
        { capture: 'sv_pop3.pcap', protocol: 'pop3' },
      ];
      for (const { capture, protocol } of cases) {
        const content = await readFile(join(CORPUS, 'pcaps', capture));
        const res = await upload(api, cookie, capture, content);
        assert.equal(res.statusCode, 202, res.body);
        const { id } = res.json() as { id: string };
        const done = await waitForUpload(api, cookie, id);
        assert.equal(done.status, 'done', `${capture}: ${done.error ?? ''}`);
        assert.equal(done.error, null);

        const row = await api.db.prisma.capture.findUniqueOrThrow({ where: { id } });
        assert.equal(row.source, 'upload');
        assert.equal(row.fileName, capture);
        const packets = await api.db.prisma.packet.count({ where: { captureId: id } });
        assert.equal(packets, done.frames, `${capture}: one packet row per frame`);
        assert.equal(Number(row.packets), packets);
        assert.equal(row.bytes > 0n, true);

        const sessions = await api.db.prisma.session.findMany({ where: { captureId: id }, orderBy: { engineSessionId: 'asc' } });
        assert.ok(sessions.length > 0, `${capture}: sessions found`);
        assert.equal(row.sessions, sessions.length);
        assert.ok(sessions.every((s) => s.protocol === protocol && s.state === 'closed'), `${capture}: every session ${protocol} and closed at the end`);
        const timeline = await api.db.prisma.timelineEntry.count({ where: { sessionId: { in: sessions.map((s) => s.id) } } });
        assert.ok(timeline > sessions.length, `${capture}: timeline stored`);

        const mails = await api.db.prisma.mail.findMany({ where: { session: { captureId: id } }, orderBy: [{ sessionId: 'asc' }, { index: 'asc' }] });
        const expected = await manifestHashes(capture);
        assert.deepEqual(mails.map((m) => m.sha256).sort(), [...expected].sort(), `${capture}: mail sha256 as in the manifest`);
        assert.equal(row.mails, mails.length);
        assert.equal(sessions.reduce((n, s) => n + s.mails, 0), mails.length);
        assert.ok(mails.every((m) => m.raw === null), 'Save Mail is off');
        assert.ok(mails.some((m) => m.subject !== null), `${capture}: summaries stored`);

        const mine = progress.filter((p) => p.captureId === id);
        assert.equal(mine.at(-1)?.state, 'done');
        assert.ok(mine.some((p) => p.state === 'analysing'));
      }
    });

    test('a text file ends as failed with a message; the API keeps serving', async () => {
      const api = await startApi(server);
      const cookie = await signIn(api.db, 'admin');
      const res = await upload(api, cookie, '../../etc/notes.txt', new TextEncoder().encode('this is not a capture\n'.repeat(100)));
      assert.equal(res.statusCode, 202, res.body);
      const { id } = res.json() as { id: string };
      const done = await waitForUpload(api, cookie, id);
      assert.equal(done.status, 'failed');
      assert.match(done.error ?? '', /not a pcap or pcapng capture/);
      const row = await api.db.prisma.capture.findUniqueOrThrow({ where: { id } });
      assert.equal(row.fileName, 'notes.txt', 'only the last path segment is kept, for display');
      assert.equal(await api.db.prisma.packet.count(), 0);
      const alive = await api.app.inject({ method: 'GET', url: `/api/uploads/${id}`, headers: { cookie } });
      assert.equal(alive.statusCode, 200);
    });

    test('a capture whose records cannot be stored ends as failed with a message, the next one is stored', async () => {
      const api = await startApi(server);
      const cookie = await signIn(api.db, 'admin');
      // The database refuses packet rows with a frame of more than 1,000 bytes: a batch fails while
      // the ones around it are stored.
      await api.db.pool.query(`
        CREATE FUNCTION refuse_big_frame() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW."capturedLength" > 1000 THEN RAISE EXCEPTION 'no room for big frames (test)'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse_big_frame BEFORE INSERT ON "Packet" FOR EACH ROW EXECUTE FUNCTION refuse_big_frame();`);
      const file = await readFile(join(CORPUS, 'pcaps', 'zeek_smtp.pcap'));
      const res = await upload(api, cookie, 'zeek_smtp.pcap', file);
      assert.equal(res.statusCode, 202, res.body);
      const failed = await waitForUpload(api, cookie, (res.json() as { id: string }).id);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error, 'could not store the analysis; see the API log');
      assert.ok(api.logs.some((l) => l.includes('could not store a batch of an upload')));

      await api.db.pool.query('DROP TRIGGER refuse_big_frame ON "Packet"');
      const again = await upload(api, cookie, 'zeek_smtp.pcap', file);
      const done = await waitForUpload(api, cookie, (again.json() as { id: string }).id);
      assert.equal(done.status, 'done', done.error ?? '');
      assert.ok(done.packets > 0);
    });

    // Once, on the embedded server: the bytes are the point, not the server (a minute per server).
    if (server.name === 'embedded') test('every corpus capture is stored: hostile bytes (a NUL in a verb, a 100 KiB subject) lose nothing else', async () => {
      // Each file must end 'done' with its packets stored; before, sv_smtp-errors.pcap failed in
      // PostgreSQL (a NUL byte in a text column) and zeek_mime-header-size-limit.pcap was refused
      // whole (a subject longer than the schema allows).
      const api = await startApi(server);
      const cookie = await signIn(api.db, 'admin');
      const files = (await readdir(join(CORPUS, 'pcaps'))).filter((f) => /\.pcap(ng)?$/.test(f)).sort();
      assert.ok(files.length >= 75, `the corpus has its 75 captures (found ${files.length})`);
      const ids: string[] = [];
      for (const capture of files) {
        const res = await upload(api, cookie, capture, await readFile(join(CORPUS, 'pcaps', capture)));
        assert.equal(res.statusCode, 202, `${capture}: ${res.body}`);
        ids.push((res.json() as { id: string }).id);
      }
      const failed: string[] = [];
      for (const [i, id] of ids.entries()) {
        const done = await waitForUpload(api, cookie, id);
        if (done.status !== 'done') failed.push(`${files[i]}: ${done.status} ${done.error ?? ''}`);
        else assert.equal(done.packets, done.frames, `${files[i]}: every frame stored`);
      }
      assert.deepEqual(failed, []);
      const nul = await api.db.prisma.timelineEntry.count({ where: { verb: { contains: '\u2400' } } });
      assert.ok(nul > 0, 'the NUL of sv_smtp-errors.pcap is kept, shown as U+2400');
      const long = await api.db.prisma.mail.findFirstOrThrow({ where: { subject: { startsWith: 'CVE-CANDIDATE x x' } }, select: { subject: true, sha256: true } });
      assert.ok(long.subject !== null && long.subject.length <= 64 * 1024 && long.subject.endsWith('…'), 'the long subject is kept, cut at 64 KiB with an ellipsis');
      assert.equal(long.sha256, 'bdd40eb28454f99bf2cb2bdcc34687fe1cc0f59b7cc9609d023d19b8d69884f8', 'the mail itself is whole');
    });

    test('uploads need an admin and respect the size limit', async () => {
      const api = await startApi(server, { UPLOAD_LIMIT_MB: '1' });
      const viewer = await signIn(api.db, 'viewer');
      assert.equal((await upload(api, viewer, 'a.pcap', new Uint8Array(10))).statusCode, 403);
      const admin = await signIn(api.db, 'admin');
      const big = await upload(api, admin, 'big.pcap', new Uint8Array(1024 * 1024 + 10));
      assert.equal(big.statusCode, 413, big.body);
      assert.match(big.json().message, /larger than the upload limit \(1 MB\)/);
      assert.equal(await api.db.prisma.capture.count(), 0);
    });
  });
}
