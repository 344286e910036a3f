/**
 * Spec 4: a corpus capture uploaded on the Import page is analysed (progress to 'done'), and the
 * result link leads to its sessions in the list, filtered by its capture id: the same sessions the
 * API has for that capture.
 */
import { openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** The resident memory of process `pid`, in MB (/proc). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) / 1024;
}

/** A pcap of `frames` Ethernet / IPv4 / UDP frames of `size` bytes: large, and nothing for the engine to reassemble. */
function udpCapture(frames: number, size: number): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const frame = Buffer.alloc(size);
  frame.writeUInt16BE(0x0800, 12);
  frame.set([0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  frame.writeUInt16BE(5000, 34);
  frame.writeUInt16BE(6000, 36);
  frame.writeUInt16BE(size - 34, 38);
  const records: Buffer[] = [header];
  for (let i = 0; i < frames; i++) {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0);
    rec.writeUInt32LE(size, 8);
    rec.writeUInt32LE(size, 12);
    records.push(rec, frame);
  }
  return Buffer.concat(records);
}

test('a large upload through the web server is streamed to the API, not held in the web server\'s memory', async () => {
  test.setTimeout(120_000);
  const s = stack();
  const rest = await adminRest();
  const file = join(tmpdir(), `mailscope-e2e-upload-${process.pid}.pcap`);
  const size = 60_000;
  writeFileSync(file, udpCapture(Math.ceil((240 * 1024 * 1024) / (size + 16)), size)); // ~240 MB
  try {
    const before = rssMb(s.webPid);
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMb(s.webPid)); }, 25);
    const form = new FormData();
    form.append('file', await openAsBlob(file), 'large.pcap');
    let res: Response;
    try {
      res = await fetch(`${s.web}/api/uploads`, { method: 'POST', headers: { cookie: rest.cookie }, body: form });
    } finally {
      clearInterval(sampler);
    }
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(202);
    const body = JSON.parse(text) as { id?: string; totalBytes?: number };
    expect(body.totalBytes).toBeGreaterThan(240 * 1024 * 1024);
    // Held in memory, the body alone would add its 240 MB (it added ~330 MB for 300 MB before).
    expect(peak - before, `the web server went from ${before.toFixed(0)} to ${peak.toFixed(0)} MB during the upload`).toBeLessThan(100);
    await expect.poll(async () => (await rest.get<{ status: string }>(`/uploads/${body.id}`)).status, { timeout: 90_000 }).toBe('done');
  } finally {
    rmSync(file, { force: true });
  }
});

test('an upload through the web server without signing in gets the API\'s refusal', async () => {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(udpCapture(2, 100))]), 'small.pcap');
  const res = await fetch(`${stack().web}/api/uploads`, { method: 'POST', body: form });
  expect(res.status).toBe(401);
});
