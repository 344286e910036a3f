/**
 * `npm start`'s configuration: the command line (`--demo`, `--help`) and the environment, read
 * and validated once, before anything starts. The API's own variables are checked by the API's
 * loader (apps/api/src/env.ts) on the environment the API will get, so one run reports every bad
 * variable of the product, launcher's and API's together.
 */
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '@mailscope/api/src/env.ts';
import type { Config as ApiConfig } from '@mailscope/api/src/env.ts';

export const HELP = `Usage: npm start [-- --demo]

Builds what is not built, then runs Mailscope: PostgreSQL (embedded unless DATABASE_URL), the
API, the web UI and a local capture agent, each line of their output prefixed with its name.
Ctrl-C stops everything; the next start finds the data again.

Options:
  --demo       also import a small sample capture (SMTP and POP3 sessions) so there is
               something to look at
  -h, --help   this help

Environment (README.md has the whole table):
  MAILSCOPE_WEB_PORT (3000), MAILSCOPE_API_PORT (3001), HOST (0.0.0.0), MAILSCOPE_DATA_DIR
  (<repo>/data), DATABASE_URL, MAILSCOPE_ADMIN_PASSWORD, MAILSCOPE_AGENT_TOKEN, MAILSCOPE_AGENT
  (true), UPLOAD_LIMIT_MB (512), MAILSCOPE_RETENTION_DAYS (keep all), LOG_LEVEL (warn),
  COOKIE_SECURE, MAILSCOPE_WEB_DIST_DIR (.next)
`;

export interface LauncherConfig {
  readonly demo: boolean;
  readonly webPort: number;
  readonly apiPort: number;
  /** Address both servers listen on; undefined: each one's default (all addresses). */
  readonly host: string | undefined;
  /** Where the web server, the agent and the launcher reach the API. */
  readonly apiUrl: string;
  /** The URL printed for the user. */
  readonly webUrl: string;
  /** Whether to run the local agent (MAILSCOPE_AGENT). */
  readonly agent: boolean;
  /** MAILSCOPE_AGENT_TOKEN if given; else one is made and kept in the data folder. */
  readonly agentToken: string | undefined;
  /** Next's build folder under apps/web (MAILSCOPE_WEB_DIST_DIR, default .next). */
  readonly webDistDir: string;
  /** The API's configuration as the API will read it. */
  readonly api: ApiConfig;
  /** The environment of the API process, less the agent token (added once known). */
  readonly apiEnv: Readonly<Record<string, string>>;
}

export class LauncherConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`npm start: ${problems.length === 1 ? problems[0] : `invalid configuration:\n  ${problems.join('\n  ')}`}`);
    this.name = 'LauncherConfigError';
  }
}

/** Whether `--help` was asked for (handled before the configuration is read). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function loadLauncherConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): LauncherConfig {
  const unknown = argv.filter((a) => a !== '--demo');
  if (unknown.length > 0) throw new LauncherConfigError([`unknown option ${unknown.map((a) => `'${a}'`).join(', ')} (try: npm start -- --help)`]);

  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const port = (name: string, fallback: number): number => {
    const v = get(name);
    if (v === undefined) return fallback;
    if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
      problems.push(`${name}=${JSON.stringify(v)}: must be a port number 1-65535`);
      return fallback;
    }
    return Number(v);
  };
  const webPort = port('MAILSCOPE_WEB_PORT', 3000);
  const apiPort = port('MAILSCOPE_API_PORT', 3001);
  if (webPort === apiPort && problems.length === 0) problems.push(`MAILSCOPE_WEB_PORT and MAILSCOPE_API_PORT are both ${webPort}: they must differ`);
  const agentText = get('MAILSCOPE_AGENT')?.toLowerCase() ?? 'true';
  let agent = true;
  if (['0', 'false', 'no', 'off'].includes(agentText)) agent = false;
  else if (!['1', 'true', 'yes', 'on'].includes(agentText)) problems.push(`MAILSCOPE_AGENT=${JSON.stringify(agentText)}: must be true or false`);
  const webDistDir = get('MAILSCOPE_WEB_DIST_DIR') ?? '.next';
  if (!/^\.next[A-Za-z0-9._-]*$/.test(webDistDir)) problems.push(`MAILSCOPE_WEB_DIST_DIR=${JSON.stringify(webDistDir)}: must be a folder name under apps/web starting with .next`);
  const host = get('HOST');

  // The API's variables, checked by the API's own loader on what the API will be given.
  const apiEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) apiEnv[k] = v;
  apiEnv.PORT = String(apiPort);
  // The API logs every request at info; under npm start only what needs attention.
  apiEnv.LOG_LEVEL = get('LOG_LEVEL') ?? 'warn';
  const dataDir = get('MAILSCOPE_DATA_DIR');
  if (dataDir !== undefined) apiEnv.MAILSCOPE_DATA_DIR = resolve(dataDir);
  delete apiEnv.MAILSCOPE_AGENT_TOKEN;
  const agentToken = get('MAILSCOPE_AGENT_TOKEN');
  let api: ApiConfig | undefined;
  try {
    api = loadConfig(agentToken === undefined ? apiEnv : { ...apiEnv, MAILSCOPE_AGENT_TOKEN: agentToken });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems.map((p) => (p.startsWith('PORT=') ? p.replace(/^PORT/, 'MAILSCOPE_API_PORT') : p)));
  }
  if (problems.length > 0 || api === undefined) throw new LauncherConfigError(problems);

  const local = host === undefined || host === '0.0.0.0' || host === '::';
  const reach = local ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    demo: argv.includes('--demo'),
    webPort,
    apiPort,
    host,
    apiUrl: `http://${reach}:${apiPort}`,
    webUrl: `http://${local ? 'localhost' : reach}:${webPort}`,
    agent,
    agentToken,
    webDistDir,
    api,
    apiEnv,
  };
}
