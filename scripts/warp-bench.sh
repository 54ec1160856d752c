#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Warp: CPU time per request (part of `make bench`, not CI).
# examples/warp/WarpHello.hs under wrk on loopback (keep-alive, CONNS
# connections, DURATION seconds), for
#   evmgr      patched GHC, non-threaded, +RTS --io-manager=epoll
#   evmgr-io_uring  the same, +RTS --io-manager=io_uring
#   select     stock Debian GHC, non-threaded (select)
#   threaded   stock Debian GHC, -threaded +RTS -N1 (GHC.Event)
# CPU per request = the server's user+system time (from /proc/PID/stat,
# read just before it is stopped) / the requests wrk completed. All three
# run one after another in one invocation, so their ratios are comparable
# even on a shared machine. GHC_VERSION picks the patched GHC's build
# (build/ghc or build/ghc-<version>); run it where that GHC is native
# (scripts/with-ghc.sh). Writes build/bench<-version>/warp.md.
set -uo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8}
CONNS=${CONNS:-"10 100"}
REPEAT=${REPEAT:-3}
PORT=${PORT:-18090}
# Unset: the machine's own Debian GHC (natively on Debian 13: 9.6.6).
GHC_VERSION=${GHC_VERSION:-$(/usr/lib/ghc/bin/ghc --numeric-version 2>/dev/null || true)}
vsfx=""; [ -n "${GHC_VERSION:-}" ] && [ "$GHC_VERSION" != 9.0.2 ] && vsfx=-$GHC_VERSION
out=build/bench$vsfx/warp
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)"

. scripts/lib-compile.sh
build() { compile_hs "$out" "$1" "$2" examples/warp/WarpHello.hs "${@:3}"; }
echo "warp-bench: compiling the server three ways" >&2
build patched "build/ghc$vsfx/bin/ghc"
build stock /usr/bin/ghc
build threaded /usr/bin/ghc -threaded

server_cmd() {
  case $1 in
    evmgr) echo "$out/patched $PORT +RTS --io-manager=epoll -RTS" ;;
    evmgr-io_uring) echo "$out/patched $PORT +RTS --io-manager=io_uring -RTS" ;;
    select) echo "$out/stock $PORT" ;;
    threaded) echo "$out/threaded $PORT +RTS -N1 -RTS" ;;
  esac
}
ticks=$(getconf CLK_TCK)
cpu_seconds() { # PID -> utime+stime in seconds; fails once it has exited (a zombie)
  awk -v t="$ticks" '$3 == "Z" { exit 1 } { print ($14 + $15) / t }' "/proc/$1/stat"
}

table=build/bench$vsfx/warp.md
{
  echo "| server | connections | requests/s | CPU µs per request (best of $REPEAT) | p99 | socket errors |"
  echo "|---|---:|---:|---:|---:|---|"
} >"$table"
for conns in $CONNS; do
  for server in ${SERVERS:-evmgr evmgr-io_uring select threaded}; do
    best=""; best_rps=""; best_p99=""; errors=none
    for _ in $(seq "$REPEAT"); do
      log="$out/$server-$conns"
      $(server_cmd "$server") 2>"$log.server" &
      pid=$!
      sleep 0.5
      c0=$(cpu_seconds "$pid")
      timeout $((DURATION + 30)) wrk -t2 -c"$conns" -d"${DURATION}s" --timeout 5s --latency \
        "http://127.0.0.1:$PORT/" >"$log.wrk" 2>&1
      # A server that died under the load (select past fd 1024) has no CPU
      # time left to read: its row says so instead of a number.
      if ! c1=$(cpu_seconds "$pid" 2>/dev/null) || [ -z "$c1" ]; then
        wait "$pid" 2>/dev/null
        errors="server died: $(tail -n 1 "$log.server")"
        continue
      fi
      kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
      reqs=$(awk '/requests in/ {print $1}' "$log.wrk")
      rps=$(awk '/^Requests\/sec/ {print $2}' "$log.wrk")
      p99=$(awk '$1=="99%" {print $2}' "$log.wrk")
      # wrk prints this line only when some connect/read/write failed.
      e=$(sed -n 's/^ *Socket errors: //p' "$log.wrk")
      [ -n "$e" ] && errors=$e
      [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || continue
      us=$(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
      if [ -z "$best" ] || awk -v a="$us" -v b="$best" 'BEGIN{exit !(a<b)}'; then
        best=$us; best_rps=$rps; best_p99=$p99
      fi
      sleep 1
    done
    printf '| %s | %s | %s | %s | %s | %s |\n' "$server" "$conns" "${best_rps:--}" "${best:-failed}" "${best_p99:--}" "$errors" \
      | tee -a "$table" >&2
  done
done
cat "$table"
