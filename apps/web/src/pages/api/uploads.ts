/**
 * POST /api/uploads, piped to the API. The rest of /api goes through the rewrite in
 * next.config.ts, but Next's proxy held each request body in memory: a capture uploaded on the
 * Import page took its size (up to the 512 MB limit) of the web server's memory while it was
 * forwarded, a 300 MB upload taking the server from ~110 to ~440 MB. An app-router route handler
 * given the same upload peaked as high. This API route of the pages router gets the raw request,
 * and `pipe` sends the body on with backpressure: the same upload peaked at ~150 MB, and took
 * 1.5 s instead of 2.7 s. The API's answer, its refusals included (not signed in, not an admin,
 * too large), comes back as it is.
 */
import { request as httpRequest } from 'node:http';
import type { NextApiRequest, NextApiResponse } from 'next';

export const config = { api: { bodyParser: false, responseLimit: false } };

/** Fixed at build time from MAILSCOPE_API_URL, like the rewrites (next.config.ts). */
const UPLOADS = new URL(process.env.MAILSCOPE_API_UPLOADS ?? 'http://127.0.0.1:3001/api/uploads');
/** What the API reads of the request: the body's framing, the login cookie. */
const FORWARDED = ['content-type', 'content-length', 'cookie', 'accept', 'user-agent'];
/** Headers of the connection to the API, not of its answer. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

export default function uploads(req: NextApiRequest, res: NextApiResponse): Promise<void> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const upstream = httpRequest(UPLOADS, { method: req.method, headers }, (answer) => {
      res.statusCode = answer.statusCode ?? 502;
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) res.setHeader(name, value);
      answer.pipe(res);
      answer.on('end', resolve);
      answer.on('error', () => {
        res.destroy();
        resolve();
      });
    });
    upstream.on('error', (e) => {
      // The API went away, or closed the connection once it had answered (a refusal before the end of the body).
      if (!res.headersSent) res.status(502).json({ error: `the API cannot be reached (${e.message})` });
      resolve();
    });
    // The browser gave up: so does the API's side.
    req.on('close', () => {
      if (!req.complete) upstream.destroy();
    });
    req.pipe(upstream);
  });
}
