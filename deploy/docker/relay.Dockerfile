# syntax=docker/dockerfile:1
# The oracle relay: follows the Chainlink Operator's OracleRequest events,
# asks the bridge and sends fulfillOracleRequest2 from an authorized sender
# (what a Chainlink node's direct-request job does). Build from the repository root:
#   docker build -f deploy/docker/relay.Dockerfile -t scmpc-relay .
# Configured at run time by the SCMPC_RELAY_* variables (bridge/src/relay/config.ts);
# the sender's private key comes from the environment, never from the image.
# Its progress (last block, requests in flight) lives in the /data volume.

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
# The Operator's and the consumers' ABIs (solc comes from the npm package).
RUN npm run build -w contracts

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    SCMPC_RELAY_HEALTH_LISTEN=0.0.0.0:8081
WORKDIR /app
COPY --from=build /app /app
COPY deploy/docker/http-health.mjs deploy/docker/
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=6s --start-period=20s --retries=3 \
  CMD ["node", "/app/deploy/docker/http-health.mjs", "SCMPC_RELAY_HEALTH_LISTEN"]
CMD ["node", "--import", "tsx", "bridge/src/relay/main.ts"]
