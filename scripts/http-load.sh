#!/usr/bin/env bash
# HTTP load test (part of `make bench`, not CI): examples/http/HttpServer.hs
# under wrk on loopback, for
#   evmgr      patched GHC, non-threaded, +RTS --io-manager=epoll
#   select     patched GHC, non-threaded, +RTS --io-manager=select (the
#              stock wait: it aborts once an fd passes 1024)
#   threaded   stock Debian GHC, -threaded (GHC.Event)
# at 100, 1,000 and 8,000 concurrent connections, keep-alive and
# connection-per-request. Every run is bounded: DURATION seconds of load.
# Writes a markdown table to build/bench/http.md and prints it.
set -uo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8}
CONNS=${CONNS:-"100 1000 8000"}
PORT=${PORT:-18080}
out=build/bench/http
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)"

. scripts/lib-compile.sh
build() { compile_hs "$out" "$1" "$2" examples/http/HttpServer.hs "${@:3}"; }
echo "http-load: compiling the server (patched non-threaded, stock -threaded)" >&2
build patched build/ghc/bin/ghc
build threaded /usr/bin/ghc -threaded

server_cmd() {
  case $1 in
    evmgr) echo "$out/patched $PORT +RTS --io-manager=epoll -RTS" ;;
    select) echo "$out/patched $PORT +RTS --io-manager=select -RTS" ;;
    threaded) echo "$out/threaded $PORT +RTS -N1 -RTS" ;;
  esac
}

table=build/bench/http.md
{
  echo "| server | connections | mode | requests/s | p50 | p99 | errors (connect, write, timeout; reads with keep-alive) | server |"
  echo "|---|---:|---|---:|---:|---:|---:|---|"
} >"$table"

for server in evmgr select threaded; do
  for conns in $CONNS; do
    for mode in keep-alive close; do
      log="$out/$server-$conns-$mode"
      $(server_cmd "$server") 2>"$log.server" &
      pid=$!
      sleep 0.5
      extra=()
      [ "$mode" = close ] && extra=(-H "Connection: close")
      timeout $((DURATION + 30)) wrk -t2 -c"$conns" -d"${DURATION}s" --timeout 5s --latency \
        "${extra[@]}" "http://127.0.0.1:$PORT/" >"$log.wrk" 2>&1
      if kill -0 "$pid" 2>/dev/null; then
        state=alive
        kill "$pid"
        wait "$pid" 2>/dev/null
      else
        wait "$pid" 2>/dev/null
        state="died: $(grep -v '^listening' "$log.server" | head -n 1 | cut -c1-70)"
      fi
      rps=$(awk '/^Requests\/sec/ {print $2}' "$log.wrk")
      p50=$(awk '$1=="50%" {print $2}' "$log.wrk")
      p99=$(awk '$1=="99%" {print $2}' "$log.wrk")
      # wrk counts a connection the server closes as a read error, which is
      # every request in connection-per-request mode: count reads only with
      # keep-alive. Non-2xx answers are errors too.
      errors=$(awk -v mode="$mode" '
        /Socket errors/ { gsub(",", ""); e += $4 + $8 + $10; if (mode == "keep-alive") e += $6 }
        /Non-2xx/ { e += $NF }
        END { print e + 0 }' "$log.wrk")
      printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$server" "$conns" "$mode" \
        "${rps:-0}" "${p50:--}" "${p99:--}" "${errors:-0}" "$state" | tee -a "$table" >&2
      sleep 1
    done
  done
done
echo >&2
cat "$table"
