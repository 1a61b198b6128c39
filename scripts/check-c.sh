#!/usr/bin/env bash
# The C helpers of @lifeboat/btrfs (packages/btrfs/c): compiled with warnings as
# errors, checked by cppcheck, then their tests run again against builds with
# AddressSanitizer (and LeakSanitizer) and with UndefinedBehaviorSanitizer.
# Any warning, finding or sanitizer report fails. About a minute.
# Usage: sudo bash scripts/check-c.sh   (root: the tests use loop devices)
set -euo pipefail
cd "$(dirname "$0")/.."
src=${LIFEBOAT_C_DIR:-packages/btrfs/c}  # another copy, e.g. to see a planted bug caught
helpers=(lifeboat-exch lifeboat-btrfs-agent lifeboat-btrfs-reuuid)
tests=(
  packages/btrfs/test/agent.test.ts
  packages/btrfs/test/default-exchange.test.ts
  packages/btrfs/test/reuuid.test.ts
)
cc=${CC:-cc}
# The flags the package compiles with at run time (HELPER_CFLAGS in
# packages/btrfs/src/_internal/c-sources.ts), plus -Werror.
cflags=(-O2 -Wall -Wextra -Werror)
out=$(mktemp -d /tmp/lifeboat-check-c-XXXXXX)
trap 'rm -rf "$out"' EXIT

for h in "${helpers[@]}"; do
  echo "[check-c] $h: $cc ${cflags[*]}" >&2
  "$cc" "${cflags[@]}" -o "$out/$h" "$src/$h.c"
done

echo "[check-c] cppcheck" >&2
# readdirCalled: cppcheck's posix library still recommends readdir_r, which
# glibc deprecates; readdir on a stream of one thread is the right call.
cppcheck --error-exitcode=1 --enable=warning,style,performance,portability --library=posix \
  --std=c11 --inline-suppr --suppress=readdirCalled --quiet "$src"/*.c

# One build per sanitizer: GCC's UBSan, linked with ASan, writes its reports to
# standard error whatever log_path says, where a test expecting a failing helper
# could miss them; alone it honours log_path. Every report lands in a file, so
# a finding fails this script even when the process's exit status is ignored.
failed=0
for sanitizer in address undefined; do
  bin="$out/$sanitizer"
  reports="$out/$sanitizer-reports"
  mkdir -p "$bin" "$reports"
  for h in "${helpers[@]}"; do
    "$cc" "${cflags[@]}" -g -fno-omit-frame-pointer "-fsanitize=$sanitizer" \
      -fno-sanitize-recover=all -o "$bin/$h" "$src/$h.c"
  done
  echo "[check-c] the helpers' tests with -fsanitize=$sanitizer" >&2
  LIFEBOAT_EXCH_HELPER="$bin/lifeboat-exch" \
    LIFEBOAT_AGENT_HELPER="$bin/lifeboat-btrfs-agent" \
    LIFEBOAT_REUUID_HELPER="$bin/lifeboat-btrfs-reuuid" \
    ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1" \
    UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1" \
    pnpm -s exec vitest run --reporter=dot "${tests[@]}" >"$out/$sanitizer.log" 2>&1 || {
    cat "$out/$sanitizer.log" >&2
    echo "[check-c] the tests failed against the -fsanitize=$sanitizer builds" >&2
    failed=1
  }
  if [ -n "$(ls -A "$reports")" ]; then
    cat "$reports"/* >&2
    echo "[check-c] -fsanitize=$sanitizer reported the above" >&2
    failed=1
  fi
done
exit "$failed"
