#!/usr/bin/env bash
# Fault-injection sweep over the core: for every back-end the driver
# reports, every call the scenario makes (counted in a clean run first),
# the Nth call for N = 1..FAULT_MAX_N (default 6) and each errno listed
# for that call, run fault_driver with that one fault and require a clean
# outcome (exit 0: the error came back, the manager stayed consistent and
# recovered). Writes a TSV (backend, call, n, errno, outcome) to OUT.
#
# Usage: tests/fault/sweep.sh DRIVER OUT.tsv [BACKENDS]  (default: all it lists)
set -uo pipefail
driver=$1 out=$2 only=${3:-}
maxn=${FAULT_MAX_N:-6}
# call -> the errnos the real call can give that matter here
declare -A errs=(
  [epoll_create1]="EMFILE ENFILE ENOMEM" [epoll_ctl]="ENOMEM ENOSPC"
  [eventfd]="EMFILE ENOMEM" [epoll_wait]="EINTR" [poll]="EINTR ENOMEM"
  [fcntl]="EMFILE EINTR" [pipe2]="EMFILE ENFILE" [malloc]="ENOMEM"
  [realloc]="ENOMEM" [posix_memalign]="ENOMEM"
  [io_uring_setup]="ENOMEM EMFILE" [io_uring_enter]="EINTR ENOMEM")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: > "$out"
runs=0 bad=0
for backend in ${only:-$("$driver" --list)}; do
  EVMGR_FAULT_COUNT=$tmp/counts "$driver" "$backend" > "$tmp/clean" 2>&1 \
    || { echo "FAIL $backend: clean run: $(tail -n 2 "$tmp/clean")"; bad=$((bad+1)); continue; }
  while read -r call count; do
    [ "$count" -gt 0 ] && [ -n "${errs[$call]:-}" ] || continue
    for n in $(seq 1 $(( count < maxn ? count : maxn ))); do
      for e in ${errs[$call]}; do
        runs=$((runs+1))
        EVMGR_FAULT=$call:$n:$e timeout 60 "$driver" "$backend" > "$tmp/log" 2>&1
        rc=$?
        res=$(sed -n 's/^OUTCOME //p' "$tmp/log" | head -n 1)
        if [ $rc = 0 ]; then
          printf '%s\t%s\t%s\t%s\t%s\n' "$backend" "$call" "$n" "$e" "$res" >> "$out"
        else
          bad=$((bad+1))
          printf '%s\t%s\t%s\t%s\tFAILED exit %s: %s\n' "$backend" "$call" "$n" "$e" "$rc" \
            "$(grep -vE '^OUTCOME' "$tmp/log" | grep -m1 -E 'FAIL|ERROR|Sanitizer|runtime error' )" >> "$out"
          echo "FAIL $backend $call:$n:$e (exit $rc): $(grep -m3 -E 'FAIL|ERROR|SUMMARY|runtime error' "$tmp/log" | tr '\n' ' ')"
        fi
      done
    done
  done < "$tmp/counts"
done
echo "fault sweep: $runs runs, $bad failed ($out)"
[ $bad = 0 ]
