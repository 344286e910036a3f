/**
 * What the specs share: the stack's state (written by global-setup.ts), signing in through the
 * login page, REST calls as a given user straight to the API, waiting helpers, and a fixed folder
 * for the page screenshots.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import { E2E } from './global-setup.ts';
import { apiJson, apiLogin, stateFileOf, WEB_DIR } from './stack/stack.ts';
import type { StackState } from './stack/stack.ts';

let cached: StackState | undefined;

export function stack(): StackState {
  cached ??= JSON.parse(readFileSync(stateFileOf(E2E.name), 'utf8')) as StackState;
  return cached;
}

/** test-results/screenshots: the page screenshots kept as artifacts. */
export const SCREENSHOTS_DIR = join(WEB_DIR, 'test-results', 'screenshots');

/** Signs in through the login page and waits for the signed-in shell. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('current-user')).toContainText(username);
}

export async function signInAdmin(page: Page): Promise<void> {
  const s = stack();
  await signIn(page, s.admin.username, s.admin.password);
}

/** A REST client straight to the API, signed in as `username`. */
export interface Rest {
  readonly cookie: string;
  json<T>(method: string, path: string, body?: unknown, expect?: number[]): Promise<T>;
  get<T>(path: string): Promise<T>;
  raw(path: string): Promise<Response>;
}

export async function restAs(username: string, password: string): Promise<Rest> {
  const { api } = stack();
  const cookie = await apiLogin(api, username, password);
  return {
    cookie,
    json: (method, path, body, expected) => apiJson(api, cookie, method, path, body, expected),
    get: (path) => apiJson(api, cookie, 'GET', path),
    raw: (path) => fetch(`${api}/api${path}`, { headers: { cookie } }),
  };
}

export async function adminRest(): Promise<Rest> {
  const s = stack();
  return restAs(s.admin.username, s.admin.password);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value (not undefined) or `ms` pass. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : String(last)})`}`);
}

export interface SessionRow {
  id: string;
  captureId: string;
  protocol: 'smtp' | 'pop3';
  client: { addr: string; port: number };
  server: { addr: string; port: number };
  endTs: number | null;
  outcome: string | null;
  authUser: string | null;
  mails: number;
}

export interface Settings {
  saveMail: boolean;
  saveLocation: string | null;
  smtpPorts: number[];
  pop3Ports: number[];
  captureFilter: string;
  anyPort: boolean;
}

/** Changes some mail-module settings through PUT /api/settings (every field is required there). */
export async function updateSettings(rest: Rest, change: Partial<Settings>): Promise<Settings> {
  const current = await rest.get<{ settings: Settings }>('/settings');
  const next = { ...current.settings, ...change };
  return (await rest.json<{ settings: Settings }>('PUT', '/settings', next)).settings;
}

/** Uploads a capture file through POST /api/uploads and waits for its analysis; returns the capture id. */
export async function uploadCapture(rest: Rest, file: string): Promise<string> {
  const { api } = stack();
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)]), file.split('/').pop()!);
  const res = await fetch(`${api}/api/uploads`, { method: 'POST', headers: { cookie: rest.cookie }, body: form });
  if (res.status !== 202) throw new Error(`upload ${file}: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  await until(`the analysis of ${file}`, async () => {
    const u = await rest.get<{ status: string; error: string | null }>(`/uploads/${id}`);
    if (u.status === 'failed') throw new Error(`analysis failed: ${u.error}`);
    return u.status === 'done' ? true : undefined;
  }, 60_000);
  return id;
}

/**
 * Picks `wanted` in a control that may be a <select> (an option whose value or label is `wanted`,
 * or whose label starts with it: 'lo (127.0.0.1)') or a text input (filled in).
 */
export async function choose(control: Locator, wanted: string): Promise<void> {
  await expect(control).toBeVisible();
  const tag = await control.evaluate((el) => el.tagName.toLowerCase());
  if (tag !== 'select') {
    await control.fill(wanted);
    return;
  }
  const value = await until(`an option '${wanted}' in ${control.toString()}`, async () =>
    control.evaluate((el, w) => {
      const options = Array.from((el as HTMLSelectElement).options);
      const hit =
        options.find((o) => o.value === w || o.label.trim() === w) ??
        options.find((o) => o.label.trim().startsWith(`${w} `) || o.label.trim().startsWith(`${w}:`) || o.label.includes(w));
      return hit?.value;
    }, wanted),
  );
  await control.selectOption(value);
}

/** Marks the page so that `expectNoReload` can tell it was not reloaded since. */
export async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __e2eMark?: number }).__e2eMark = 1;
  });
}

export async function expectNoReload(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { __e2eMark?: number }).__e2eMark), 'the page was not reloaded').toBe(1);
}

/** Stops every running capture of the stack's agent through the API (cleanup after a live spec). */
export async function stopRunningCaptures(rest: Rest): Promise<void> {
  const { captures } = await rest.get<{ captures: { id: string; status: string; source: string }[] }>('/captures?limit=100');
  for (const c of captures) {
    if (c.source === 'live' && (c.status === 'running' || c.status === 'starting')) {
      await rest.json('POST', `/captures/${c.id}/stop`, undefined, [200, 404, 409]).catch(() => undefined);
    }
  }
}

/**
 * The hooks of a spec that captures on lo: an admin REST client before its tests; after them, the
 * mail servers it started are closed and the agent's running captures stopped.
 */
export function liveCaptureSpec(): { rest: () => Rest; closeAfter: (server: { close: () => Promise<void> }) => void } {
  let rest: Rest | undefined;
  const servers: { close: () => Promise<void> }[] = [];
  test.beforeAll(async () => {
    rest = await adminRest();
  });
  test.afterAll(async () => {
    for (const server of servers) await server.close();
    if (rest !== undefined) await stopRunningCaptures(rest);
  });
  return {
    rest: () => {
      if (rest === undefined) throw new Error('liveCaptureSpec: the admin REST client is made in beforeAll');
      return rest;
    },
    closeAfter: (server) => void servers.push(server),
  };
}
