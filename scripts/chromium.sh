#!/usr/bin/env bash
# Makes sure Chromium is installed for the web market's browser tests:
# Debian's `chromium` package, installed with apt-get when missing (as root,
# or through sudo). Playwright's own browser downloads cannot work offline;
# the tests drive this Chromium with playwright-core. SCMPC_CHROMIUM names
# another executable. Without a browser the browser tests fail, naming it.
set -euo pipefail

if [ -n "${SCMPC_CHROMIUM:-}" ] && [ -x "$SCMPC_CHROMIUM" ]; then exit 0; fi
if [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ]; then exit 0; fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "chromium.sh: Chromium is not installed and this user cannot install it; run: sudo apt-get install -y chromium (the browser tests fail without it)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium.sh: Chromium is not installed and there is no apt-get here; install Chromium and set SCMPC_CHROMIUM to it (the browser tests fail without it)" >&2
  exit 0
fi
echo "chromium.sh: installing Debian's chromium for the browser tests (apt-get)" >&2
"${as_root[@]}" apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >&2
