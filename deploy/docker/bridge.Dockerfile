# syntax=docker/dockerfile:1
# The SC-MPC bridge: the Chainlink External Adapter (HTTP, port 8080) that
# drives the three MPC hosts over gRPC. Build from the repository root:
#   docker build -f deploy/docker/bridge.Dockerfile -t scmpc-bridge .
# Configured at run time by the SCMPC_BRIDGE_* variables (bridge/src/config.ts);
# the access key comes from the environment, never from the image. Its job
# store lives in the /data volume.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/check-node.cjs scripts/
COPY deploy/stubs deploy/stubs
COPY protos/package.json protos/
COPY mpc-engine/package.json mpc-engine/
COPY contracts/package.json contracts/
COPY bridge/package.json bridge/
COPY client/package.json client/
COPY tables/package.json tables/
COPY web/package.json web/
RUN npm ci --workspace protos --workspace mpc-engine --workspace tables --workspace contracts --workspace bridge --include-workspace-root --no-audit --no-fund
COPY protos protos
COPY mpc-engine mpc-engine
COPY tables tables
COPY contracts contracts
COPY bridge bridge
# The contract ABIs the bridge reads on-chain requests with (solc comes from the npm package).
RUN npm run build -w contracts

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    SCMPC_BRIDGE_LISTEN=0.0.0.0:8080
WORKDIR /app
COPY --from=build /app /app
COPY deploy/docker/http-health.mjs deploy/docker/
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=6s --start-period=20s --retries=3 \
  CMD ["node", "/app/deploy/docker/http-health.mjs", "SCMPC_BRIDGE_LISTEN"]
CMD ["node", "--import", "tsx", "bridge/src/server.ts"]
