/** Where @mailscope/db reports what it does; Fastify's (pino) logger fits, so does `console`. */
export interface DbLogger {
  info(message: string): void;
  warn(message: string): void;
}

export const silentLogger: DbLogger = { info: () => undefined, warn: () => undefined };
