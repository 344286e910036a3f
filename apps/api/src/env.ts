/**
 * The API's configuration, read from the environment once at start (STYLE.md: nothing else reads
 * `process.env`). Every bad variable is reported at once, so a misconfigured deployment is fixed in
 * one round.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface Config {
  /** Address to listen on; default 0.0.0.0 (the compose file puts the API behind its own network). */
  readonly host: string;
  readonly port: number;
  /** PostgreSQL URL; undefined starts the embedded server in `<dataDir>/postgres`. */
  readonly databaseUrl: string | undefined;
  /** Absolute folder for the embedded database and uploads. */
  readonly dataDir: string;
  /** Largest capture upload, bytes. */
  readonly uploadLimitBytes: number;
  /** Password of the admin user created on first run; undefined = generated and printed once. */
  readonly adminPassword: string | undefined;
  readonly logLevel: LogLevel;
  /** Set the Secure flag on the login cookie (on behind HTTPS; off for plain-HTTP localhost). */
  readonly cookieSecure: boolean;
  /**
   * Days captured data is kept (MAILSCOPE_RETENTION_DAYS); undefined keeps everything. Optional so
   * a Config written before retention existed still type-checks.
   */
  readonly retentionDays?: number | undefined;
  /**
   * Token of the agent named `local`, registered (or its token replaced) at start
   * (MAILSCOPE_AGENT_TOKEN): what `npm start` and the compose file give the API and the agent alike.
   */
  readonly agentToken?: string | undefined;
  /**
   * MAILSCOPE_CLUSTER=postgres: several API instances share one PostgreSQL and reach each other's
   * browsers and agents through socket.io's PostgreSQL adapter (socket/cluster.ts); undefined (the
   * default, or `off`): one instance, nothing of the adapter is loaded. Optional like retentionDays.
   */
  readonly cluster?: 'postgres' | undefined;
}

/** Name of the agent MAILSCOPE_AGENT_TOKEN registers. */
export const LOCAL_AGENT_NAME = 'local';

/**
 * An agent token given by the environment: long enough to be a secret, characters that survive a
 * shell and a command line, not starting with '-' (it would be read as an option).
 */
export const AGENT_TOKEN_PATTERN = /^[A-Za-z0-9_.~+/=][A-Za-z0-9_.~+/=-]{19,199}$/;

/** `<repo>/data`. */
export const DEFAULT_DATA_DIR = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'data');

/** Thrown by `loadConfig`; `problems` has one line per bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid environment:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration from `source` (default `process.env`). Throws `ConfigError`. */
export function loadConfig(source: Readonly<Record<string, string | undefined>> = process.env): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = source[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const v = get(name);
    if (v === undefined) return fallback;
    if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
      problems.push(`${name}=${JSON.stringify(v)}: must be a whole number ${min}-${max}`);
      return fallback;
    }
    return Number(v);
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const v = get(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    problems.push(`${name}=${JSON.stringify(v)}: must be true or false`);
    return fallback;
  };

  const host = get('HOST') ?? '0.0.0.0';
  const port = integer('PORT', 3001, 1, 65535);
  const databaseUrl = get('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL: must be a postgres:// or postgresql:// URL (unset it to use the embedded server)');
  }
  const dataDirText = get('MAILSCOPE_DATA_DIR');
  const dataDir = dataDirText === undefined ? DEFAULT_DATA_DIR : resolve(dataDirText);
  // 64 GiB: a larger capture is better imported with the agent's file mode than through a browser.
  const uploadMb = integer('UPLOAD_LIMIT_MB', 512, 1, 65536);
  const adminPassword = source.MAILSCOPE_ADMIN_PASSWORD === '' ? undefined : source.MAILSCOPE_ADMIN_PASSWORD;
  if (adminPassword !== undefined && adminPassword.length < 8) problems.push('MAILSCOPE_ADMIN_PASSWORD: must be at least 8 characters');
  const levelText = get('LOG_LEVEL')?.toLowerCase() ?? 'info';
  let logLevel: LogLevel = 'info';
  if ((LOG_LEVELS as readonly string[]).includes(levelText)) logLevel = levelText as LogLevel;
  else problems.push(`LOG_LEVEL=${JSON.stringify(levelText)}: must be one of ${LOG_LEVELS.join(', ')}`);
  const cookieSecure = bool('COOKIE_SECURE', false);
  // 0 or unset: keep everything. 100 years is the ceiling only so the cutoff stays a valid date.
  const retention = integer('MAILSCOPE_RETENTION_DAYS', 0, 0, 36500);
  const agentToken = get('MAILSCOPE_AGENT_TOKEN');
  if (agentToken !== undefined && !AGENT_TOKEN_PATTERN.test(agentToken)) {
    problems.push('MAILSCOPE_AGENT_TOKEN: must be 20-200 characters of A-Z a-z 0-9 _ . ~ + / = - and not start with \'-\' (e.g. ms_ and 43 random base64url characters)');
  }

  const clusterText = get('MAILSCOPE_CLUSTER')?.toLowerCase() ?? 'off';
  let cluster: 'postgres' | undefined;
  if (clusterText === 'postgres') {
    cluster = 'postgres';
    // Each embedded server belongs to one instance: instances of a cluster must share one database.
    if (databaseUrl === undefined) problems.push('MAILSCOPE_CLUSTER=postgres: needs DATABASE_URL (all instances on one PostgreSQL; the embedded server serves one instance only)');
  } else if (clusterText !== 'off') {
    problems.push(`MAILSCOPE_CLUSTER=${JSON.stringify(clusterText)}: must be postgres or off`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host, port, databaseUrl, dataDir, uploadLimitBytes: uploadMb * 1024 * 1024, adminPassword, logLevel, cookieSecure,
    retentionDays: retention === 0 ? undefined : retention, agentToken, cluster,
  };
}
