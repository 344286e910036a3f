/**
 * Spec 4: a corpus capture uploaded on the Import page is analysed (progress to 'done'), and the
 * result link leads to its sessions in the list, filtered by its capture id: the same sessions the
 * API has for that capture.
 */
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { adminRest, signInAdmin, stack } from './fixtures.ts';
import type { SessionRow } from './fixtures.ts';

test('upload zeek_smtp.pcap on the Import page and find its sessions', async ({ page }) => {
  test.setTimeout(90_000);
  const file = join(stack().corpusDir, 'pcaps', 'zeek_smtp.pcap');
  const rest = await adminRest();
  await signInAdmin(page);
  await page.goto('/import');
  await page.getByTestId('upload-file').setInputFiles(file);
  await page.getByTestId('upload-submit').click();
  await expect(page.getByTestId('upload-error')).toHaveCount(0);
  await expect(page.getByTestId('upload-state')).toContainText(/done/i, { timeout: 60_000 });

  const result = page.getByTestId('upload-result');
  await expect(result).toBeVisible();
  const link = result.locator('xpath=self::a').or(result.locator('a')).first();
  const href = (await link.getAttribute('href')) ?? '';
  const captureId = /captureId=([0-9a-f-]{36})/.exec(href)?.[1] ?? /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/.exec(href)?.[1];
  expect(captureId, `a capture id in the result link ${href}`).toBeTruthy();

  const upload = await rest.get<{ status: string; fileName: string; sessions: number }>(`/uploads/${captureId}`);
  expect(upload.status).toBe('done');
  expect(upload.fileName).toBe('zeek_smtp.pcap');
  const { sessions } = await rest.get<{ sessions: SessionRow[] }>(`/sessions?captureId=${captureId}&limit=200`);
  expect(sessions.length, 'zeek_smtp.pcap holds SMTP sessions').toBeGreaterThan(0);

  await link.click();
  await expect(page).toHaveURL(/\/sessions/);
  await expect(page).toHaveURL(new RegExp(`captureId=${captureId}`));
  const rows = page.getByTestId('session-row');
  await expect(rows).toHaveCount(sessions.length);
  const shown = (await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-session-id')))).sort();
  expect(shown).toEqual(sessions.map((x) => x.id).sort());
  for (const p of await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-protocol')))) expect(p).toBe('smtp');
});
