# syntax=docker/dockerfile:1
# One MPC host (mpc-engine): the Host API for sellers and the bridge (gRPC,
# port 50051) and the Peer service for the other two hosts (gRPC over mutual
# TLS, port 50061). Build from the repository root:
#   docker build -f deploy/docker/host.Dockerfile -t scmpc-host .
# Configured at run time by the SCMPC_HOST_* variables (mpc-engine/src/host/config.ts).
# Nothing secret is in the image: the signing key comes from the environment
# (SCMPC_HOST_SIGNING_KEY), the TLS key from a mounted volume.

FROM node:22-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is rebuilt only when they change.
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
# Only the host's workspaces (and the root's tsx, which runs the TypeScript).
RUN npm ci --workspace protos --workspace mpc-engine --workspace tables --include-workspace-root --no-audit --no-fund
COPY protos protos
COPY mpc-engine mpc-engine
COPY tables tables

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    SCMPC_HOST_LISTEN=0.0.0.0:50051 \
    SCMPC_HOST_PEER_LISTEN=0.0.0.0:50061 \
    SCMPC_HOST_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data /tls && chown node:node /data /tls
USER node
VOLUME ["/data"]
EXPOSE 50051 50061
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 \
  CMD ["node", "--import", "tsx", "/app/mpc-engine/src/host/healthcheck.ts"]
CMD ["node", "--import", "tsx", "mpc-engine/src/main.ts"]
