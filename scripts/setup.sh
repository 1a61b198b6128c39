#!/usr/bin/env bash
# Install what Lifeboat's demo and tests need on Debian 12 with Node 20 and npm:
# the Debian packages in scripts/debian-packages.txt, pnpm, the JavaScript
# dependencies (from the committed lockfile) and the build. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.8
log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "Lifeboat's demo and tests use loop devices and mounts: run this as root (sudo)." >&2
  exit 1
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "Node.js >= 20 is required (found $(node --version))." >&2
  exit 1
fi

mapfile -t wanted < <(grep -vE '^\s*(#|$)' scripts/debian-packages.txt)
missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "installing pnpm $PNPM_VERSION"
  npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null
fi

log "installing JavaScript dependencies"
pnpm install --frozen-lockfile --reporter=silent
log "building"
pnpm -s build >/dev/null
