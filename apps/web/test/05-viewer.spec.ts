/**
 * Spec 5: a viewer (created with POST /api/users) has no Settings (no nav link; /settings says it
 * is for admins), sees a session with AUTH without any way to reveal the password, and the API
 * refuses it the .eml download (403) that it gives the admin.
 */
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { adminRest, restAs, signIn, stack, updateSettings, uploadCapture } from './fixtures.ts';
import type { SessionRow } from './fixtures.ts';

const VIEWER = { username: 'e2e-viewer', password: 'viewer-password-1' };

test('a viewer: no Settings, no password reveal, no .eml', async ({ page }) => {
  test.setTimeout(90_000);
  const admin = await adminRest();
  await admin.json('POST', '/users', { ...VIEWER, role: 'viewer' }, [201, 409]);
  // A capture with an AUTH LOGIN session and its mails saved.
  await updateSettings(admin, { saveMail: true });
  const captureId = await uploadCapture(admin, join(stack().corpusDir, 'pcaps', 'zeek_smtp.pcap'));
  const { sessions } = await admin.get<{ sessions: SessionRow[] }>(`/sessions?captureId=${captureId}`);
  const withAuth = sessions.find((x) => x.authUser !== null && x.mails > 0);
  expect(withAuth, 'zeek_smtp.pcap has an SMTP session with AUTH and a mail').toBeDefined();
  const detail = await admin.get<{ mails: { id: string; hasRaw: boolean }[]; timeline: { seq: number; auth: { password: string | null } | null }[] }>(`/sessions/${withAuth!.id}`);
  const authEntry = detail.timeline.find((e) => e.auth?.password != null);
  expect(authEntry, 'an AUTH entry with a (masked) password').toBeDefined();
  const mail = detail.mails.find((m) => m.hasRaw);
  expect(mail, 'its mail saved (Save Mail on)').toBeDefined();
  // The admin may download it: the refusal below is about the role, not a missing file.
  expect((await admin.raw(`/mails/${mail!.id}/raw`)).status).toBe(200);
  const viewerRest = await restAs(VIEWER.username, VIEWER.password);
  expect((await viewerRest.raw(`/mails/${mail!.id}/raw`)).status).toBe(403);

  await signIn(page, VIEWER.username, VIEWER.password);
  await expect(page.getByTestId('current-user')).toContainText('viewer');
  const nav = page.getByRole('navigation');
  await expect(nav.getByRole('link', { name: 'Sessions', exact: true })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Settings', exact: true })).toHaveCount(0);

  await page.goto('/settings');
  await expect(page.getByTestId('settings-forbidden')).toBeVisible();
  await expect(page.getByTestId('settings-save')).toHaveCount(0);
  await expect(page.getByTestId('agent-create')).toHaveCount(0);
  await expect(page.getByTestId('user-create')).toHaveCount(0);

  await page.goto(`/sessions/${withAuth!.id}`);
  await expect(page.getByTestId('session-header')).toBeVisible();
  await expect(page.getByTestId('auth-user').first()).toContainText(withAuth!.authUser!);
  await expect(page.getByTestId('auth-password').first()).toBeVisible();
  await expect(page.getByTestId('reveal-password')).toHaveCount(0);

  // Through the browser's own session (the web origin, its cookie): refused.
  const res = await page.request.get(`/api/mails/${mail!.id}/raw`);
  expect(res.status()).toBe(403);
  // And the reveal route too.
  expect((await page.request.post(`/api/sessions/${withAuth!.id}/timeline/${authEntry!.seq}/reveal`)).status()).toBe(403);
});
