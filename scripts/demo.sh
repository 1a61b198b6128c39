#!/usr/bin/env bash
# The end-to-end demo on a loop-backed disk image (no real disk is touched).
# Usage: sudo bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# node runs the demo itself (no wrapper process in between), so Ctrl-C reaches it and its clean-up finishes.
exec node --import tsx scripts/demo.ts "$@"
