/**
 * Playwright's global setup: the real stack (stack/stack.ts) on the test ports - web 3100, API
 * 3101 - with a capture agent; what the specs need goes to the state file (fixtures.ts reads it).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { startStack, stateFileOf } from './stack/stack.ts';
import type { Stack } from './stack/stack.ts';

export const E2E = { name: 'e2e', webPort: 3100, apiPort: 3101, distDir: '.next-test', adminPassword: 'e2e-admin-password' } as const;

/** Kept for the teardown (same runner process). */
export const running: { stack?: Stack } = ((globalThis as { __mailscopeE2E?: { stack?: Stack } }).__mailscopeE2E ??= {});

export default async function globalSetup(): Promise<void> {
  if (!existsSync('/usr/bin/chromium')) {
    throw new Error("the browser tests run Debian's Chromium at /usr/bin/chromium: apt-get install chromium (never 'playwright install')");
  }
  const stack = await startStack({ ...E2E, agent: true, reuseBuild: process.env.MAILSCOPE_E2E_REUSE_BUILD === '1' });
  running.stack = stack;
  writeFileSync(stateFileOf(E2E.name), `${JSON.stringify(stack.state, null, 2)}\n`);
}
