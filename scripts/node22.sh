#!/usr/bin/env bash
# Runs a command with Node.js >= 22 first on PATH and the project's
# dependencies installed, on a machine that may have only an older Node:
#   bash scripts/node22.sh npm run demo
#   bash scripts/node22.sh npm test
# Node 22 comes from the npm registry into .tools/ (git-ignored). npm must run
# under Node 22: under an older Node it silently skips Hardhat's native EDR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt 22 ]; then
  if [ ! -x "$root/.tools/node_modules/.bin/node" ]; then
    echo "node22.sh: this machine has Node.js $(node --version 2>/dev/null || echo none); installing Node.js 22 into .tools/ from the npm registry" >&2
    npm install --prefix "$root/.tools" --no-audit --no-fund node@22 >&2
  fi
  export PATH="$root/.tools/node_modules/.bin:$PATH"
fi
if [ "$(node_major)" -lt 22 ]; then
  echo "node22.sh: could not put Node.js >= 22 on PATH (found $(node --version))" >&2
  exit 1
fi

# Install (or re-install) the dependencies when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "node22.sh: installing dependencies with Node.js $(node --version)" >&2
  npm ci --no-audit --no-fund >&2
fi

exec "$@"
