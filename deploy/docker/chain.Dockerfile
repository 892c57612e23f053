# syntax=docker/dockerfile:1
# For local use only: a Hardhat (EDR) development chain, and the one-shot
# deployer that puts the market on it (same image, other command). Build from
# the repository root:
#   docker build -f deploy/docker/chain.Dockerfile -t scmpc-chain .
# The chain's accounts are Hardhat's public development accounts: never use
# this image, or its keys, on a real network (see deploy/README.md for that).

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
# The deployer runs the client's code, which imports every workspace.
RUN npm ci --no-audit --no-fund
COPY protos protos
COPY mpc-engine mpc-engine
COPY tables tables
COPY contracts contracts
COPY bridge bridge
COPY client client
# Compile the contracts (solc comes from the npm package: nothing is downloaded).
RUN npm run build -w contracts

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app /app
COPY deploy/docker/chain-health.mjs deploy/docker/
USER node
EXPOSE 8545
HEALTHCHECK --interval=5s --timeout=5s --start-period=20s --retries=5 \
  CMD ["node", "/app/deploy/docker/chain-health.mjs", "8545"]
WORKDIR /app/contracts
CMD ["/app/node_modules/.bin/hardhat", "node", "--hostname", "0.0.0.0", "--port", "8545"]
