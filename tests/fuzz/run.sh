#!/usr/bin/env bash
# Runs the C ABI fuzzer once per back-end, for a bounded time.
#
# Usage: tests/fuzz/run.sh SECONDS WORKDIR FUZZER...
#   Each FUZZER binary lists its back-ends (EVMGR_FUZZ_LIST=1); every
#   back-end not run yet by an earlier binary gets SECONDS of fuzzing with a
#   fixed seed, starting from the committed corpus (tests/fuzz/corpus) and
#   the regression seeds (tests/fuzz/regressions, inputs that once found a
#   bug: they run first, on every back-end). New inputs go to
#   WORKDIR/<back-end>/corpus, a crash to WORKDIR/<back-end>/crash-*.
# Environment: FUZZ_SEED (default 1), FUZZ_ARGS (extra libFuzzer flags).
# Exit status: 0 when every back-end ran clean.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
secs=$1 work=$2; shift 2
seed=${FUZZ_SEED:-1}
mkdir -p "$work"
done_list=" "
status=0
for bin in "$@"; do
  for backend in $(EVMGR_FUZZ_LIST=1 "$bin"); do
    case "$done_list" in *" $backend "*) continue ;; esac
    done_list="$done_list$backend "
    out=$work/$backend
    mkdir -p "$out/corpus"
    log=$out/fuzz.log
    t0=$(date +%s)
    # shellcheck disable=SC2086
    EVMGR_FUZZ_BACKEND=$backend "$bin" -seed="$seed" -max_total_time="$secs" -timeout=30 \
      -max_len=512 -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$out/" \
      ${FUZZ_ARGS:-} "$out/corpus" "$HERE/corpus" "$HERE/regressions" > "$log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    echo "capi_fuzz $backend: exit $rc, ${runs:-?} inputs, ${cov:-cov: ?}, $(( $(date +%s) - t0 )) s ($log)"
    if [ $rc != 0 ]; then
      status=1
      grep -E 'model violation|ERROR: |SUMMARY|Test unit written' "$log" | head -n 5
    fi
  done
done
exit $status
