# syntax=docker/dockerfile:1
# One image for every role: `api`, `worker`, `all` (default) and the one-shot `migrate`.
# Build: docker build -t switchboard .     Run: docker run switchboard api

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 compiles from source when its prebuilt binary can't be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HEALTH_PORT=9464 \
    SWITCHBOARD_CONFIG=/etc/switchboard/switchboard.yaml
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
# The code stays root-owned and read-only to the app; only ./var (SQLite for role `all`) is writable.
RUN mkdir -p /app/var /etc/switchboard && chown node:node /app/var
USER node
EXPOSE 8080 9464
ENTRYPOINT ["node", "dist/src/cli/switchboard.js"]
CMD ["all"]
