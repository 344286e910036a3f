/**
 * Spec 2: a live capture on lo started from the Overview; a real SMTP dialogue (nodemailer ->
 * smtp-server on 2525, AUTH LOGIN) shows up in the open Sessions page without a reload; its page
 * shows the dialogue in wire order with the user decoded and the password masked (revealed for the
 * admin on request); the .eml downloaded from it is byte for byte what the SMTP server received.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { sendMail, startSmtpServer } from '../../agent/test/helpers/mail-servers.ts';
import { choose, expectNoReload, liveCaptureSpec, markPage, signInAdmin, stack, until, updateSettings } from './fixtures.ts';
import type { SessionRow } from './fixtures.ts';

const live = liveCaptureSpec();

test('SMTP on lo: live row, dialogue, masked AUTH, .eml byte for byte', async ({ page }) => {
  const s = stack();
  const rest = live.rest();
  test.setTimeout(120_000);
  // 2525 is an SMTP port for the agent, and the mail's bytes are kept (Save Mail).
  const current = await rest.get<{ settings: { smtpPorts: number[] } }>('/settings');
  await updateSettings(rest, { saveMail: true, smtpPorts: [...new Set([...current.settings.smtpPorts, s.smtpPort])] });
  const smtp = await startSmtpServer(s.smtpPort);
  live.closeAfter(smtp);

  await signInAdmin(page);
  await page.goto('/');
  await choose(page.getByTestId('capture-agent'), s.agent!.name);
  await choose(page.getByTestId('capture-interface'), 'lo');
  await page.getByTestId('capture-filter').fill(`tcp port ${s.smtpPort}`);
  await page.getByTestId('capture-start').click();
  await expect(page.getByTestId('capture-error')).toHaveCount(0);
  await expect(page.getByTestId('capture-state')).toContainText(/running/i, { timeout: 20_000 });
  const capture = await until('the running capture in the API', async () => {
    const { captures } = await rest.get<{ captures: { id: string; status: string; interface: string | null; filter: string }[] }>('/captures?source=live&status=running');
    return captures.find((c) => c.interface === 'lo');
  });
  expect(capture.filter).toBe(`tcp port ${s.smtpPort}`);

  // The Sessions page, reached through the nav (client-side), then left alone while the mail goes out.
  await page.getByRole('navigation').getByRole('link', { name: 'Sessions', exact: true }).click();
  await expect(page).toHaveURL(/\/sessions/);
  await expect(page.getByTestId('session-row').first().or(page.getByTestId('sessions-empty'))).toBeVisible();
  const before = new Set(await page.getByTestId('session-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session-id'))));
  await markPage(page);

  await sendMail(s.smtpPort, 'Browser test mail', 'Hello Bob,\r\n.a line starting with a dot\r\nbye\r\n');
  expect(smtp.received).toHaveLength(1);

  // A new SMTP row, pushed by the live updates (nobody reloads or navigates).
  let sessionId = '';
  await expect
    .poll(async () => {
      const ids = await page.locator('[data-testid="session-row"][data-protocol="smtp"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session-id') ?? ''));
      sessionId = ids.find((id) => !before.has(id)) ?? '';
      return sessionId;
    }, { message: 'a new SMTP session row without a reload', timeout: 20_000 })
    .not.toBe('');
  await expectNoReload(page);
  expect(sessionId).toMatch(/^[0-9]+$/);
  const fresh = page.locator(`[data-testid="session-row"][data-session-id="${sessionId}"]`);

  // Wait for the API to have the whole session (closed, its mail stored) before opening it.
  const row = await until('the SMTP session closed with its mail', async () => {
    const { sessions } = await rest.get<{ sessions: SessionRow[] }>(`/sessions?captureId=${capture.id}&protocol=smtp`);
    const r = sessions.find((x) => x.id === sessionId);
    return r !== undefined && r.endTs !== null && r.mails === 1 ? r : undefined;
  }, 30_000);
  expect(row.server.port).toBe(s.smtpPort);
  expect(row.authUser).toBe('alice');

  await fresh.click();
  await expect(page).toHaveURL(new RegExp(`/sessions/${sessionId}`));
  await expect(page.getByTestId('session-header')).toBeVisible();
  const clientVerbs = await page.locator('[data-testid="timeline-entry"][data-side="client"]').evaluateAll((entries) =>
    entries.map((e) => (e.getAttribute('data-verb') ?? '').toUpperCase()),
  );
  const wanted = ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'];
  for (const verb of wanted) expect(clientVerbs, `client verbs: ${clientVerbs.join(' ')}`).toContain(verb);
  const order = wanted.map((v) => clientVerbs.indexOf(v));
  expect(order, `in wire order: ${clientVerbs.join(' ')}`).toEqual([...order].sort((a, b) => a - b));
  // The server's side is there too (replies carry their code).
  await expect(page.locator('[data-testid="timeline-entry"][data-side="server"][data-code="250"]').first()).toBeVisible();

  // AUTH LOGIN: the user decoded from Base64, the password masked until an admin reveals it.
  await expect(page.getByTestId('auth-user').first()).toContainText('alice');
  await expect(page.getByTestId('auth-password').first()).not.toContainText('s3cret');
  await expect(page.locator('body')).not.toContainText(Buffer.from('s3cret').toString('base64'));
  await page.getByTestId('reveal-password').first().click();
  await expect(page.getByTestId('auth-password').first()).toContainText('s3cret');

  // The .eml: on the session page (mails tab if the dialogue does not offer it).
  if (!(await page.getByTestId('download-eml').first().isVisible())) await page.getByTestId('tab-mails').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-eml').first().click()]);
  const eml = readFileSync((await download.path())!);
  const sent = smtp.received[0]!;
  expect(eml.length, 'the .eml is as long as what the SMTP server received').toBe(sent.length);
  expect(eml.equals(sent), 'the .eml is byte for byte what the SMTP server received').toBe(true);

  // Stop from the Overview.
  await page.getByRole('navigation').getByRole('link', { name: 'Overview', exact: true }).click();
  await page.getByTestId('capture-stop').first().click();
  await expect(page.getByTestId('capture-state')).toContainText(/stopped|idle|not running/i, { timeout: 20_000 });
  await until('the capture stopped in the API', async () => {
    const c = await rest.get<{ status: string }>(`/captures/${capture.id}`);
    return c.status === 'stopped' ? true : undefined;
  });
});
