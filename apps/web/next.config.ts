import type { NextConfig } from 'next';

/**
 * The browser talks to one origin: REST under /api and socket.io under /socket.io are passed to
 * the API (MAILSCOPE_API_URL, default http://127.0.0.1:3001), so the API's httpOnly login cookie
 * works for both without CORS. `next start` proxies the socket.io WebSocket upgrade too.
 */
const apiUrl = (process.env.MAILSCOPE_API_URL ?? 'http://127.0.0.1:3001').replace(/\/+$/, '');
/**
 * Next buffers a proxied request body up to this size and cuts the rest (10 MB by default), which
 * broke capture uploads: allow the API's upload limit (UPLOAD_LIMIT_MB, default 512) plus room for
 * the multipart framing. Next holds that body in memory while it forwards it; very large captures
 * are better sent with `mailscope-agent import`.
 */
const uploadLimitMb = Number(process.env.UPLOAD_LIMIT_MB ?? '512');
const proxyBodyBytes = (Number.isFinite(uploadLimitMb) && uploadLimitMb > 0 ? uploadLimitMb : 512) * 1024 * 1024 + 1024 * 1024;

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  transpilePackages: ['@mailscope/shared'],
  // socket.io lives at /socket.io/ (trailing slash): Next must not redirect it away.
  skipTrailingSlashRedirect: true,
  experimental: { proxyClientMaxBodySize: proxyBodyBytes },
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
