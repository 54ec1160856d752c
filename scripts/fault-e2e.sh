#!/usr/bin/env bash
# Fault injection into the patched GHC's programs: each e2e program below,
# in the v and debug ways (debug runs with +RTS -DS, the RTS's sanity
# checks), under each evmgr manager, with one fault injected by the
# LD_PRELOAD library (tests/fault/fault_preload.c, EVMGR_FAULT). Each run
# is classified:
#   pass       the program still passed (the fault was absorbed or retried)
#   ioerror    an IOError/exception reached the program, non-zero exit
#   message    the RTS stopped with a message naming the failure, non-zero exit
#   CRASH      killed by a signal (segfault, abort without a message)
#   HANG       still running after the time limit
#   LOST       exit 0 without the program's PASS line (a thread went missing)
# The first three are acceptable; any of the last three fails the run.
# Output: OUT/results.tsv (way, manager, program, fault, outcome, detail).
#
# Usage: scripts/fault-e2e.sh   (after `make ghc` and the core build)
# Environment: GHC, PRELOAD (the .so), OUT (default build/fault-e2e).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GHC=${GHC:-$ROOT/build/ghc/bin/ghc}
PRELOAD=${PRELOAD:-$ROOT/build/core/tests/fault/libevmgr_fault_preload.so}
OUT=${OUT:-$ROOT/build/fault-e2e}
E2E=$ROOT/tests/e2e
[ -x "$GHC" ] || { echo "fault-e2e: $GHC missing (make ghc)" >&2; exit 2; }
[ -f "$PRELOAD" ] || { echo "fault-e2e: $PRELOAD missing (make core)" >&2; exit 2; }
mkdir -p "$OUT/run"
PROGS=(Pipes Delays Cancel)
declare -A FAULTS=(
  [epoll]="epoll_create1:1:EMFILE eventfd:1:EMFILE epoll_ctl:1:ENOSPC epoll_ctl:3:ENOMEM epoll_ctl:20:ENOSPC epoll_wait:2:EINTR epoll_wait:10:EINTR fcntl:1:EMFILE poll:1:ENOMEM"
  [poll]="pipe2:1:EMFILE poll:2:EINTR poll:10:EINTR poll:5:ENOMEM fcntl:1:EMFILE")
printf 'way\tmanager\tprogram\tfault\toutcome\tdetail\n' > "$OUT/results.tsv"
bad=0 runs=0
for way in v debug; do
  wf=""; rts=()
  [ $way = debug ] && { wf=-debug; rts=(-DS); }
  for p in "${PROGS[@]}"; do
    bin=$OUT/$way/$p
    mkdir -p "$bin.d"
    "$GHC" -v0 -O0 -rtsopts $wf -i"$E2E" -outputdir "$bin.d" -o "$bin" "$E2E/$p.hs" > "$bin.log" 2>&1 \
      || { echo "fault-e2e: cannot compile $p ($way)" >&2; exit 2; }
    args=(); [ $p = Delays ] && args=(loose-order)
    for m in epoll poll; do
      for f in ${FAULTS[$m]}; do
        runs=$((runs+1))
        log=$OUT/run/$way-$m-$p-${f//:/_}.log
        (cd "$OUT/run" && EVMGR_FAULT=$f LD_PRELOAD=$PRELOAD timeout --kill-after=5 60 \
           "$bin" +RTS --io-manager=$m "${rts[@]}" -RTS "${args[@]}") > "$log" 2>&1
        rc=$?
        detail=$(grep -v '^PASS' "$log" | grep -m1 -vE '^\s*$' | cut -c1-120)
        if [ $rc = 0 ] && grep -q '^PASS' "$log"; then o=pass
        elif [ $rc = 0 ]; then o=LOST
        elif [ $rc = 124 ] || [ $rc = 137 ]; then o=HANG
        elif [ $rc -gt 128 ]; then o=CRASH
        elif grep -qiE 'IOError|exception|awaitEvent: invalid argument|resource exhausted|out of memory|interrupted|No space' "$log" \
             && ! grep -qi 'internal error' "$log"; then o=ioerror
        elif grep -qiE 'evmgr|I/O manager' "$log"; then o=message
        else o=CRASH; fi
        case $o in pass|ioerror|message) ;; *) bad=$((bad+1)); echo "FAIL $way/$m/$p $f: $o: $detail";; esac
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' $way $m $p "$f" $o "$detail" >> "$OUT/results.tsv"
      done
    done
  done
done
echo "fault-e2e: $runs runs, $bad not acceptable ($OUT/results.tsv)"
[ $bad = 0 ]
