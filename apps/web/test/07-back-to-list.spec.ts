/**
 * Spec 7: Back from a session returns to the sessions list where the user left it - the same rows,
 * scrolled to the same place - instead of the first page at the top.
 */
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { adminRest, signInAdmin, uploadCapture } from './fixtures.ts';
import { REPO_ROOT } from './stack/stack.ts';

const DEMO = join(REPO_ROOT, 'apps', 'launcher', 'demo', 'mailscope-demo.pcap');
const ROW = 28;

test('Back from a session: the list as it was, scrolled where it was', async ({ page }) => {
  test.setTimeout(120_000);
  const rest = await adminRest();
  // 4 sessions per upload: enough rows to scroll a short window.
  for (let i = 0; i < 6; i++) await uploadCapture(rest, DEMO);

  await page.setViewportSize({ width: 1280, height: 420 });
  await signInAdmin(page);
  await page.goto('/sessions');
  const list = page.locator('.vlist');
  await expect(page.getByTestId('session-row').first()).toBeVisible();
  const rowCount = await list.evaluate((el) => Number(el.getAttribute('aria-rowcount')));
  expect(rowCount).toBeGreaterThanOrEqual(24);
  expect(await list.evaluate((el) => el.scrollHeight > el.clientHeight + 6 * 28), 'the list scrolls').toBe(true);

  await list.evaluate((el, top) => el.scrollTo({ top }), 6 * ROW);
  await expect.poll(() => list.evaluate((el) => el.scrollTop)).toBe(6 * ROW);
  const target = page.locator('[data-testid="session-row"][data-index="7"]');
  const id = await target.getAttribute('data-session-id');
  expect(id).toMatch(/^[0-9]+$/);
  await target.click();
  await expect(page).toHaveURL(new RegExp(`/sessions/${id}`));
  await expect(page.getByTestId('session-header')).toBeVisible();

  await page.goBack();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect.poll(() => list.evaluate((el) => el.scrollTop), { message: 'scrolled where it was' }).toBe(6 * ROW);
  await expect(page.locator('[data-testid="session-row"][data-index="7"]')).toHaveAttribute('data-session-id', id!);
  await expect(page.locator(`[data-testid="session-row"][data-session-id="${id}"]`)).toBeInViewport();
});
