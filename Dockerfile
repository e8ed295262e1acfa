# Switchyard gateway image. docker-compose.yml runs it against a Postgres 16 container.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ormconfig.ts ./
COPY src ./src
COPY libs ./libs
COPY ui ./ui
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# SWITCHYARD_DATA_DIR (./.data): where metric rows a database outage leaves unwritten are kept (README).
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# Liveness, not readiness: a database outage makes a replica unready (the load balancer's call), but
# the process is healthy and serves flags from memory; an orchestrator must not restart it for that.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:3000/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Node flags as in `npm start`: a smaller young generation, and an old-space cap that also caps how far
# V8 lets garbage pile up between full GCs, keep resident memory under load below 200 MB; the GC on the
# main thread, as a container with one CPU gains nothing from V8's helper threads (README, Benchmarks).
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=1024", "--single-threaded-gc", "dist/src/main.js"]
