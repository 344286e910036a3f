# syntax=docker/dockerfile:1
# The Mailscope web UI (Next.js), non-root. `next build` bakes the API's address into the
# rewrites of /api and /socket.io, so it is a build argument (default: compose.yaml's `api`).
# Build from the repository root:
#   docker build -f docker/web.Dockerfile --build-arg MAILSCOPE_API_URL=http://api:3001 -t mailscope-web .

# --- deps: the same stage as in api.Dockerfile (see there).
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libpcap-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV PRISMA_SCHEMA_ENGINE_BINARY=/app/prisma/tools/schema-engine-stub CHECKPOINT_DISABLE=1 NEXT_TELEMETRY_DISABLED=1
COPY package.json package-lock.json .npmrc ./
# The agent builds its native addon (binding.gyp, native/) during npm ci.
COPY apps/agent/package.json apps/agent/binding.gyp apps/agent/
COPY apps/agent/native apps/agent/native
COPY apps/api/package.json apps/api/
COPY apps/launcher/package.json apps/launcher/
COPY apps/web/package.json apps/web/
COPY packages/protocols/package.json packages/protocols/
COPY packages/shared/package.json packages/shared/
COPY prisma/package.json prisma/schema.prisma prisma/prisma.config.ts prisma/
COPY prisma/tools/schema-engine-stub prisma/tools/
RUN npm ci

# --- build
FROM deps AS build
COPY packages packages
COPY apps/web apps/web
ARG MAILSCOPE_API_URL=http://api:3001
ENV MAILSCOPE_API_URL=${MAILSCOPE_API_URL}
RUN cd apps/web && node ../../node_modules/next/dist/bin/next build

# --- run
FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
USER node
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1
WORKDIR /app/apps/web
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/login').then(r=>process.exit(r.status<500?0:1),()=>process.exit(1))"]
CMD ["node", "../../node_modules/next/dist/bin/next", "start", "--port", "3000"]
