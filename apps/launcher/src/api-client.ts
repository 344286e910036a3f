/** The few API calls `npm start` makes: health, sign-in, and the demo capture's upload. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

export class ApiCallError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiCallError';
  }
}

async function failure(res: Response, what: string): Promise<ApiCallError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { message?: unknown };
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // Not JSON: the status says enough.
  }
  return new ApiCallError(res.status, `${what}: ${message}`);
}

/** Whether GET /api/health answers 200. */
export async function healthy(apiUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${apiUrl}/api/health`, { signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

export class ApiSession {
  private constructor(private readonly apiUrl: string, private readonly cookie: string) {}

  /** Signs in; throws ApiCallError (401 for a wrong password). */
  static async login(apiUrl: string, username: string, password: string): Promise<ApiSession> {
    const res = await fetch(`${apiUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (!res.ok) throw await failure(res, `signing in as ${username}`);
    await res.body?.cancel();
    const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0] ?? '').find((c) => c.startsWith('mailscope_session='));
    if (cookie === undefined) throw new ApiCallError(res.status, 'signing in: no session cookie in the answer');
    return new ApiSession(apiUrl, cookie);
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(`${this.apiUrl}${path}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), cookie: this.cookie } });
    if (!res.ok) throw await failure(res, `${init.method ?? 'GET'} ${path}`);
    return (await res.json()) as T;
  }

  /**
   * Turns Save Mail on when the settings were never saved (a fresh install, defaults: off), so the
   * demo's mail can be opened and downloaded; a choice someone saved is left alone. Resolves to
   * whether it changed them.
   */
  async saveMailOnFreshInstall(): Promise<boolean> {
    const current = await this.json<{ settings: Record<string, unknown> & { saveMail: boolean }; updatedAt: string | null }>('/api/settings');
    if (current.updatedAt !== null || current.settings.saveMail) return false;
    await this.json('/api/settings', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...current.settings, saveMail: true }),
    });
    return true;
  }

  /** Uploaded captures of that file name that did not fail. */
  async uploadsNamed(fileName: string): Promise<{ id: string; status: string }[]> {
    const { captures } = await this.json<{ captures: { id: string; fileName: string | null; status: string }[] }>('/api/captures?source=upload&limit=500');
    return captures.filter((c) => c.fileName === fileName && c.status !== 'failed');
  }

  /** POST /api/uploads; resolves to the capture id. */
  async upload(path: string): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([await readFile(path)], { type: 'application/vnd.tcpdump.pcap' }), basename(path));
    const { id } = await this.json<{ id: string }>('/api/uploads', { method: 'POST', body: form });
    return id;
  }

  /** Polls GET /api/uploads/:id until the analysis is over; resolves to its final state. */
  async waitForUpload(id: string, timeoutMs: number): Promise<{ status: string; error: string | null; sessions: number; mails: number }> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.json<{ status: string; error: string | null; sessions: number; mails: number }>(`/api/uploads/${id}`);
      if (s.status === 'done' || s.status === 'failed' || Date.now() > end) return s;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}
