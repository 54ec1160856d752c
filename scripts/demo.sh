#!/usr/bin/env bash
# `make demo`: one program, three runtimes, side by side.
#
#   select   stock Debian GHC, non-threaded (the RTS's select() loop)
#   evmgr    the patched GHC from `make ghc`, non-threaded, default manager
#   threaded stock Debian GHC with -threaded (GHC.Event's I/O manager)
#
# Scenarios: PIPES threads blocked in threadWaitRead on their own pipes,
# woken one by one around a ring (LAPS times), and SLEEPERS threads in
# threadDelay spread over one second. Each run is bounded by TIME_LIMIT.
set -uo pipefail
cd "$(dirname "$0")/.."

PIPES=${PIPES:-10000}
LAPS=${LAPS:-5}
SLEEPERS=${SLEEPERS:-100000}
TIME_LIMIT=${TIME_LIMIT:-60}
out=build/demo
patched_ghc=build/ghc/bin/ghc
mkdir -p "$out"

# 10,000 pipes (FIFOs, one fd each) plus the runtime's own: raise the soft
# fd limit to the hard one.
hard=$(ulimit -Hn)
ulimit -n "$hard"
echo "demo: soft fd limit raised to $(ulimit -n) (the hard limit) for ${PIPES} pipes"

. scripts/lib-compile.sh
compile() { # name ghc extra-flags...
  echo "demo: compiling $1 with $2 ${*:3}" >&2
  compile_hs "$out" "$1" "$2" examples/demo/WakeDemo.hs "${@:3}"
}

compile select /usr/bin/ghc
compile evmgr "$patched_ghc"
compile threaded /usr/bin/ghc -threaded

# run NAME ARGS... -> prints "seconds|per-second" or the failure in the
# program's own words.
run() {
  local name=$1
  shift
  local log="$out/$name.$1.log" line rc
  timeout "$TIME_LIMIT" "$out/$name" "$@" >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    line=$(grep -E '^(pipes|sleepers) ' "$log" | tail -n 1)
    awk '{printf "%.2f s | %.0f /s", $3, $4}' <<<"$line"
  elif [ $rc -eq 124 ]; then
    printf 'did not finish in %s s' "$TIME_LIMIT"
  else
    printf 'failed: %s' "$(grep -v '^$' "$log" | head -n 1 | sed 's/^[^:]*: //')"
  fi
}

manager=$("$out/evmgr" +RTS --info -RTS 2>/dev/null | sed -n 's/.*"I\/O manager", *"\([^"]*\)".*/\1/p')
# Run everything first, then size each column to its longest cell.
labels=(runtime) col1=("${PIPES} threads in threadWaitRead, woken one by one (${LAPS} laps)")
col2=("${SLEEPERS} threads in threadDelay over 1 s")
for name in select evmgr threaded; do
  case $name in
    select) labels+=("stock GHC (select)") ;;
    evmgr) labels+=("patched GHC (${manager:-evmgr})") ;;
    threaded) labels+=("stock GHC -threaded") ;;
  esac
  col1+=("$(run "$name" pipes "$PIPES" "$LAPS")")
  col2+=("$(run "$name" sleepers "$SLEEPERS")")
done
width() { local w=0 c; for c in "$@"; do [ ${#c} -gt $w ] && w=${#c}; done; echo $w; }
w0=$(width "${labels[@]}"); w1=$(width "${col1[@]}"); w2=$(width "${col2[@]}")
rule() { printf '%*s' "$1" '' | tr ' ' -; }
echo
for i in "${!labels[@]}"; do
  printf '%-*s | %-*s | %s\n' "$w0" "${labels[$i]}" "$w1" "${col1[$i]}" "${col2[$i]}"
  if [ "$i" = 0 ]; then printf '%s-|-%s-|-%s\n' "$(rule "$w0")" "$(rule "$w1")" "$(rule "$w2")"; fi
done
echo
echo "Cells: seconds | wake-ups per second, or what the program said when it failed."
echo "The patched GHC's manager is chosen with +RTS --io-manager=epoll|poll|select (see docs/rts-adapter.md)."
