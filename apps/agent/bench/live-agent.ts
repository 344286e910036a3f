/**
 * The agent side of live-bench.ts, in a process of its own as in a deployment (`mailscope-agent
 * run`): the AgentRunner the CLI runs, connected to the bench's API (its log lines are not kept: the bench prints figures). Talks to
 * the parent over IPC: `ready` once it runs; on `stats` answers with the frames libpcap delivered
 * to its captures, the frames the kernel dropped (plus batches the spool refused: none unless it
 * fills), and its CPU seconds so far; on `close` shuts down (flushing what is spooled) and
 * exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpuSeconds } from '../../api/bench/cpu-time.ts';
import { AgentRunner } from '../src/agent-runner.ts';
import { CAPTURE_NICENESS } from '../src/capture/priority.ts';
import type { CapturePipeline } from '../src/capture/capture-pipeline.ts';
import { Spool } from '../src/spool/spool.ts';

export interface AgentConfig {
  readonly api: string;
  readonly token: string;
  readonly spoolDir: string;
  readonly bufferBytes?: number;
}

export type AgentRequest = { readonly type: 'stats' } | { readonly type: 'close' };
export type AgentMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'stats'; readonly received: number; readonly dropped: number; readonly cpuSeconds: number; readonly maxStallMs: number };

const config = JSON.parse(process.env.MAILSCOPE_BENCH_AGENT ?? '{}') as AgentConfig;
const runner = new AgentRunner({
  api: config.api, token: config.token, name: 'bench-live', spool: new Spool(config.spoolDir), log: () => undefined,
  statusIntervalMs: 500, drainMs: 5_000, niceness: CAPTURE_NICENESS,
  ...(config.bufferBytes === undefined ? {} : { bufferBytes: config.bufferBytes }),
});
const exited = runner.run();
// The longest the event loop was held since the last stats: frames wait in libpcap's ring meanwhile.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const captures = (runner as unknown as { captures: Map<string, CapturePipeline> }).captures;

process.on('message', (m: AgentRequest) => {
  if (m.type === 'stats') {
    let received = 0;
    let dropped = 0;
    for (const c of captures.values()) {
      const s = c.status();
      received += s.received;
      dropped += s.dropped;
    }
    process.send?.({ type: 'stats', received, dropped, cpuSeconds: cpuSeconds(), maxStallMs: loopDelay.max / 1e6 } satisfies AgentMessage);
    loopDelay.reset();
  }
  if (m.type === 'close') {
    void runner.shutdown(0).then(() => exited).finally(() => process.exit(0));
  }
});
process.send?.({ type: 'ready' } satisfies AgentMessage);
