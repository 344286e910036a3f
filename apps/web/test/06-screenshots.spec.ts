/**
 * Spec 6: a screenshot of every page, with data in it (a corpus capture uploaded with Save Mail
 * on), kept as artifacts in test-results/screenshots/*.png and attached to the report. Each page
 * must show its content (not a loading or error state) before it is taken.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Page, TestInfo } from '@playwright/test';
import { SCREENSHOTS_DIR, adminRest, signInAdmin, stack, updateSettings, uploadCapture } from './fixtures.ts';
import type { SessionRow } from './fixtures.ts';

let smtpSession: SessionRow;
let mailId: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const rest = await adminRest();
  await updateSettings(rest, { saveMail: true });
  const pcaps = join(stack().corpusDir, 'pcaps');
  // Two SMTP sessions with AUTH LOGIN, a mail each with text and HTML parts and an attachment.
  const plain = await uploadCapture(rest, join(pcaps, 'zeek_smtp.pcap'));
  const { sessions } = await rest.get<{ sessions: SessionRow[] }>(`/sessions?captureId=${plain}`);
  smtpSession = sessions.find((s) => s.mails > 0 && s.authUser !== null) ?? sessions[0]!;
  const detail = await rest.get<{ mails: { id: string }[] }>(`/sessions/${smtpSession.id}`);
  mailId = detail.mails[0]!.id;
});

async function shoot(page: Page, info: TestInfo, name: string): Promise<void> {
  await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined);
  // Nothing still loading, no error box.
  await expect(page.locator('.page-loading')).toHaveCount(0);
  await expect(page.locator('.alert.error')).toHaveCount(0);
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await info.attach(name, { path, contentType: 'image/png' });
}

/** Clicks each tab (a `role=tab` or a `.tabs` button) of the page in turn and shoots it. */
async function shootTabs(page: Page, info: TestInfo, prefix: string, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await page.getByTestId(id).click();
    await expect(page.getByTestId(id)).toHaveAttribute('aria-selected', 'true');
    await shoot(page, info, `${prefix}-${id.replace(/^(mail-)?tab-/, '')}`);
  }
}

test('login page', async ({ page }, info) => {
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await shoot(page, info, '01-login');
});

test.describe('signed in as admin', () => {
  test.beforeEach(async ({ page }) => {
    await signInAdmin(page);
  });

  test('overview', async ({ page }, info) => {
    await page.goto('/');
    await expect(page.getByTestId('capture-start').or(page.getByTestId('no-agent'))).toBeVisible();
    await expect(page.getByTestId('counter-sessions')).toBeVisible();
    await shoot(page, info, '02-overview');
  });

  test('sessions', async ({ page }, info) => {
    await page.goto('/sessions');
    await expect(page.getByTestId('session-row').first()).toBeVisible();
    await shoot(page, info, '03-sessions');
  });

  test('session, every tab', async ({ page }, info) => {
    await page.goto(`/sessions/${smtpSession.id}`);
    await expect(page.getByTestId('session-header')).toBeVisible();
    await expect(page.getByTestId('timeline-entry').first()).toBeVisible();
    await shootTabs(page, info, '04-session', ['tab-dialogue', 'tab-packets', 'tab-flow', 'tab-mails']);
  });

  test('packets', async ({ page }, info) => {
    await page.goto('/packets');
    await expect(page.getByTestId('packet-row').first()).toBeVisible();
    await shoot(page, info, '05-packets');
  });

  test('mails list and viewer', async ({ page }, info) => {
    await page.goto('/mails');
    await expect(page.getByTestId('mail-row').first()).toBeVisible();
    await shoot(page, info, '06-mails');
    await page.goto(`/mails/${mailId}`);
    await expect(page.getByTestId('mail-subject')).toBeVisible();
    await shootTabs(page, info, '07-mail', ['mail-tab-text', 'mail-tab-html', 'mail-tab-headers', 'mail-tab-raw']);
  });

  test('settings, every tab', async ({ page }, info) => {
    await page.goto('/settings');
    await expect(page.getByTestId('settings-pop3Ports').or(page.getByRole('tab')).first()).toBeVisible();
    const tabs = page.getByRole('tab').or(page.locator('.tabs button'));
    const count = await tabs.count();
    if (count === 0) {
      await shoot(page, info, '08-settings');
      return;
    }
    for (let i = 0; i < count; i++) {
      const tab = tabs.nth(i);
      const label = ((await tab.textContent()) ?? `tab${i}`).trim().toLowerCase().replace(/[^a-z0-9]+/g, '-');
      await tab.click();
      await shoot(page, info, `08-settings-${label}`);
    }
  });

  test('import', async ({ page }, info) => {
    await page.goto('/import');
    await expect(page.getByTestId('upload-file')).toBeAttached();
    await shoot(page, info, '09-import');
  });
});
