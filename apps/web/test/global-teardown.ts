/**
 * Stops the stack the global setup started (children by process group, the throwaway database
 * dropped, the embedded PostgreSQL stopped) and copies the stack's logs into test-results/stack-logs.
 */
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { E2E, running } from './global-setup.ts';
import { stopRecorded } from './stack/processes.ts';
import { WEB_DIR, stateDirOf, stateFileOf } from './stack/stack.ts';

export default async function globalTeardown(): Promise<void> {
  const stateDir = stateDirOf(E2E.name);
  if (running.stack !== undefined) {
    await running.stack.stop();
    running.stack = undefined;
  } else {
    // Not started by this process (should not happen): stop what the pid file names.
    await stopRecorded(join(stateDir, 'pids.json'));
  }
  const logs = join(stateDir, 'logs');
  if (existsSync(logs)) cpSync(logs, join(WEB_DIR, 'test-results', 'stack-logs'), { recursive: true });
  rmSync(stateFileOf(E2E.name), { force: true });
}
