/**
 * The API side of ingest-bench.ts, in a process of its own so that its peak RSS is the API's
 * alone: embedded PostgreSQL in a temporary folder, the app with its gateways listening on
 * 127.0.0.1 and a free port, an agent token and a live capture. Talks to the parent over IPC:
 * sends `{ port, token, captureId }` when ready; on `cpu` answers with the CPU seconds the API and
 * the embedded PostgreSQL have used so far; on `measure` times the first page of the session
 * list (GET /api/sessions through inject, as a signed-in browser would ask) and answers with it and
 * the process's peak RSS; on `close` stops everything.
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startBenchApi } from './bench-api.ts';
import { cpuSeconds, postgresCpuSeconds } from './cpu-time.ts';

export type ServerMessage =
  | { readonly type: 'ready'; readonly port: number; readonly token: string; readonly captureId: string }
  | { readonly type: 'cpu'; readonly apiSeconds: number; readonly postgresSeconds: number | null }
  | { readonly type: 'measured'; readonly peakRssBytes: number; readonly firstPageMs: number[]; readonly sessionsInList: number; readonly rows: Record<string, number> };

const send = (m: ServerMessage): void => {
  process.send?.(m);
};

const { db, app, pgDir, cookie, close: closeApi } = await startBenchApi('ingest-bench', { role: 'viewer' });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();

const token = randomBytes(32).toString('base64url');
const agent = await db.prisma.agent.create({ data: { name: 'bench', host: '', version: '', tokenHash: createHash('sha256').update(token).digest('hex') } });
const capture = await db.prisma.capture.create({ data: { agentId: agent.id, source: 'live', status: 'running', interface: 'bench0' } });

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'cpu') send({ type: 'cpu', apiSeconds: cpuSeconds(), postgresSeconds: postgresCpuSeconds(pgDir) });
  if (msg.type === 'measure') void measure();
  if (msg.type === 'close') void close();
});

async function measure(): Promise<void> {
  await db.pool.query('ANALYZE');
  const times: number[] = [];
  let count = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const r = await app.inject({ method: 'GET', url: '/api/sessions?limit=50', headers: { cookie } });
    times.push(performance.now() - t);
    if (r.statusCode !== 200) throw new Error(`GET /api/sessions: ${r.statusCode} ${r.body}`);
    count = (r.json() as { sessions: unknown[] }).sessions.length;
  }
  const c = await db.pool.query<Record<string, string>>(`SELECT (SELECT count(*) FROM "Session") AS sessions, (SELECT count(*) FROM "Packet") AS packets,
    (SELECT count(*) FROM "TimelineEntry") AS timeline`);
  const rows = Object.fromEntries(Object.entries(c.rows[0]!).map(([k, v]) => [k, Number(v)]));
  send({ type: 'measured', peakRssBytes: process.resourceUsage().maxRSS * 1024, firstPageMs: times, sessionsInList: count, rows });
}

async function close(): Promise<void> {
  await closeApi();
  process.exit(0);
}

send({ type: 'ready', port: typeof address === 'object' && address !== null ? address.port : 0, token, captureId: capture.id });
