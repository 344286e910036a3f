/**
 * The `/ui` namespace: signed-in browsers receive live updates (capture status, sessions opened /
 * updated / closed, mails, upload progress, and a stats tick once a second while rows arrive).
 * The handshake is authenticated by the login cookie, like every REST route; browsers send nothing.
 */
import type { ServerToUiEvents, UiToServerEvents } from '@mailscope/shared';
import type { FastifyBaseLogger } from 'fastify';
import type { Namespace } from 'socket.io';
import type { StoredDelta, UiBroadcaster } from '../ingest/ui-broadcaster.ts';

export interface UiSocketData {
  userId: string;
}

export type UiNamespace = Namespace<UiToServerEvents, ServerToUiEvents, Record<string, never>, UiSocketData>;

export interface UiGatewayOptions {
  /** The signed-in user of a Cookie header, or null (src/auth: authenticateCookieHeader). */
  readonly authenticate: (cookieHeader: string | undefined) => Promise<{ readonly id: string } | null>;
  readonly log: FastifyBaseLogger;
  /** Stats tick period; default 1000 ms. */
  readonly tickMs?: number;
}

/** The connect_error message of a browser that is not signed in. */
export const UI_NOT_SIGNED_IN = 'not signed in';

export class UiGateway implements UiBroadcaster {
  private pending = { packets: 0, sessions: 0, timeline: 0, mails: 0, bytes: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly nsp: UiNamespace, opts: UiGatewayOptions) {
    nsp.use((socket, next) => {
      void opts.authenticate(socket.handshake.headers.cookie).then(
        (user) => {
          if (user === null) {
            opts.log.info({ address: socket.handshake.address }, '/ui refused: not signed in');
            next(new Error(UI_NOT_SIGNED_IN));
            return;
          }
          socket.data.userId = user.id;
          next();
        },
        (e: unknown) => {
          opts.log.error({ err: e }, '/ui authentication failed');
          next(new Error('authentication failed'));
        },
      );
    });
    this.timer = setInterval(() => this.tick(), opts.tickMs ?? 1000);
    this.timer.unref();
  }

  emit<E extends keyof ServerToUiEvents>(event: E, ...args: Parameters<ServerToUiEvents[E]>): void {
    this.nsp.emit(event, ...args);
  }

  stored(delta: StoredDelta): void {
    const p = this.pending;
    p.packets += delta.packets;
    p.sessions += delta.sessions;
    p.timeline += delta.timeline;
    p.mails += delta.mails;
    p.bytes += delta.bytes;
  }

  /** Sends the stats tick if anything was stored since the last one. */
  tick(): void {
    const p = this.pending;
    if (p.packets + p.sessions + p.timeline + p.mails === 0) return;
    this.pending = { packets: 0, sessions: 0, timeline: 0, mails: 0, bytes: 0 };
    this.nsp.emit('stats', { at: Date.now(), ...p });
  }

  close(): void {
    clearInterval(this.timer);
    this.nsp.disconnectSockets(true);
  }
}
