/**
 * The one way pages call the API: same-origin fetch (Next rewrites /api to the API), the login
 * cookie sent by the browser, errors turned into ApiError with the API's own message and, for
 * forms, its per-field messages.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Query-string helper: drops undefined, null and empty values. */
export function qs(params: Readonly<Record<string, string | number | boolean | undefined | null>>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    sp.set(k, String(v));
  }
  const s = sp.toString();
  return s === '' ? '' : `?${s}`;
}

async function parseError(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  let fields: Record<string, string> = {};
  try {
    const body = (await res.json()) as { message?: unknown; fields?: unknown };
    if (typeof body.message === 'string') message = body.message;
    if (body.fields !== null && typeof body.fields === 'object') fields = body.fields as Record<string, string>;
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401 && typeof window !== 'undefined' && !window.location.pathname.startsWith('/login')) {
    const next = encodeURIComponent(window.location.pathname + window.location.search);
    window.location.assign(`/login?next=${next}`);
  }
  return new ApiError(res.status, message, fields);
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, headers, ...rest } = init;
  let res: Response;
  try {
    res = await fetch(`/api${path}`, {
      credentials: 'same-origin',
      ...rest,
      headers: json === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: json === undefined ? rest.body : JSON.stringify(json),
    });
  } catch (e) {
    throw new ApiError(0, `the API cannot be reached (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!res.ok) throw await parseError(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
