/**
 * Browser tests of the dashboard against the real stack (test/global-setup.ts: PostgreSQL, the API,
 * the built web, a capture agent), in Debian's Chromium - never a browser Playwright downloads.
 * `npm test -w @mailscope/web`.
 */
import { defineConfig } from '@playwright/test';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export default defineConfig({
  testDir: './test',
  testMatch: '**/*.spec.ts',
  globalSetup: './test/global-setup.ts',
  globalTeardown: './test/global-teardown.ts',
  outputDir: 'test-results',
  // One stack, one agent, fixed ports for the mail servers: one test at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: process.env.CI === 'true',
  retries: 0,
  timeout: 60_000,
  globalTimeout: 20 * 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    baseURL: 'http://127.0.0.1:3100',
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    video: 'off',
    viewport: { width: 1440, height: 900 },
    actionTimeout: 10_000,
    navigationTimeout: 20_000,
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS },
      },
    },
  ],
});
