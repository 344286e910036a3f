/**
 * Spec 3: POP3 ports set to `110;1110` on the Settings page reach the agent: a POP3 dialogue with
 * the test server on 1110 (USER PASS STAT LIST RETR DELE QUIT, driven by pop3-client.ts over
 * node:net: curl's pop3:// never sends STAT and only one of LIST / RETR / DELE per connection) is
 * captured on lo and shown as a POP3 session on 1110 with every command.
 */
import { expect, test } from '@playwright/test';
import { pop3Message, startPop3Server } from '../../agent/test/helpers/mail-servers.ts';
import { expectNoReload, liveCaptureSpec, markPage, signInAdmin, stack, until } from './fixtures.ts';
import type { SessionRow, Settings } from './fixtures.ts';
import { pop3Dialogue } from './pop3-client.ts';

const live = liveCaptureSpec();

test('POP3 ports from the Settings page: a POP3 session on 1110 with USER PASS STAT LIST RETR DELE QUIT', async ({ page }) => {
  const s = stack();
  const rest = live.rest();
  test.setTimeout(120_000);
  await signInAdmin(page);

  // Start from a list without 1110, so that saving is what makes it a POP3 port.
  const current = await rest.get<{ settings: Settings }>('/settings');
  await rest.json('PUT', '/settings', { ...current.settings, pop3Ports: '110' });

  await page.goto('/settings');
  const ports = page.getByTestId('settings-pop3Ports');
  await expect(ports).toHaveAttribute('name', 'pop3Ports');
  await expect(ports).toHaveValue('110');
  // A bad list is refused with the field's own message and saves nothing.
  await ports.fill('110;99999');
  await page.getByTestId('settings-save').click();
  await expect(page.getByTestId('field-error-pop3Ports')).toBeVisible();
  expect((await rest.get<{ settings: Settings }>('/settings')).settings.pop3Ports).toEqual([110]);

  await ports.fill('110;1110');
  await page.getByTestId('settings-save').click();
  await expect(page.getByTestId('settings-saved')).toBeVisible();
  await expect(page.getByTestId('field-error-pop3Ports')).toHaveCount(0);
  await expect.poll(async () => (await rest.get<{ settings: Settings }>('/settings')).settings.pop3Ports).toEqual([110, 1110]);
  // Still there after a reload (read back from the API, not the form's memory).
  await page.reload();
  await expect(page.getByTestId('settings-pop3Ports')).toHaveValue('110;1110');

  const pop3 = await startPop3Server(s.pop3Port, [pop3Message('Fetched in the browser test')]);
  live.closeAfter(pop3);
  // The capture through the API (spec 2 covers starting one from the Overview).
  const capture = await rest.json<{ id: string }>('POST', '/captures', { agentId: s.agent!.id, interface: 'lo', filter: `tcp port ${s.pop3Port}` });

  await page.goto(`/sessions`);
  await expect(page.getByTestId('session-row').first().or(page.getByTestId('sessions-empty'))).toBeVisible();
  const before = new Set(await page.getByTestId('session-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session-id'))));
  await markPage(page);

  const result = await pop3Dialogue(s.pop3Port, 'alice', 's3cret');
  expect(result.retrieved.toString('latin1')).toContain('Fetched in the browser test');

  let sessionId = '';
  await expect
    .poll(async () => {
      const ids = await page.locator('[data-testid="session-row"][data-protocol="pop3"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session-id') ?? ''));
      sessionId = ids.find((id) => !before.has(id)) ?? '';
      return sessionId;
    }, { message: 'a new POP3 session row without a reload', timeout: 20_000 })
    .not.toBe('');
  await expectNoReload(page);

  const row = await until('the POP3 session closed', async () => {
    const { sessions } = await rest.get<{ sessions: SessionRow[] }>(`/sessions?captureId=${capture.id}&protocol=pop3`);
    const r = sessions.find((x) => x.id === sessionId);
    return r !== undefined && r.endTs !== null ? r : undefined;
  }, 30_000);
  expect(row.server.port).toBe(s.pop3Port);
  expect(row.authUser).toBe('alice');
  await rest.json('POST', `/captures/${capture.id}/stop`);

  await page.locator(`[data-testid="session-row"][data-session-id="${sessionId}"]`).click();
  await expect(page).toHaveURL(new RegExp(`/sessions/${sessionId}`));
  await expect(page.getByTestId('session-header')).toContainText(String(s.pop3Port));
  const clientVerbs = await page.locator('[data-testid="timeline-entry"][data-side="client"]').evaluateAll((entries) =>
    entries.map((e) => (e.getAttribute('data-verb') ?? '').toUpperCase()),
  );
  expect(clientVerbs.filter((v) => ['USER', 'PASS', 'STAT', 'LIST', 'RETR', 'DELE', 'QUIT'].includes(v))).toEqual(['USER', 'PASS', 'STAT', 'LIST', 'RETR', 'DELE', 'QUIT']);
  await expect(page.getByTestId('auth-user').first()).toContainText('alice');
  await expect(page.getByTestId('auth-password').first()).not.toContainText('s3cret');
});
