/**
 * End-to-end ingest benchmark: an agent (socket.io-client, this process) pushes packet records
 * with realistic frames, sessions and their timelines through /agent into the API (a child
 * process on the embedded PostgreSQL, ingest-bench-server.ts), waits for every ack, and prints
 * rows per second end to end, the API process's peak RSS, and the time of the first page of the
 * session list over all those sessions.
 *
 *   npm run bench:ingest [-- --packets 1000000 --sessions 100000 --in-flight 4]
 *
 * Each session: opened, 10 packets (frames of 100-1500 bytes: handshake and ACKs small, data
 * segments large), 8 timeline entries, closed. Batches hold up to 500 sessions (5,000 packets,
 * the protocol's limit).
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { AgentToServerEvents, BatchAck, ServerToAgentEvents } from '@mailscope/shared';
import { packBatch } from '@mailscope/shared';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import type { ServerMessage } from './ingest-bench-server.ts';
import { TIMELINE_PER_SESSION, makeBatch } from './ingest-batches.ts';

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '1000000' },
    sessions: { type: 'string', default: '100000' },
    'in-flight': { type: 'string', default: '4' },
    'sessions-per-batch': { type: 'string', default: '500' },
    /** Extra node options for the API process, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'. */
    'api-node-args': { type: 'string', default: '' },
  },
});
const PACKETS = Number(values.packets);
const SESSIONS = Number(values.sessions);
const IN_FLIGHT = Number(values['in-flight']);
const PER_BATCH = Number(values['sessions-per-batch']);
const PACKETS_PER_SESSION = Math.max(1, Math.round(PACKETS / SESSIONS));

const TARGET_ROWS_PER_S = 100_000;
const TARGET_FIRST_PAGE_MS = 50;

const child = fork(new URL('./ingest-bench-server.ts', import.meta.url), [], { execArgv: ['--import', 'tsx', ...values['api-node-args'].split(' ').filter((a) => a !== '')], stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
const nextMessage = <T extends ServerMessage['type']>(type: T): Promise<Extract<ServerMessage, { type: T }>> =>
  new Promise((resolve, reject) => {
    const onMessage = (m: ServerMessage): void => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      resolve(m as Extract<ServerMessage, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`API process exited (${code})`)));
  });

console.log('starting the API on the embedded PostgreSQL ...');
const ready = await nextMessage('ready');
const agent: Socket<ServerToAgentEvents, AgentToServerEvents> = io(`http://127.0.0.1:${ready.port}/agent`, { transports: ['websocket'], auth: { token: ready.token } });
await new Promise<void>((resolve, reject) => {
  agent.once('connect', () => resolve());
  agent.once('connect_error', reject);
});
agent.on('disconnect', (reason, details) => console.error(`agent disconnected: ${reason}`, details ?? ''));
const hello = await agent.emitWithAck('hello', { name: 'bench', host: 'bench', version: '0', interfaces: [] });
if (!hello.ok) throw new Error(hello.error);

const batches = Math.ceil(SESSIONS / PER_BATCH);
console.log(`pushing ${SESSIONS.toLocaleString('en')} sessions, ${(SESSIONS * PACKETS_PER_SESSION).toLocaleString('en')} packets, ${(SESSIONS * TIMELINE_PER_SESSION).toLocaleString('en')} timeline entries in ${batches} batches, ${IN_FLIGHT} in flight ...`);
child.send({ type: 'cpu' });
const cpuBefore = await nextMessage('cpu');
const clientCpuBefore = process.cpuUsage();
const t0 = performance.now();
const stored = { packets: 0, sessions: 0, timeline: 0, mails: 0 };
let rawBytes = 0;
let next = 0;
const pending = new Set<Promise<void>>();
let lastReport = t0;
while (next < batches || pending.size > 0) {
  while (next < batches && pending.size < IN_FLIGHT) {
    const first = next * PER_BATCH + 1;
    const batch = makeBatch(ready.captureId, next, first, Math.min(PER_BATCH, SESSIONS - first + 1), PACKETS_PER_SESSION);
    for (const p of batch.packets) rawBytes += p.raw.byteLength;
    next++;
    const p: Promise<void> = agent.timeout(120_000).emitWithAck('batch', packBatch(batch)).then((ack: BatchAck) => {
      if (!ack.ok) throw new Error(`batch refused: ${ack.error}`);
      stored.packets += ack.stored.packets;
      stored.sessions += ack.stored.sessions;
      stored.timeline += ack.stored.timeline;
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.race(pending);
  const now = performance.now();
  if (now - lastReport > 5000) {
    lastReport = now;
    console.log(`  ${stored.packets.toLocaleString('en')} packets stored, ${Math.round(stored.packets / ((now - t0) / 1000)).toLocaleString('en')}/s`);
  }
}
const seconds = (performance.now() - t0) / 1000;
const clientCpu = process.cpuUsage(clientCpuBefore);
child.send({ type: 'cpu' });
const cpuAfter = await nextMessage('cpu');
agent.disconnect();
const cpu = {
  api: cpuAfter.apiSeconds - cpuBefore.apiSeconds,
  agent: (clientCpu.user + clientCpu.system) / 1e6,
  postgres: cpuAfter.postgresSeconds === null || cpuBefore.postgresSeconds === null ? null : cpuAfter.postgresSeconds - cpuBefore.postgresSeconds,
};
const cpuTotal = cpu.api + cpu.agent + (cpu.postgres ?? 0);

child.send({ type: 'measure' });
const m = await nextMessage('measured');
child.send({ type: 'close' });

const packetRate = stored.packets / seconds;
const allRows = stored.packets + stored.sessions + stored.timeline;
const sorted = [...m.firstPageMs].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;
const ok = (good: boolean): string => (good ? 'met' : 'NOT met');
console.log(`
ingest benchmark (${batches} batches of up to ${PER_BATCH} sessions, ${IN_FLIGHT} in flight, ${(rawBytes / 1048576).toFixed(0)} MiB of frames)
  stored                 ${stored.packets.toLocaleString('en')} packets, ${stored.sessions.toLocaleString('en')} sessions, ${stored.timeline.toLocaleString('en')} timeline entries in ${seconds.toFixed(1)} s
  in the database        ${Object.entries(m.rows).map(([k, v]) => `${k} ${v.toLocaleString('en')}`).join(', ')}
  packet records/s       ${Math.round(packetRate).toLocaleString('en')} end to end   (target >= ${TARGET_ROWS_PER_S.toLocaleString('en')}: ${ok(packetRate >= TARGET_ROWS_PER_S)})
  all rows/s             ${Math.round(allRows / seconds).toLocaleString('en')} (packets + sessions + timeline entries)
  frame bytes/s          ${(rawBytes / 1048576 / seconds).toFixed(1)} MiB/s
  CPU seconds            API ${cpu.api.toFixed(1)}, agent (this process: building and sending the batches) ${cpu.agent.toFixed(1)}, PostgreSQL ${cpu.postgres === null ? '? (no /proc)' : cpu.postgres.toFixed(1)}; ${cpuTotal.toFixed(1)} in ${seconds.toFixed(1)} s = ${(cpuTotal / seconds).toFixed(2)} of ${availableParallelism()} cores
  CPU per packet record  API ${(cpu.api / stored.packets * 1e6).toFixed(1)} µs, PostgreSQL ${cpu.postgres === null ? '?' : (cpu.postgres / stored.packets * 1e6).toFixed(1)} µs (with its share of the sessions and timeline entries)
  API peak RSS           ${(m.peakRssBytes / 1048576).toFixed(0)} MB
  session list page 1    median ${median.toFixed(1)} ms of ${m.firstPageMs.length} requests (best ${sorted[0]!.toFixed(1)} ms; the very first, cold: ${m.firstPageMs[0]!.toFixed(1)} ms), ${m.sessionsInList} of ${m.rows.sessions?.toLocaleString('en')} sessions, GET /api/sessions?limit=50   (target < ${TARGET_FIRST_PAGE_MS} ms: ${ok(median < TARGET_FIRST_PAGE_MS)})`);
