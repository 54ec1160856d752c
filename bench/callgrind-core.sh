#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# User-space instructions per event for each library of evmgr_bench's fd
# benchmark, counted by callgrind over the timed loops only. Deterministic,
# unlike the timings on a shared machine, and blind to the kernel: it shows
# each library's own overhead on top of the same syscalls.
#
#   bench/callgrind-core.sh            (uses build/bench-core from run-core.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/bench-core}
BIN=$BUILD/bench/evmgr_bench
WRITES=${WRITES:-5000}
[[ -x $BIN ]] || { echo "build first: bench/run-core.sh" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
LIBS=("raw epoll LT" "evmgr persistent" "libev" "libevent" "raw epoll one-shot" "evmgr one-shot")
echo "### User-space instructions per event (callgrind, timed loops only, $WRITES writes per run)"
echo
printf '| N | A | timers |'; for l in "${LIBS[@]}"; do printf ' %s |' "$l"; done; echo
printf '|---:|---:|:---:|'; for l in "${LIBS[@]}"; do printf -- '---:|'; done; echo
for cfg in "100 1 0" "100 1 1" "1000 1 0" "1000 1 1" "1000 100 0" "1000 100 1"; do
  read -r n a t <<<"$cfg"
  printf '| %s | %s | %s |' "$n" "$a" "$([[ $t == 1 ]] && echo yes || echo no)"
  raw=""
  for l in "${LIBS[@]}"; do
    EVMGR_BENCH_ONLY="$l" valgrind --tool=callgrind --collect-atstart=no \
      --callgrind-out-file="$TMP/cg.out" "$BIN" pipes --reps 1 --writes "$WRITES" \
      --n "$n" --a "$a" --timers "$t" >/dev/null 2>"$TMP/err" || true  # exit 3: ratios among copies
    events=$(sed -n 's/^events in timed loops: //p' "$TMP/err")
    ir=$(sed -n 's/^totals: //p;s/^summary: //p' "$TMP/cg.out" | head -1 | awk '{print $1}')
    per=$(awk -v i="$ir" -v e="$events" 'BEGIN{printf "%.0f", i/e}')
    [[ -z $raw ]] && raw=$per
    printf ' %s (%s) |' "$per" "$(awk -v p="$per" -v r="$raw" 'BEGIN{printf "%+.0f", p-r}')"
  done
  echo
done
echo
echo "In parentheses: instructions more than the raw level-triggered epoll loop."
