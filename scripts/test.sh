#!/usr/bin/env bash
# Everything CI checks: set-up, type check, lint, the package contract, and every test.
# Usage: sudo bash scripts/test.sh [vitest filters...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] type check" >&2
pnpm -s typecheck
echo "[test] lint" >&2
pnpm -s lint
echo "[test] API reference (typedoc; an undocumented export fails)" >&2
pnpm -s docs --treatValidationWarningsAsErrors >/dev/null
echo "[test] package contract (publint, attw)" >&2
pnpm -s check:package >/dev/null
echo "[test] C helpers (-Werror, cppcheck, their tests under ASan and UBSan)" >&2
bash scripts/check-c.sh
mkdir -p test-output
echo "[test] tests" >&2
set +e
pnpm -s exec vitest run --reporter=default --reporter=json --outputFile.json=test-output/vitest-report.json "$@"
code=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-output/vitest-report.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit "$code"
