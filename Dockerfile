# Multi-stage build: bundle with dev dependencies, ship dist/ and production dependencies
# only, as a non-root user. Works with a read-only root filesystem (writes go to DATA_DIR).
#   docker build -t prom-incident-mcp .
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" builds, and the sources are not copied in yet
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY tools/bundle.ts tools/bundle-url.mjs ./tools/
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    MCP_TRANSPORT=http \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/app/data
WORKDIR /app
# Owned by root, readable by group 0: OpenShift runs the image under a random UID in group 0.
COPY --from=build --chown=0:0 /src/node_modules ./node_modules
COPY --from=build --chown=0:0 /src/dist ./dist
COPY --chown=0:0 package.json ./
RUN mkdir -p /app/data && chown 10001:0 /app/data && chmod 0770 /app/data
USER 10001
EXPOSE 8080
# Binding 0.0.0.0 needs a token (MCP_AUTH_TOKEN or MCP_AUTH_TOKEN_FILE): the server refuses to start without one.
ENTRYPOINT ["node", "dist/main.js"]
