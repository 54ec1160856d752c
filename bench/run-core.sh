#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Builds evmgr_bench in Release and runs the core benchmark:
# fd events vs raw epoll / libev / libevent, timers, memory, steady-state
# allocations. Writes a markdown report to $OUT (default
# build/bench-core/results.md) and to stdout.
#
#   bench/run-core.sh                 full run (about 8 minutes on a busy 2-core VM)
#   REPS=3 WRITES=20000 bench/run-core.sh   quicker, noisier
#   QUICK=1 bench/run-core.sh         smoke test (seconds)
#   CALLGRIND=1 bench/run-core.sh     also user-space instructions per event
#                                     (bench/callgrind-core.sh, ~3 more minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/bench-core}
OUT=${OUT:-$BUILD/results.md}
JOBS=${JOBS:-2}
REPS=${REPS:-11}
WRITES=${WRITES:-30000}
TIMER_REPS=${TIMER_REPS:-5}
TIMER_COUNT=${TIMER_COUNT:-1000000}
if [[ -n "${QUICK:-}" ]]; then REPS=1; WRITES=5000; TIMER_REPS=1; TIMER_COUNT=100000; fi

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DEVMGR_BUILD_TESTS=OFF -DEVMGR_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target evmgr_bench evmgr_timer_probe >/dev/null
BIN=$BUILD/bench/evmgr_bench

# The group runs in a subshell (it feeds tee): it hands its status back in a file.
STATUS_FILE=$(mktemp)
trap 'rm -f "$STATUS_FILE"' EXIT
{
  status=0
  echo "Command: \`${CALLGRIND:+CALLGRIND=1 }REPS=$REPS WRITES=$WRITES TIMER_REPS=$TIMER_REPS TIMER_COUNT=$TIMER_COUNT bench/run-core.sh\` ($(date -u '+%Y-%m-%d %H:%M UTC'), Release build, git $(git rev-parse --short HEAD 2>/dev/null || echo '?') + working tree)"
  echo
  core_state="clean"
  git diff --quiet HEAD -- rts-manager ffi 2>/dev/null || core_state="uncommitted changes"
  echo "Core sources measured: sha1 $(cat $(find rts-manager ffi -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) | LC_ALL=C sort) | sha1sum | cut -c1-12) (rts-manager/ and ffi/ vs git HEAD: $core_state)."
  echo
  "$BIN" env
  "$BIN" pipes --reps "$REPS" --writes "$WRITES" || status=$((status | 1))
  "$BIN" timers --reps "$TIMER_REPS" --count "$TIMER_COUNT" || status=$((status | 2))
  "$BIN" memory || status=$((status | 4))
  "$BIN" steady || status=$((status | 8))
  if [[ -n "${CALLGRIND:-}" ]]; then BUILD=$BUILD bench/callgrind-core.sh; fi
  echo "$status" >"$STATUS_FILE"
} | tee "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
status=$(cat "$STATUS_FILE")
echo "report: $OUT" >&2
# Exit status: bit 0 fd-event targets missed, bit 1 timer target missed,
# bit 3 steady-state allocations found (bit 2: memory report failed).
exit $status
