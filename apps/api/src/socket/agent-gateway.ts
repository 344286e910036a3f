/**
 * The `/agent` namespace: capture agents connect here with their token, say `hello`, report
 * capture status and push batches of engine records (contract: @mailscope/shared agent-protocol).
 * It is also the API's AgentControl: the capture routes start and stop captures through it.
 *
 * Everything an agent sends is untrusted: the token is checked against Agent.tokenHash (sha256)
 * before any event is accepted, every payload is validated, a bad batch is refused in its ack with
 * the reason (and logged) and none of it is stored, and an agent may only touch its own captures.
 *
 * With `cluster` (MAILSCOPE_CLUSTER, socket/cluster.ts) the agent may be connected to another API
 * instance: each agent socket joins the room `agent:<id>`, commands for an agent not connected here
 * are broadcast to that room with acknowledgements (the adapter relays the agent's ack back), and
 * `connected` also knows the agents of the other instances (fetchSockets(), refreshed when an
 * instance says its agents changed and every `presenceRefreshMs`).
 */
import { createHash } from 'node:crypto';
import type { Database } from '@mailscope/db';
import type {
  AgentToServerEvents,
  BatchAck,
  CaptureImportAck,
  CaptureStartPayload,
  CaptureStatusPayload,
  CommandAck,
  HelloAck,
  MailModuleSettings,
  ServerToAgentEvents,
} from '@mailscope/shared';
import {
  INVALID_AGENT_TOKEN, validateBatch, validateCaptureImport, validateCaptureStatus, validateCommandAck, validateHello, validateMailSettingsPayload,
} from '@mailscope/shared';
import type { FastifyBaseLogger } from 'fastify';
import type { Namespace, Socket } from 'socket.io';
import type { AgentControl, CaptureStartRequest } from '../services/agent-control.ts';
import { AgentNotConnectedError } from '../services/agent-control.ts';
import { IngestRefusedError } from '../ingest/ingest-service.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import type { MailSettingsCache } from '../ingest/settings-cache.ts';
import type { UiBroadcaster } from '../ingest/ui-broadcaster.ts';

export interface AgentSocketData {
  agentId: string;
  agentName: string;
  /** Set once `hello` was accepted; batches and status before it are refused. */
  greeted: boolean;
}

/** Between API instances of a cluster, on /agent (serverSideEmit). */
export interface AgentInterServerEvents {
  /** An agent connected to or disconnected from the sending instance. */
  'agents-changed': () => void;
  /** The settings changed on the sending instance (it pushed them to every agent already). */
  'settings-changed': (settings: MailModuleSettings) => void;
}

export type AgentNamespace = Namespace<AgentToServerEvents, ServerToAgentEvents, AgentInterServerEvents, AgentSocketData>;
type AgentSocket = Socket<AgentToServerEvents, ServerToAgentEvents, AgentInterServerEvents, AgentSocketData>;

export interface AgentGatewayOptions {
  readonly db: Database;
  readonly log: FastifyBaseLogger;
  readonly ingest: IngestService;
  readonly settings: MailSettingsCache;
  readonly broadcaster: UiBroadcaster;
  /** How long `capture:start` / `capture:stop` wait for the agent's ack; default 10 s. */
  readonly commandTimeoutMs?: number;
  /** Several API instances share the socket.io adapter (see the top of this file); default false. */
  readonly cluster?: boolean;
  /** Cluster: period of the full refresh of the other instances' agents, ms; default 5000. */
  readonly presenceRefreshMs?: number;
}

/** The room of an agent's socket (cluster only). */
export function agentRoom(agentId: string): string {
  return `agent:${agentId}`;
}

/** Capture.error of a live capture whose agent came back without it. */
export const INTERRUPTED = 'agent restarted: capture interrupted';

/** Longest token accepted in a handshake (ours are `ms_` and 43 characters of base64url). */
const MAX_TOKEN_CHARS = 512;

/** Agent capture states to Capture.status (live captures: 'running', 'stopped', 'failed'). */
const STATUS_OF = { starting: 'running', running: 'running', stopped: 'stopped', error: 'failed' } as const;

export class AgentGateway implements AgentControl {
  private readonly sockets = new Map<string, AgentSocket>();
  /** Owner agent of each capture this process has seen, so an agent's batch costs no ownership query. */
  private readonly owners = new Map<string, string | null>();
  /** Captures whose `capture:start` is on its way to the agent: a hello meanwhile does not list them yet. */
  private readonly starting = new Set<string>();
  private readonly timeoutMs: number;
  private readonly cluster: boolean;
  /** Cluster: agents connected to the other instances, as the last fetchSockets() saw them. */
  private remoteAgents = new Set<string>();
  private presence: { running: boolean; again: boolean } = { running: false, again: false };
  private readonly presenceTimer: NodeJS.Timeout | undefined;

  constructor(private readonly nsp: AgentNamespace, private readonly opts: AgentGatewayOptions) {
    this.timeoutMs = opts.commandTimeoutMs ?? 10_000;
    this.cluster = opts.cluster ?? false;
    if (this.cluster) {
      nsp.on('agents-changed', () => this.refreshPresence());
      nsp.on('settings-changed', (settings) => {
        const checked = validateMailSettingsPayload(settings);
        if (checked.ok) opts.settings.set(checked.value);
        else opts.log.warn({ error: checked.error }, 'cluster: invalid settings from another instance ignored');
      });
      // Also catches what no event announces: an instance that died with its agents.
      this.presenceTimer = setInterval(() => this.refreshPresence(), opts.presenceRefreshMs ?? 5000);
      this.presenceTimer.unref();
    }
    nsp.use((socket, next) => {
      void this.authenticate(socket).then(
        (ok) => next(ok ? undefined : new Error(INVALID_AGENT_TOKEN)),
        (e: unknown) => {
          opts.log.error({ err: e }, 'agent authentication failed');
          next(new Error('agent authentication failed'));
        },
      );
    });
    nsp.on('connection', (socket) => this.onConnection(socket));
  }

  /** Pushes new settings to every connected agent. */
  pushSettings(settings: MailModuleSettings): void {
    // Cluster: this broadcast reaches the agents of every instance; the other instances only need
    // the new settings for their own ingest and hello acks.
    this.nsp.emit('settings', settings);
    if (this.cluster) this.nsp.serverSideEmit('settings-changed', settings);
  }

  connected(agentId: string): boolean {
    return this.sockets.has(agentId) || this.remoteAgents.has(agentId);
  }

  async start(agentId: string, request: CaptureStartRequest): Promise<void> {
    const target = this.target(agentId);
    this.owners.set(request.captureId, agentId);
    const payload: CaptureStartPayload = { captureId: request.captureId, interface: request.interface, filter: request.filter };
    this.starting.add(request.captureId);
    try {
      await this.command(target, 'capture:start', payload);
    } finally {
      this.starting.delete(request.captureId);
    }
  }

  async stop(captureId: string): Promise<void> {
    const agentId = await this.ownerOf(captureId);
    if (agentId === null) throw new AgentNotConnectedError();
    await this.command(this.target(agentId), 'capture:stop', { captureId });
  }

  /** Stops the cluster presence refresh; the sockets are disconnected by the caller. */
  close(): void {
    if (this.presenceTimer !== undefined) clearInterval(this.presenceTimer);
  }

  /** The agent's socket here; in a cluster otherwise its id (its room, wherever it is connected). */
  private target(agentId: string): AgentSocket | string {
    const socket = this.sockets.get(agentId);
    if (socket !== undefined) return socket;
    if (this.cluster) return agentId;
    throw new AgentNotConnectedError();
  }

  private async command(target: AgentSocket | string, event: 'capture:start' | 'capture:stop', payload: CaptureStartPayload | { captureId: string }): Promise<void> {
    let ack: unknown;
    try {
      if (typeof target === 'string') ack = await this.remoteCommand(target, event, payload);
      else {
        ack = event === 'capture:start'
          ? await target.timeout(this.timeoutMs).emitWithAck('capture:start', payload as CaptureStartPayload)
          : await target.timeout(this.timeoutMs).emitWithAck('capture:stop', payload);
      }
    } catch (e) {
      if (e instanceof AgentNotConnectedError) throw e;
      throw new Error(`agent did not answer ${event} within ${this.timeoutMs / 1000} s`);
    }
    const checked = validateCommandAck(ack);
    if (!checked.ok) throw new Error(`agent answered ${event} with an invalid ack`);
    const res = checked.value as CommandAck;
    if (!res.ok) throw new Error(`agent refused ${event}: ${res.error}`);
  }

  /**
   * Cluster: the command to the agent's room with acknowledgements. The adapter knows how many
   * instances there are: it resolves once each has said how many sockets of the room it has and
   * those answered (none anywhere: [] at once), and rejects after the timeout when the agent or an
   * instance does not answer. Two sockets of one agent exist only for a moment (a new connection
   * disconnects the older ones, see onConnection): an 'ok' ack wins.
   */
  private async remoteCommand(agentId: string, event: 'capture:start' | 'capture:stop', payload: CaptureStartPayload | { captureId: string }): Promise<unknown> {
    const room = this.nsp.to(agentRoom(agentId)).timeout(this.timeoutMs);
    const acks: unknown[] = event === 'capture:start'
      ? await room.emitWithAck('capture:start', payload as CaptureStartPayload)
      : await room.emitWithAck('capture:stop', payload);
    if (acks.length === 0) throw new AgentNotConnectedError();
    return acks.find((a) => validateCommandAck(a).ok && (a as CommandAck).ok) ?? acks[0];
  }

  /** Cluster: re-reads which agents the other instances have; one refresh at a time, then one more if asked meanwhile. */
  private refreshPresence(): void {
    if (this.presence.running) {
      this.presence.again = true;
      return;
    }
    this.presence = { running: true, again: false };
    void this.nsp.fetchSockets().then(
      (sockets) => {
        const remote = new Set<string>();
        for (const s of sockets) if (!this.nsp.sockets.has(s.id)) remote.add(s.data.agentId);
        this.remoteAgents = remote;
      },
      // An instance that stopped answering: the adapter drops it after its heartbeat timeout; until
      // then the previous view stands.
      (e: unknown) => this.opts.log.debug({ err: e }, 'cluster: could not list the agents of the other instances'),
    ).finally(() => {
      const again = this.presence.again;
      this.presence = { running: false, again: false };
      if (again) this.refreshPresence();
    });
  }

  private async authenticate(socket: AgentSocket): Promise<boolean> {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const address = socket.handshake.address;
    if (typeof token !== 'string' || token === '' || token.length > MAX_TOKEN_CHARS) {
      this.opts.log.warn({ address }, 'agent refused: no token in the handshake');
      return false;
    }
    const tokenHash = createHash('sha256').update(token).digest('hex');
    const agent = await this.opts.db.prisma.agent.findUnique({ where: { tokenHash }, select: { id: true, name: true } });
    if (agent === null) {
      this.opts.log.warn({ address }, 'agent refused: invalid agent token');
      return false;
    }
    socket.data.agentId = agent.id;
    socket.data.agentName = agent.name;
    socket.data.greeted = false;
    return true;
  }

  private onConnection(socket: AgentSocket): void {
    const { agentId, agentName } = socket.data;
    const log = this.opts.log.child({ agentId, agent: agentName });
    const previous = this.sockets.get(agentId);
    if (previous !== undefined && previous.id !== socket.id) previous.disconnect(true);
    this.sockets.set(agentId, socket);
    if (this.cluster) {
      void socket.join(agentRoom(agentId));
      // Its older connection on another instance (the agent reconnected here): one socket per agent.
      this.nsp.in(agentRoom(agentId)).except(socket.id).disconnectSockets(true);
      this.nsp.serverSideEmit('agents-changed');
    }
    log.info({ address: socket.handshake.address }, 'agent connected');

    socket.on('disconnect', (reason) => {
      if (this.sockets.get(agentId) === socket) this.sockets.delete(agentId);
      if (this.cluster) this.nsp.serverSideEmit('agents-changed');
      log.info({ reason }, 'agent disconnected');
    });

    socket.on('hello', (payload, ack) => {
      void this.onHello(socket, payload, log).then((res) => reply(ack, res));
    });
    socket.on('capture:import', (payload, ack) => {
      void this.onImport(socket, payload, log).then((res) => reply(ack, res));
    });
    socket.on('capture:status', (payload, ack) => {
      void this.onStatus(socket, payload, log).then((res) => reply(ack, res));
    });
    // Batches are handed to the store in the order they arrived: a batch whose owner lookup is
    // quick must not overtake one whose lookup is still running (its sessions may open there).
    let turn: Promise<unknown> = Promise.resolve();
    socket.on('batch', (payload, ack) => {
      const handed = turn.then(() => this.onBatch(socket, payload, log));
      turn = handed.catch(() => undefined);
      void handed.then(
        (h) => h.ack,
        (e: unknown): BatchAck => {
          log.error({ err: e }, 'could not store a batch');
          return { ok: false, error: 'could not store the batch; see the API log', retry: true };
        },
      ).then((res) => reply(ack, res));
    });
  }

  private async onHello(socket: AgentSocket, payload: unknown, log: FastifyBaseLogger): Promise<HelloAck> {
    const checked = validateHello(payload);
    if (!checked.ok) {
      log.warn({ error: checked.error }, 'hello refused');
      return { ok: false, error: checked.error };
    }
    const hello = checked.value;
    try {
      await this.opts.db.prisma.agent.update({
        where: { id: socket.data.agentId },
        data: { host: hello.host, version: hello.version, interfaces: hello.interfaces, lastSeen: new Date() },
      });
    } catch (e) {
      log.error({ err: e }, 'could not record the agent hello');
      return { ok: false, error: 'could not record the hello; see the API log' };
    }
    if (hello.captures !== undefined) {
      try {
        await this.stopInterrupted(socket.data.agentId, hello.captures, log);
      } catch (e) {
        log.error({ err: e }, 'could not stop the captures the agent no longer runs');
        return { ok: false, error: 'could not record the hello; see the API log' };
      }
    }
    socket.data.greeted = true;
    log.info({ host: hello.host, version: hello.version, interfaces: hello.interfaces.length }, 'agent hello');
    return { ok: true, agentId: socket.data.agentId, settings: this.opts.settings.current };
  }

  /**
   * The agent's live captures still 'running' here but not running in the agent process (it
   * restarted, or crashed): nothing captures for them any more, and the new process numbers frames
   * and sessions from 1 again, so it must never send under those ids. They end as stopped.
   */
  private async stopInterrupted(agentId: string, running: readonly string[], log: FastifyBaseLogger): Promise<void> {
    const keep = new Set(running);
    const stale = await this.opts.db.prisma.capture.findMany({
      where: { agentId, source: 'live', status: { in: ['running', 'starting'] } },
      select: { id: true },
    });
    const ids = stale.map((c) => c.id).filter((id) => !keep.has(id) && !this.starting.has(id));
    if (ids.length === 0) return;
    await this.opts.db.prisma.capture.updateMany({
      where: { id: { in: ids }, status: { in: ['running', 'starting'] } },
      data: { status: 'stopped', error: INTERRUPTED, stoppedAt: new Date() },
    });
    log.warn({ captures: ids }, 'agent restarted: its running captures were interrupted and are stopped');
    const rows = await this.opts.db.prisma.capture.findMany({ where: { id: { in: ids } } });
    for (const row of rows) {
      this.opts.ingest.forget(row.id);
      this.opts.broadcaster.emit('capture:status', {
        captureId: row.id, source: row.source, status: row.status, error: row.error, packets: Number(row.packets), drops: Number(row.drops),
        sessions: row.sessions, mails: row.mails, bytes: Number(row.bytes),
      });
    }
  }

  /** `mailscope-agent import`: a capture of this agent (source 'upload', running) for a file's batches. */
  private async onImport(socket: AgentSocket, payload: unknown, log: FastifyBaseLogger): Promise<CaptureImportAck> {
    if (!socket.data.greeted) {
      log.warn('capture:import refused: no hello yet');
      return { ok: false, error: 'send hello before capture:import' };
    }
    const checked = validateCaptureImport(payload);
    if (!checked.ok) {
      log.warn({ error: checked.error }, 'capture:import refused');
      return { ok: false, error: checked.error };
    }
    const { fileName, sizeBytes } = checked.value;
    try {
      const row = await this.opts.db.prisma.capture.create({
        data: { agentId: socket.data.agentId, source: 'upload', fileName, status: 'running', startedAt: new Date() },
      });
      this.owners.set(row.id, socket.data.agentId);
      log.info({ captureId: row.id, fileName, sizeBytes }, 'agent import started');
      this.opts.broadcaster.emit('capture:status', {
        captureId: row.id, source: row.source, status: row.status, error: row.error, packets: Number(row.packets), drops: Number(row.drops),
        sessions: row.sessions, mails: row.mails, bytes: Number(row.bytes),
      });
      return { ok: true, captureId: row.id };
    } catch (e) {
      log.error({ err: e }, 'could not create the capture of an import');
      return { ok: false, error: 'could not create the capture; see the API log' };
    }
  }

  /** Records a capture's state; the ack (when the agent asks for one) says once it is recorded. */
  private async onStatus(socket: AgentSocket, payload: unknown, log: FastifyBaseLogger): Promise<CommandAck> {
    const checked = validateCaptureStatus(payload);
    if (!checked.ok) {
      log.warn({ error: checked.error }, 'capture:status refused');
      return { ok: false, error: checked.error };
    }
    const status: CaptureStatusPayload = checked.value;
    if (!socket.data.greeted || (await this.ownerOf(status.captureId)) !== socket.data.agentId) {
      log.warn({ captureId: status.captureId }, 'capture:status refused: not a capture of this agent (or no hello yet)');
      return { ok: false, error: `capture ${status.captureId} is not a capture of this agent (or no hello yet)` };
    }
    try {
      const ended = status.state === 'stopped' || status.state === 'error';
      const row = await this.opts.db.prisma.capture.update({
        where: { id: status.captureId },
        data: {
          status: STATUS_OF[status.state],
          drops: BigInt(status.dropped),
          ...(status.state === 'error' ? { error: status.error ?? 'capture failed on the agent' } : {}),
          ...(ended ? { stoppedAt: new Date() } : {}),
        },
      });
      await this.opts.db.prisma.agent.update({ where: { id: socket.data.agentId }, data: { lastSeen: new Date() } });
      if (ended) this.opts.ingest.forget(status.captureId);
      this.opts.broadcaster.emit('capture:status', {
        captureId: row.id, source: row.source, status: row.status, error: row.error, packets: Number(row.packets), drops: Number(row.drops),
        sessions: row.sessions, mails: row.mails, bytes: Number(row.bytes),
      });
      return { ok: true };
    } catch (e) {
      log.error({ err: e, captureId: status.captureId }, 'could not record the capture status');
      return { ok: false, error: 'could not record the capture status; see the API log' };
    }
  }

  /**
   * Checks a batch and hands it to the store; resolves once handed (or refused), with the answer
   * to come. Never rejects.
   */
  private async onBatch(socket: AgentSocket, payload: unknown, log: FastifyBaseLogger): Promise<{ readonly ack: Promise<BatchAck> }> {
    const now = (ack: BatchAck): { ack: Promise<BatchAck> } => ({ ack: Promise.resolve(ack) });
    const checked = validateBatch(payload);
    if (!checked.ok) {
      log.warn({ error: checked.error }, 'batch refused');
      return now({ ok: false, error: checked.error });
    }
    const batch = checked.value;
    if (!socket.data.greeted) return now(refuse(log, batch.batchId, 'send hello before batches'));
    let owner: string | null;
    try {
      owner = await this.ownerOf(batch.captureId);
    } catch (e) {
      log.error({ err: e }, 'could not look up the capture of a batch');
      return now({ ok: false, error: 'could not store the batch; see the API log', retry: true });
    }
    if (owner !== socket.data.agentId) return now(refuse(log, batch.batchId, `capture ${batch.captureId} is not a capture of this agent`));
    const ack = this.opts.ingest.ingest(batch.captureId, batch).then(
      (stored): BatchAck => ({ ok: true, stored }),
      (e: unknown): BatchAck => {
        if (e instanceof IngestRefusedError) return refuse(log, batch.batchId, e.message);
        log.error({ err: e, batchId: batch.batchId, captureId: batch.captureId }, 'could not store a batch');
        return { ok: false, error: 'could not store the batch; see the API log', retry: true };
      },
    );
    return { ack };
  }

  /** The agent that owns `captureId` (null: an upload, or no such capture). */
  private async ownerOf(captureId: string): Promise<string | null> {
    const cached = this.owners.get(captureId);
    if (cached !== undefined) return cached;
    const row = await this.opts.db.prisma.capture.findUnique({ where: { id: captureId }, select: { agentId: true } });
    const owner = row?.agentId ?? null;
    if (row !== null) this.owners.set(captureId, owner);
    return owner;
  }
}

function refuse(log: FastifyBaseLogger, batchId: string, error: string): BatchAck {
  log.warn({ batchId, error }, 'batch refused');
  return { ok: false, error };
}

/** Calls a socket.io ack if the sender asked for one (a client may emit without). */
function reply<T>(ack: unknown, res: T): void {
  if (typeof ack === 'function') (ack as (r: T) => void)(res);
}
