/**
 * Spec 8: a session that is still open shows its packet counts growing in the Sessions list while
 * it lasts, pushed live (no reload): an SMTP client on lo that says EHLO, then NOOP five times,
 * then QUIT. Before, an open session read 0 / 0 until it closed.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { expect, test } from '@playwright/test';
import { startSmtpServer } from '../../agent/test/helpers/mail-servers.ts';
import { expectNoReload, liveCaptureSpec, markPage, signInAdmin, stack, updateSettings } from './fixtures.ts';

const live = liveCaptureSpec();

/** A line-at-a-time SMTP client: `say` sends a command and resolves with the reply's last line. */
async function smtpClient(port: number): Promise<{ say: (line: string) => Promise<string>; greeting: string; close: () => void }> {
  const socket: Socket = connect(port, '127.0.0.1');
  let buffered = '';
  let waiting: ((line: string) => void) | undefined;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (;;) {
      const end = buffered.indexOf('\r\n');
      if (end < 0) return;
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      // A multi-line reply goes on while the fourth character is '-'.
      if (line[3] !== '-' && waiting !== undefined) {
        const w = waiting;
        waiting = undefined;
        w(line);
      }
    }
  });
  const next = (): Promise<string> => new Promise((resolve) => (waiting = resolve));
  const greeting = await next();
  return {
    greeting,
    say: (line) => {
      const reply = next();
      socket.write(`${line}\r\n`);
      return reply;
    },
    close: () => socket.destroy(),
  };
}

test('an open SMTP session: its packet counts grow in the list, live, until it closes', async ({ page }) => {
  const s = stack();
  const rest = live.rest();
  test.setTimeout(90_000);
  const current = await rest.get<{ settings: { smtpPorts: number[] } }>('/settings');
  await updateSettings(rest, { smtpPorts: [...new Set([...current.settings.smtpPorts, s.smtpPort])] });
  const smtp = await startSmtpServer(s.smtpPort);
  live.closeAfter(smtp);
  const capture = await rest.json<{ id: string }>('POST', '/captures', { agentId: s.agent!.id, interface: 'lo', filter: `tcp port ${s.smtpPort}` });

  await signInAdmin(page);
  await page.goto(`/sessions?captureId=${capture.id}`);
  await expect(page.getByTestId('sessions-empty')).toBeVisible();
  await markPage(page);

  const client = await smtpClient(s.smtpPort);
  expect(client.greeting).toMatch(/^220 /);
  expect(await client.say('EHLO client.example.com')).toMatch(/^250 /);

  const row = page.locator('[data-testid="session-row"][data-protocol="smtp"]');
  await expect(row).toHaveCount(1, { timeout: 20_000 });
  const counts = async (): Promise<[number, number]> => {
    const text = (await row.getByTestId('session-packets').textContent()) ?? '';
    const m = /^(\d+) \/ (\d+)$/.exec(text.trim());
    return m === null ? [-1, -1] : [Number(m[1]), Number(m[2])];
  };
  // Handshake, greeting, EHLO and its reply are stored while the session is open.
  await expect.poll(async () => Math.min(...(await counts())), { message: 'packets of the open session', timeout: 20_000 }).toBeGreaterThanOrEqual(2);
  await expect(row).toContainText('open');
  const [clientBefore, serverBefore] = await counts();

  for (let i = 0; i < 5; i++) expect(await client.say('NOOP')).toMatch(/^250 /);
  await expect.poll(async () => (await counts())[0], { message: 'the five NOOPs counted', timeout: 20_000 }).toBeGreaterThanOrEqual(clientBefore + 5);
  expect((await counts())[1]).toBeGreaterThanOrEqual(serverBefore + 5);
  await expect(row).toContainText('open');

  expect(await client.say('QUIT')).toMatch(/^221 /);
  client.close();
  await expect(row).not.toContainText('open', { timeout: 20_000 });
  await expectNoReload(page);
});
