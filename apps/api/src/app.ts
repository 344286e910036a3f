/**
 * Builds the API as a Fastify instance without listening (STYLE.md, fastify/demo): server.ts
 * listens, tests `inject`. Everything the app needs comes in `deps`; nothing here reads the
 * environment or opens the database.
 */
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Database } from '@mailscope/db';
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyServerOptions } from 'fastify';
import { installAuth } from './auth/auth-hooks.ts';
import type { AuthUser } from './auth/login-sessions.ts';
import { LoginRateLimiter } from './auth/rate-limit.ts';
import type { Config } from './env.ts';
import { HttpError } from './http-errors.ts';
import { apiRoutes } from './routes/index.ts';
import type { AgentControl } from './services/agent-control.ts';
import { disconnectedAgentControl } from './services/agent-control.ts';
import { AppEvents } from './services/app-events.ts';

/** What `buildApp` needs. Only `db` and `config` are required. */
export interface AppDeps {
  readonly db: Database;
  readonly config: Config;
  /** Reaches capture agents (the /agent gateway); default: no agent is ever connected. */
  readonly agentControl?: AgentControl;
  /** Notifications for the socket gateways (settings-changed, ...); default: a new emitter. */
  readonly events?: AppEvents;
  /** Failed-login counter; default 10 failures per address per 15 minutes. */
  readonly loginRateLimiter?: LoginRateLimiter;
  /** More route plugins, registered under /api after the core ones (uploads, ...). */
  readonly routes?: readonly FastifyPluginAsync[];
  /** Fastify's logger option; default: pino at `config.logLevel`. */
  readonly logger?: FastifyServerOptions['logger'];
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
    config: Config;
    agentControl: AgentControl;
    events: AppEvents;
    loginRateLimiter: LoginRateLimiter;
    /** preHandler: 401 unless signed in; sets `request.user`. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** preHandler: 401 unless signed in, 403 unless admin; sets `request.user`. */
    requireAdmin: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    /** The signed-in user, set by `authenticate` / `requireAdmin`; null before them. */
    user: AuthUser | null;
  }
}

export type App = FastifyInstance;

/** Builds the app; call `ready()` or `listen()` on it (or `inject`, which readies it). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? { level: deps.config.logLevel },
    // Behind the compose file's reverse proxy the client address is in X-Forwarded-For; the login
    // rate limit counts per client address, so trust exactly one hop only when configured to.
    trustProxy: false,
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('db', deps.db);
  app.decorate('config', deps.config);
  app.decorate('agentControl', deps.agentControl ?? disconnectedAgentControl);
  app.decorate('events', deps.events ?? new AppEvents());
  app.decorate('loginRateLimiter', deps.loginRateLimiter ?? new LoginRateLimiter());
  installAuth(app);

  app.setErrorHandler((error: FastifyError | HttpError | Error, request, reply) => {
    const status = 'statusCode' in error && typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.status(status).send({ statusCode: status, error: 'Internal Server Error', message: 'internal error; see the API log' });
    }
    const body: Record<string, unknown> = { statusCode: status, error: errorName(status), message: error.message };
    if (error instanceof HttpError && error.details !== undefined) Object.assign(body, error.details);
    if (status === 429 && error instanceof HttpError && typeof error.details?.retryAfter === 'number') {
      void reply.header('retry-after', String(error.details.retryAfter));
    }
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` }),
  );

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Mailscope API', version: '0.1.0', description: 'Sessions, packets, mails, settings and capture control of Mailscope.' },
      components: { securitySchemes: { cookieAuth: { type: 'apiKey', in: 'cookie', name: 'mailscope_session' } } },
      security: [{ cookieAuth: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(apiRoutes, { prefix: '/api' });
  for (const plugin of deps.routes ?? []) await app.register(plugin, { prefix: '/api' });
  return app;
}

function errorName(status: number): string {
  switch (status) {
    case 400: return 'Bad Request';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'Not Found';
    case 409: return 'Conflict';
    case 413: return 'Payload Too Large';
    case 415: return 'Unsupported Media Type';
    case 429: return 'Too Many Requests';
    default: return 'Error';
  }
}
