# syntax=docker/dockerfile:1
# The Mailscope capture agent (mailscope-agent run). It captures with libpcap, so it runs as root
# in a container given NET_RAW, NET_ADMIN (and SYS_NICE: --nice) and the host's network (compose.yaml). Build from the
# repository root:
#   docker build -f docker/agent.Dockerfile -t mailscope-agent .
# Run: docker run --network host --cap-add NET_RAW --cap-add NET_ADMIN --cap-add SYS_NICE \
#        -e MAILSCOPE_API=http://127.0.0.1:3001 -e MAILSCOPE_AGENT_TOKEN=ms_... mailscope-agent

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

# --- the agent: libpcap's runtime library only.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app /app
COPY packages packages
COPY apps/agent apps/agent
# Batches wait here while the API is away (a named volume in compose.yaml).
RUN mkdir -p /var/lib/mailscope-agent/spool
ENV NODE_ENV=production
# Healthy while the API it sends to answers from where the agent is (host network, MAILSCOPE_API).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch((process.env.MAILSCOPE_API||'http://127.0.0.1:3001')+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "apps/agent/bin/mailscope-agent.js"]
CMD ["run", "--spool-dir", "/var/lib/mailscope-agent/spool"]
