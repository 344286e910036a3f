/**
 * Import benchmark: a capture uploaded as the Import page does (POST /api/uploads, multipart),
 * analysed by the upload worker and stored through the ingest into a fresh embedded PostgreSQL.
 * Prints the time from the upload to status `done`, MB/s, packets and sessions per second, and
 * checks the stored sessions against what the generator made.
 *
 *   npm run bench:upload -w @mailscope/api [-- --size-mb 100 --sessions 6000]
 *
 * The capture is made by packages/protocols/bench/generate-capture.ts (kept in the OS temp folder
 * and reused for the same parameters).
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startBenchApi } from './bench-api.ts';
import { ensureCapture, defaultParams } from '../../../packages/protocols/bench/generate-capture.ts';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '100' },
    sessions: { type: 'string', default: '6000' },
  },
});
const params = defaultParams(Number(values['size-mb']), Number(values.sessions));
const file = join(tmpdir(), `mailscope-upload-bench-${params.sizeMb}mb-${params.sessions}.pcap`);
const { sidecar } = ensureCapture(file, params);
const content = await readFile(file);

const { db, app, cookie, close } = await startBenchApi('upload-bench', { role: 'admin', env: { UPLOAD_LIMIT_MB: '4096' } });

try {
  const boundary = `----mailscope-bench-${Date.now()}`;
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.pcap"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  console.log(`uploading ${file} (${(content.length / 1e6).toFixed(1)} MB, ${sidecar.truth.sessions.toLocaleString('en')} sessions) ...`);
  const t0 = performance.now();
  const res = await app.inject({ method: 'POST', url: '/api/uploads', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, cookie }, payload });
  if (res.statusCode !== 202 && res.statusCode !== 201) throw new Error(`POST /api/uploads: ${res.statusCode} ${res.body}`);
  const { id } = res.json() as { id: string };
  let status: { status: string; error: string | null; frames: number; sessions: number; mails: number; packets: number };
  for (;;) {
    const r = await app.inject({ method: 'GET', url: `/api/uploads/${id}`, headers: { cookie } });
    status = r.json() as typeof status;
    if (status.status === 'done' || status.status === 'failed') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  if (status.status !== 'done') throw new Error(`the upload ended ${status.status}: ${status.error}`);
  const stored = await db.pool.query<{ sessions: string; packets: string }>(
    'SELECT (SELECT count(*) FROM "Session") AS sessions, (SELECT count(*) FROM "Packet") AS packets',
  );
  const sessions = Number(stored.rows[0]!.sessions);
  const packets = Number(stored.rows[0]!.packets);
  console.log(`
upload benchmark (${(content.length / 1e6).toFixed(1)} MB capture)
  upload to done         ${seconds.toFixed(1)} s
  throughput             ${(content.length / 1e6 / seconds).toFixed(1)} MB/s, ${Math.round(packets / seconds).toLocaleString('en')} packets/s, ${Math.round(sessions / seconds).toLocaleString('en')} sessions/s
  stored                 ${sessions.toLocaleString('en')} sessions (generated ${sidecar.truth.sessions.toLocaleString('en')}: ${sessions === sidecar.truth.sessions ? 'all' : 'MISMATCH'}), ${packets.toLocaleString('en')} packets, ${status.mails.toLocaleString('en')} mails`);
  if (sessions !== sidecar.truth.sessions) process.exitCode = 1;
} finally {
  await close();
}
