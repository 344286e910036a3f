/**
 * `mailscope-agent run`: the agent's connection to the API's `/agent` namespace. Says hello with
 * the host's interfaces, takes the mail-module settings, starts and stops captures when the
 * dashboard says so, reports each capture's counters every second, and sends the spooled batches.
 *
 * Failures and what the agent does:
 * - the API refuses the token: there is nothing to retry - the message says so, exit 1;
 * - the API unreachable or gone: socket.io reconnects (backoff up to 5 s); captures go on and
 *   their batches wait in the spool, sent in order once the connection is back;
 * - a capture that cannot start (permission, unknown interface, bad filter, no libpcap): the
 *   dashboard gets the message in the command's ack and a `capture:status` with state `error`;
 *   the agent keeps running;
 * - the agent restarted (or crashed) during a capture: its hello lists the captures running in
 *   this process, and the API stops the others; a `capture:start` for an id this spool has
 *   batches of (from this process or an earlier one) is refused, because frame and session
 *   numbers start again at 1 and the API keeps the first record of each; the old batches are
 *   still sent, in order;
 * - SIGINT / SIGTERM: captures stop (their last sessions closed and spooled), the spool is sent
 *   for up to `drainMs`, what is left stays on disk and goes at the next start.
 */
import { hostname } from 'node:os';
import { io, type Socket } from 'socket.io-client';
import type { MailModuleSettings } from '@mailscope/shared';
import {
  INVALID_AGENT_TOKEN,
  validateCaptureStart,
  validateCaptureStop,
  validateMailSettingsPayload,
  type AgentToServerEvents,
  type BatchAck,
  type CaptureState,
  type CommandAck,
  type HelloAck,
  type ServerToAgentEvents,
  AGENT_PROTOCOL_LIMITS,
} from '@mailscope/shared/agent-protocol';
import { BatchSender, loggedSenderEvents } from './batch-sender.ts';
import { CapturePipeline } from './capture/capture-pipeline.ts';
import { CaptureError, listInterfaces, type CaptureInterface } from './capture/live-capture.ts';
import { prioritizeCapture } from './capture/priority.ts';
import type { Spool } from './spool/spool.ts';

export const AGENT_VERSION = '0.1.0';
/** Exit codes of `run`. */
export const EXIT_REFUSED = 1;

export interface AgentRunnerOptions {
  readonly api: string;
  readonly token: string;
  readonly name: string;
  readonly spool: Spool;
  readonly log: (line: string) => void;
  /** How long a clean shutdown waits for the spool to be sent (default 10 s). */
  readonly drainMs?: number;
  readonly statusIntervalMs?: number;
  /** libpcap kernel buffer per capture. */
  readonly bufferBytes?: number;
  /** Niceness for the thread that reads the capture ring (see capture/priority.ts); undefined: unchanged. */
  readonly niceness?: number;
}

type AgentSocket = Socket<ServerToAgentEvents, AgentToServerEvents>;

export class AgentRunner {
  private socket: AgentSocket | undefined;
  private settings: MailModuleSettings | undefined;
  private readonly captures = new Map<string, CapturePipeline>();
  private readonly sender: BatchSender;
  private greeted = false;
  private statusTimer: NodeJS.Timeout | undefined;
  private finished: ((code: number) => void) | undefined;
  private unreachableSince: number | undefined;
  private stopping = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AgentRunnerOptions) {
    this.sender = new BatchSender(
      options.spool,
      {
        isConnected: () => this.greeted && this.socket?.connected === true,
        send: (batch, timeoutMs) =>
          new Promise<BatchAck>((resolve, reject) => {
            const socket = this.socket;
            if (socket === undefined) return reject(new Error('not connected'));
            socket.timeout(timeoutMs).emit('batch', batch, (err: Error | null, ack: BatchAck) => (err ? reject(err) : resolve(ack)));
          }),
      },
      loggedSenderEvents(options.log),
    );
  }

  /** Connects and runs until `shutdown` or a refused token; resolves to the exit code. */
  run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.finished = resolve));
    if (this.options.niceness !== undefined) {
      const problem = prioritizeCapture(this.options.niceness);
      if (problem !== undefined) this.options.log(problem);
    }
    const socket: AgentSocket = io(`${this.options.api.replace(/\/+$/, '')}/agent`, {
      auth: { token: this.options.token },
      transports: ['websocket'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    this.socket = socket;
    socket.on('connect_error', (err) => {
      if (err.message === INVALID_AGENT_TOKEN) {
        this.options.log(`the API at ${this.options.api} refused the agent token: check --token (an admin creates agent tokens on the dashboard's Agents page)`);
        void this.shutdown(EXIT_REFUSED);
        return;
      }
      if (this.unreachableSince === undefined) {
        this.unreachableSince = Date.now();
        this.options.log(`cannot reach the API at ${this.options.api} (${err.message}); retrying, captures go on and batches wait in ${this.options.spool.dir}`);
      }
    });
    socket.on('connect', () => {
      if (this.unreachableSince !== undefined) this.options.log(`connected to ${this.options.api}; sending ${this.options.spool.length} spooled batches`);
      this.unreachableSince = undefined;
      void this.hello();
    });
    socket.on('disconnect', (reason) => {
      this.greeted = false;
      if (reason !== 'io client disconnect') {
        this.unreachableSince = Date.now();
        this.options.log(`lost the API (${reason}); reconnecting, batches wait in ${this.options.spool.dir}`);
      }
      // socket.io does not reconnect by itself after the server closed the socket, and that is what
      // an API shutting down does (its gateway disconnects every agent): without this the agent
      // would wait forever after the first API restart. A revoked token ends in connect_error.
      if (reason === 'io server disconnect' && !this.stopping) {
        this.reconnectTimer = setTimeout(() => {
          this.reconnectTimer = undefined;
          if (!this.stopping) socket.connect();
        }, 1000);
      }
    });
    socket.on('settings', (payload) => void this.applySettings(payload));
    socket.on('capture:start', (payload, ack) => void this.startCapture(payload).then(ack));
    socket.on('capture:stop', (payload, ack) => void this.stopCapture(payload).then(ack));
    this.statusTimer = setInterval(() => this.reportStatus(), this.options.statusIntervalMs ?? 1000);
    return done;
  }

  /** Stops the captures, sends what is spooled (bounded by `drainMs`), disconnects. */
  async shutdown(code = 0): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    if (this.statusTimer !== undefined) clearInterval(this.statusTimer);
    this.statusTimer = undefined;
    for (const [captureId, pipeline] of this.captures) {
      await pipeline.stop();
      this.emitStatus(captureId, 'stopped', pipeline);
    }
    this.captures.clear();
    if (code === 0 && this.greeted) {
      const sent = await this.sender.drain(this.options.drainMs ?? 10_000);
      if (!sent) this.options.log(`${this.options.spool.length} batches not acknowledged yet; they stay in ${this.options.spool.dir} and are sent at the next start`);
    }
    this.socket?.disconnect();
    this.finished?.(code);
  }

  private async hello(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return;
    let interfaces: CaptureInterface[] = [];
    try {
      interfaces = listInterfaces();
    } catch (err) {
      this.options.log(`cannot list interfaces: ${err instanceof Error ? err.message : String(err)}`);
    }
    let ack: HelloAck;
    try {
      // The captures running here, so the API stops the ones a crashed process left 'running'
      // (and not these, after a network blip). More than the protocol allows: left out, nothing is stopped.
      const running = [...this.captures.keys()];
      ack = await socket.timeout(10_000).emitWithAck('hello', {
        name: this.options.name, host: hostname(), version: AGENT_VERSION, interfaces,
        ...(running.length <= AGENT_PROTOCOL_LIMITS.maxHelloCaptures ? { captures: running } : {}),
      });
    } catch {
      return; // reconnect will say hello again
    }
    if (!ack.ok) {
      this.options.log(`the API refused the hello: ${ack.error}`);
      return;
    }
    this.greeted = true;
    await this.applySettings(ack.settings);
    this.sender.wake();
  }

  private async applySettings(payload: unknown): Promise<void> {
    const checked = validateMailSettingsPayload(payload);
    if (!checked.ok) {
      this.options.log(`ignored settings from the API: ${checked.error}`);
      return;
    }
    this.settings = checked.value;
    for (const [captureId, pipeline] of this.captures) {
      try {
        await pipeline.updateSettings(checked.value);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.options.log(`capture ${captureId}: new settings not applied: ${message}`);
        this.emitStatus(captureId, 'running', pipeline, message);
      }
    }
  }

  private async startCapture(payload: unknown): Promise<CommandAck> {
    const checked = validateCaptureStart(payload);
    if (!checked.ok) return { ok: false, error: checked.error };
    const { captureId, interface: device, filter } = checked.value;
    if (this.captures.has(captureId)) return { ok: true };
    const refused = refuseUsedCaptureId(this.options.spool, captureId);
    if (refused !== undefined) return refused;
    if (this.settings === undefined) return { ok: false, error: 'the agent has no settings yet (no hello acknowledged)' };
    const pipeline = new CapturePipeline({
      captureId,
      device,
      settings: this.settings,
      ...(filter !== '' ? { filter } : {}),
      spool: this.options.spool,
      onSpooled: () => this.sender.wake(),
      ...(this.options.bufferBytes !== undefined ? { bufferBytes: this.options.bufferBytes } : {}),
    });
    try {
      pipeline.start();
    } catch (err) {
      const message = err instanceof CaptureError ? err.message : `capture failed: ${err instanceof Error ? err.message : String(err)}`;
      this.options.log(`capture ${captureId} on '${device}': ${message}`);
      this.emitStatus(captureId, 'error', undefined, message);
      return { ok: false, error: message };
    }
    this.captures.set(captureId, pipeline);
    this.options.log(`capture ${captureId} started on '${device}' with filter '${pipeline.filter}'`);
    this.emitStatus(captureId, 'running', pipeline);
    return { ok: true };
  }

  private async stopCapture(payload: unknown): Promise<CommandAck> {
    const checked = validateCaptureStop(payload);
    if (!checked.ok) return { ok: false, error: checked.error };
    const pipeline = this.captures.get(checked.value.captureId);
    if (pipeline === undefined) return { ok: true };
    this.captures.delete(checked.value.captureId);
    await pipeline.stop();
    this.sender.wake();
    this.emitStatus(checked.value.captureId, 'stopped', pipeline);
    this.options.log(`capture ${checked.value.captureId} stopped`);
    return { ok: true };
  }

  private reportStatus(): void {
    for (const [captureId, pipeline] of this.captures) this.emitStatus(captureId, 'running', pipeline);
  }

  /** Counters of a capture; not sent while disconnected (socket.io would buffer stale ones). */
  private emitStatus(captureId: string, state: CaptureState, pipeline: CapturePipeline | undefined, error?: string): void {
    const socket = this.socket;
    if (socket === undefined || !socket.connected || !this.greeted) return;
    const s = pipeline?.status();
    socket.emit('capture:status', {
      captureId,
      state,
      ...(error !== undefined ? { error: error.slice(0, 4096) } : {}),
      received: s?.received ?? 0,
      dropped: s?.dropped ?? 0,
      queued: (s?.queuedInMemory ?? 0) + this.options.spool.records,
    });
  }
}

export const CAPTURE_ID_USED_BEFORE = 'capture id already used by a previous agent process; start a new capture';
export const CAPTURE_ID_USED = 'capture id already used by this agent (the capture ended); start a new capture';

/**
 * A capture id the spool has batches of may not be captured under again: a new capture numbers
 * frames and sessions from 1, and the API keeps the first record of each (capture, number), so
 * the new records would be dropped. undefined: the id is new.
 */
export function refuseUsedCaptureId(spool: Pick<Spool, 'usedBefore' | 'hasSpooled'>, captureId: string): CommandAck | undefined {
  if (spool.usedBefore.has(captureId.toLowerCase())) return { ok: false, error: CAPTURE_ID_USED_BEFORE };
  if (spool.hasSpooled(captureId)) return { ok: false, error: CAPTURE_ID_USED };
  return undefined;
}
