#!/usr/bin/env bash
# RTS benchmarks (`make bench`): the demo program (examples/demo/WakeDemo.hs)
# over a range of thread counts, side by side in one run, non-threaded
# unless said:
#   select        stock Debian GHC (select)
#   evmgr-io_uring patched GHC, +RTS --io-manager=io_uring
#   evmgr-epoll   patched GHC, +RTS --io-manager=epoll
#   evmgr-poll    patched GHC, +RTS --io-manager=poll
#   threaded      stock Debian GHC, -threaded (GHC.Event)
#   floor         ping-pong only: bench/pingpong_floor.c, the same hops in a
#                 raw C one-shot epoll loop (what the kernel allows)
# ping-pong: N threads in threadWaitRead on their own pipes, woken one at a
# time around a ring (about HOPS wake-ups per run); sleepers: N threads in
# threadDelay spread over one second.
# Every runtime and the floor make their pipes (FIFOs) in the same
# directory, BENCH_TMPDIR: by default /dev/shm (tmpfs) when it is writable,
# so that the table measures waiting and waking, not the file system: on
# ext4 each FIFO read and write updates the inode's times through the
# journal, a cost that grows with N (bench/pingpong_floor.c says more).
# Output: build/bench/rts.md (tables), build/bench/rts-pingpong.dat, and
# docs/img/wakeups.svg (plot, gnuplot).
# GHC_VERSION (other than 9.0.2; run it where that GHC is native:
# scripts/with-ghc.sh) uses build/ghc-<version> and writes
# build/bench-<version>/ and docs/img/wakeups-<version>.svg instead.
set -uo pipefail
cd "$(dirname "$0")/.."
# Unset: the machine's own Debian GHC (natively on Debian 13: 9.6.6).
GHC_VERSION=${GHC_VERSION:-$(/usr/lib/ghc/bin/ghc --numeric-version 2>/dev/null || true)}
vsfx=""; [ -n "${GHC_VERSION:-}" ] && [ "$GHC_VERSION" != 9.0.2 ] && vsfx=-$GHC_VERSION

NS=${NS:-"1 10 100 500 1000 2000 5000 9000 10000"}
SLEEPERS=${SLEEPERS:-"10000 100000 1000000"}
HOPS=${HOPS:-60000}
TIME_LIMIT=${TIME_LIMIT:-120}
REPEAT=${REPEAT:-3}
out=build/bench$vsfx/rts
BENCH_TMPDIR=${BENCH_TMPDIR:-$( [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}
export TMPDIR=$BENCH_TMPDIR
mkdir -p "$out" docs/img
ulimit -n "$(ulimit -Hn)"

. scripts/lib-compile.sh
build() { compile_hs "$out" "$1" "$2" examples/demo/WakeDemo.hs "${@:3}"; }
echo "rts-bench: compiling WakeDemo three ways" >&2
build stock /usr/bin/ghc
build patched "build/ghc$vsfx/bin/ghc"
build threaded /usr/bin/ghc -threaded
floor_bin=build/core/bench/pingpong_floor
cmake --build build/core --target pingpong_floor >/dev/null || { echo "rts-bench: cannot build $floor_bin (make core)" >&2; exit 1; }

runtimes=${RUNTIMES:-"select evmgr-io_uring evmgr-epoll evmgr-poll threaded floor"}
cmd_of() {
  case $1 in
    select) echo "$out/stock" ;;
    evmgr-io_uring) echo "$out/patched +RTS --io-manager=io_uring -RTS" ;;
    evmgr-epoll) echo "$out/patched +RTS --io-manager=epoll -RTS" ;;
    evmgr-poll) echo "$out/patched +RTS --io-manager=poll -RTS" ;;
    threaded) echo "$out/threaded" ;;
    floor) echo "$floor_bin" ;;
  esac
}

# best of REPEAT runs: prints the rate (4th field), "abort" or "timeout"
measure() { # runtime args...
  local runtime=$1 best="" rate rc
  shift
  for _ in $(seq "$REPEAT"); do
    rate=$(timeout "$TIME_LIMIT" $(cmd_of "$runtime") "$@" 2>"$out/last.err" | awk '{print $4}')
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 124 ]; then echo timeout; return; fi
    if [ -z "$rate" ]; then echo abort; return; fi
    if [ -z "$best" ] || [ "${rate%.*}" -gt "${best%.*}" ]; then best=$rate; fi
  done
  echo "$best"
}

md=build/bench$vsfx/rts.md
dat=build/bench$vsfx/rts-pingpong.dat
echo "N $runtimes" >"$dat"  # header: the plot titles (columnhead)
{
  echo "### Ping-pong: wake-ups per second (best of $REPEAT; FIFOs in $BENCH_TMPDIR)"
  echo
  echo "| N | ${runtimes// / | } |"
  echo "|---:|$(for _ in $runtimes; do printf -- '---:|'; done)"
} >"$md"
for n in $NS; do
  laps=$(( (HOPS + n - 1) / n ))
  row="| $n |"
  line="$n"
  for rt in $runtimes; do
    if [ "$rt" = floor ]; then r=$(measure "$rt" "$n" "$laps"); else r=$(measure "$rt" pipes "$n" "$laps"); fi
    row="$row $r |"
    case $r in abort | timeout) line="$line ?" ;; *) line="$line $r" ;; esac
  done
  echo "$row" | tee -a "$md" >&2
  echo "$line" >>"$dat"
done
# The ratios issue 11 sets targets for (docs/benchmarks.md), from the table.
rate_of() { awk -v n="$1" -v col="$2" 'NR == 1 { for (i = 2; i <= NF; i++) if ($i == col) c = i; next }
                                        $1 == n && c && $c != "?" { print $c }' "$dat"; }
ratio() { # A B -> A/B, or ? when either is not a number
  case "$1/$2" in *[!0-9./]* | /* | */) echo "?" ;; *) awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' ;; esac
}
{
  echo
  echo "Ratios (targets of issue 11):"
  echo
  echo "- evmgr-epoll / select at N = 1: $(ratio "$(rate_of 1 evmgr-epoll)" "$(rate_of 1 select)") (target ≥ 1.0)"
  echo "- evmgr-epoll / select at N = 500: $(ratio "$(rate_of 500 evmgr-epoll)" "$(rate_of 500 select)") (target ≥ 20)"
  echo "- evmgr-epoll / threaded at N = 5000: $(ratio "$(rate_of 5000 evmgr-epoll)" "$(rate_of 5000 threaded)") (target ≥ 5)"
  e_drop=$(ratio "$(rate_of 9000 evmgr-epoll)" "$(rate_of 1 evmgr-epoll)")
  f_drop=$(ratio "$(rate_of 9000 floor)" "$(rate_of 1 floor)")
  echo "- N = 9000 / N = 1: evmgr-epoll $e_drop, floor $f_drop, evmgr's drop / the floor's: $(ratio "$e_drop" "$f_drop") (target ≥ 0.9)"
} >>"$md"
{
  echo
  echo "### Sleepers: seconds for N threads in threadDelay spread over 1 s (best of $REPEAT)"
  echo
  echo "| N | ${runtimes// / | } |"
  echo "|---:|$(for _ in $runtimes; do printf -- '---:|'; done)"
} >>"$md"
for n in $SLEEPERS; do
  row="| $n |"
  for rt in $runtimes; do
    if [ "$rt" = floor ]; then row="$row — |"; continue; fi
    best=""
    for _ in $(seq "$REPEAT"); do
      s=$(timeout "$TIME_LIMIT" $(cmd_of "$rt") sleepers "$n" 2>/dev/null | awk '{print $3}')
      [ -z "$s" ] && { best="> ${TIME_LIMIT} s"; break; }
      if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$s; fi
    done
    row="$row $best |"
  done
  echo "$row" | tee -a "$md" >&2
done

if command -v gnuplot >/dev/null; then
  gnuplot <<GP
set terminal svg size 800,480 dynamic font "sans,12"
set output "docs/img/wakeups$vsfx.svg"
set title "threadWaitRead ping-pong: wake-ups per second vs waiting threads"
set xlabel "threads waiting (N)"
set ylabel "wake-ups per second"
set logscale x
set key outside right
set datafile missing "?"
set grid
plot for [i=2:$(( $(wc -w <<<"$runtimes") + 1 ))] "$dat" using 1:i with linespoints title columnhead(i)
GP
  echo "rts-bench: plot written to docs/img/wakeups$vsfx.svg" >&2
fi
cat "$md"
