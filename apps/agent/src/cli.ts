/**
 * The `mailscope-agent` command line: dispatches to its subcommands and turns their result into
 * the process exit code. Started by bin/mailscope-agent.js.
 */
import { runAnalyze, EXIT_USAGE } from './analyze-command.ts';
import { runAgent, runImport } from './run-command.ts';

export const MAIN_HELP = `Usage: mailscope-agent <command> [options]

Commands:
  analyze FILE   find the SMTP and POP3 sessions of a pcap / pcapng file and print them
                 (a table, one session's dialogue with --session N, or NDJSON with --json)
  run            the capture agent: connect to the API, capture when the dashboard says so
  import FILE    send a capture file's analysis to the API, like a live capture

Options:
  -h, --help     this help; 'mailscope-agent analyze --help' for the command's options
`;

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const io = { stdout: process.stdout, stderr: process.stderr };
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.stderr : io.stdout).write(MAIN_HELP);
    return command === undefined ? EXIT_USAGE : 0;
  }
  if (command === 'analyze') return runAnalyze(rest, io);
  // The one place the agent reads its environment.
  const env = { MAILSCOPE_API: process.env.MAILSCOPE_API, MAILSCOPE_AGENT_TOKEN: process.env.MAILSCOPE_AGENT_TOKEN };
  if (command === 'run') return runAgent(rest, io, env);
  if (command === 'import') return runImport(rest, io, env);
  io.stderr.write(`mailscope-agent: unknown command '${command}'\n${MAIN_HELP}`);
  return EXIT_USAGE;
}

// `mailscope-agent analyze big.pcap --json | head`: the reader went away, which is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`mailscope-agent: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 70;
});
