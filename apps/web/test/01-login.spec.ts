/** Spec 1: signing in - a wrong password shows the API's error and stays on the login page; the right one reaches the Overview. */
import { expect, test } from '@playwright/test';
import { stack } from './fixtures.ts';

test('a wrong password is refused with a message, the right one opens the Overview', async ({ page }) => {
  const { admin } = stack();
  await page.goto('/');
  // Signed out: the shell sends the browser to the login page.
  await expect(page).toHaveURL(/\/login/);

  await page.locator('input[name="username"]').fill(admin.username);
  await page.locator('input[name="password"]').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  // (Next's route announcer is a role=alert too: take the form's.)
  const alert = page.locator('form').getByRole('alert');
  await expect(alert).toContainText('wrong user name or password');
  await expect(page).toHaveURL(/\/login/);
  expect((await page.context().cookies()).some((c) => c.name === 'mailscope_session')).toBe(false);

  await page.locator('input[name="password"]').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/');
  await expect(page.getByTestId('current-user')).toContainText(admin.username);
  // The Overview: its capture card (or the hint that no agent is connected).
  await expect(page.getByTestId('capture-state').or(page.getByTestId('no-agent')).first()).toBeVisible();
  await expect(page.getByRole('navigation').getByRole('link', { name: 'Settings', exact: true })).toBeVisible();
});
