#!/usr/bin/env bash
# The end-to-end demo on a loop-backed disk image (no real disk is touched).
# Usage: sudo bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec pnpm -s exec tsx scripts/demo.ts "$@"
