import type { NextConfig } from 'next';

/**
 * The browser talks to one origin: REST under /api and socket.io under /socket.io are passed to
 * the API (MAILSCOPE_API_URL, default http://127.0.0.1:3001), so the API's httpOnly login cookie
 * works for both without CORS. `next start` proxies the socket.io WebSocket upgrade too.
 */
const apiUrl = (process.env.MAILSCOPE_API_URL ?? 'http://127.0.0.1:3001').replace(/\/+$/, '');

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  transpilePackages: ['@mailscope/shared'],
  // socket.io lives at /socket.io/ (trailing slash): Next must not redirect it away.
  skipTrailingSlashRedirect: true,
  // POST /api/uploads is not rewritten: src/pages/api/uploads.ts pipes it to the API (the rewrite's
  // proxy holds a body in memory). Its target is fixed at build time, like the rewrites.
  env: { MAILSCOPE_API_UPLOADS: `${apiUrl}/api/uploads` },
  // Set by the tests so a build for a test run does not overwrite the product's .next.
  distDir: process.env.MAILSCOPE_WEB_DIST_DIR ?? '.next',
  async rewrites() {
    return [
      { source: '/api/:path*', destination: `${apiUrl}/api/:path*` },
      { source: '/socket.io/', destination: `${apiUrl}/socket.io/` },
      { source: '/docs/:path*', destination: `${apiUrl}/docs/:path*` },
    ];
  },
};

export default config;
