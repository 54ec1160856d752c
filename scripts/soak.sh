#!/usr/bin/env bash
# Soak test (`make soak`, not CI): the patched GHC's HTTP server
# (examples/http/HttpServer.hs, +RTS --io-manager=epoll) under sustained
# loopback load for SOAK_SECONDS (default 600), while the e2e stress
# programs (Cancel: killThread of blocked threads; GcStress; Many) run in a
# loop beside it. Each round of load mixes
#   - keep-alive clients (wrk -c SOAK_CONNS),
#   - connection-per-request clients (wrk with "Connection: close"),
#   - idle connections that never send a request and are dropped after a
#     few seconds (client-side timeouts: the server's threads stay blocked
#     in recv until the peer goes away).
# Every SOAK_SAMPLE seconds the server's VmRSS (/proc/PID/status) and open
# fds (/proc/PID/fd) are sampled. It fails if a request is lost (a wrk
# timeout, read error or non-2xx reply), a stress program fails or hangs,
# the server dies or stops answering, RSS grows by more than 20% (and
# 8 MB) from the first quarter of the run to the last, or the server's fd
# count after the load is not back to its idle count.
# Output: build/soak/report.md, samples.tsv and soak.svg (gnuplot).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${SOAK_SECONDS:-600}
CONNS=${SOAK_CONNS:-200}
SAMPLE=${SOAK_SAMPLE:-5}
PORT=${SOAK_PORT:-18090}
OUT=$ROOT/build/soak
GHC=${GHC:-$ROOT/build/ghc/bin/ghc}
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)"
. scripts/lib-compile.sh
[ -x "$GHC" ] || { echo "soak: $GHC missing (make ghc)" >&2; exit 2; }
echo "soak: compiling the server and the stress programs" >&2
compile_hs "$OUT" server "$GHC" examples/http/HttpServer.hs
for p in Cancel GcStress Many; do compile_hs "$OUT" $p "$GHC" tests/e2e/$p.hs -itests/e2e; done

"$OUT/server" $PORT +RTS --io-manager=epoll -RTS 2> "$OUT/server.log" &
spid=$!
trap 'kill $spid 2>/dev/null; kill $(jobs -p) 2>/dev/null' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
sleep 1
fds0=$(ls /proc/$spid/fd | wc -l)
t0=$(date +%s)
end=$((t0 + SECS))
printf 't\trss_kb\tfds\n' > "$OUT/samples.tsv"
( while kill -0 $spid 2>/dev/null && [ "$(date +%s)" -lt $((end + 10)) ]; do
    printf '%s\t%s\t%s\n' $(( $(date +%s) - t0 )) \
      "$(awk '/^VmRSS/ {print $2}' /proc/$spid/status 2>/dev/null)" \
      "$(ls /proc/$spid/fd 2>/dev/null | wc -l)" >> "$OUT/samples.tsv"
    sleep "$SAMPLE"
  done ) &
sampler=$!

# The stress programs, in a loop until the end.
( fails=0 n=0
  while [ "$(date +%s)" -lt $end ]; do
    for p in Cancel GcStress "Many 20000"; do
      set -- $p
      n=$((n+1))
      if ! (cd "$OUT" && timeout 120 "./$1" +RTS --io-manager=epoll -RTS ${2:-}) > "$OUT/stress.log" 2>&1 \
         || ! grep -q '^PASS' "$OUT/stress.log"; then
        fails=$((fails+1)); cp "$OUT/stress.log" "$OUT/stress-fail-$n.log"
      fi
    done
  done
  echo "$n $fails" > "$OUT/stress.result" ) &
stress=$!

idle_conns() { # N SECONDS: N connections that never send a request
  for _ in $(seq "$1"); do
    timeout "$2" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; sleep $2" 2>/dev/null &
  done
}
lua=$OUT/count.lua
cat > "$lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, e.connect, e.read,
                         e.write, e.timeout, e.status))
end
LUA
: > "$OUT/wrk.results"
round=0
while [ "$(date +%s)" -lt $end ]; do
  round=$((round+1))
  left=$(( end - $(date +%s) )); d=$(( left < 15 ? left : 15 )); [ $d -lt 2 ] && break
  idle_conns 50 $(( d / 2 + 1 ))
  wrk -t1 -c "$CONNS" -d "${d}s" --timeout 5s -s "$lua" "http://127.0.0.1:$PORT/" 2>&1 \
    | grep '^RESULT' | sed 's/^RESULT/keepalive/' >> "$OUT/wrk.results" &
  wrk -t1 -c 20 -d "${d}s" --timeout 5s -s "$lua" -H "Connection: close" "http://127.0.0.1:$PORT/" 2>&1 \
    | grep '^RESULT' | sed 's/^RESULT/close/' >> "$OUT/wrk.results" &
  sleep "$d"; sleep 1
done
wait $stress
sleep 3   # the idle connections and TIME_WAITs settle
fds1=$(ls /proc/$spid/fd 2>/dev/null | wc -l)
alive=no; curl -s -m 5 "http://127.0.0.1:$PORT/" > /dev/null && alive=yes
sleep "$SAMPLE"; kill $sampler 2>/dev/null

read -r sruns sfails < "$OUT/stress.result"
reqs=$(awk '{r+=$2} END {print r+0}' "$OUT/wrk.results")
closereqs=$(awk '$1=="close" {r+=$2} END {print r+0}' "$OUT/wrk.results")
# Lost: timeouts and non-2xx replies; read errors too with keep-alive (with
# "Connection: close" wrk counts the server's close after each reply as a
# read error, so there they are not a loss).
lost=$(awk '{l+=$6+$7} $1=="keepalive" {l+=$4} END {print l+0}' "$OUT/wrk.results")
cerr=$(awk '{c+=$3+$5} END {print c+0}' "$OUT/wrk.results")         # connect, write
n=$(( $(wc -l < "$OUT/samples.tsv") - 1 ))
q=$(( n / 4 > 0 ? n / 4 : 1 ))
rss_first=$(awk -v q=$q 'NR>1 && NR<=q+1 {s+=$2; c++} END {printf "%d", s/c}' "$OUT/samples.tsv")
rss_last=$(awk -v n=$n -v q=$q 'NR>n-q+1 {s+=$2; c++} END {printf "%d", s/c}' "$OUT/samples.tsv")
rss_max=$(awk 'NR>1 && $2>m {m=$2} END {print m+0}' "$OUT/samples.tsv")
fds_max=$(awk 'NR>1 && $3>m {m=$3} END {print m+0}' "$OUT/samples.tsv")
verdict=PASS; why=""
[ "$alive" = yes ] || { verdict=FAIL; why="$why server not answering;"; }
[ "$lost" = 0 ] || { verdict=FAIL; why="$why $lost requests lost;"; }
[ "$sfails" = 0 ] || { verdict=FAIL; why="$why $sfails stress runs failed;"; }
[ $(( rss_last - rss_first )) -le $(( rss_first / 5 > 8192 ? rss_first / 5 : 8192 )) ] \
  || { verdict=FAIL; why="$why RSS grew $rss_first -> $rss_last kB;"; }
[ "$fds1" -le $(( fds0 + 2 )) ] || { verdict=FAIL; why="$why fds $fds0 -> $fds1 after the load;"; }

gnuplot <<GP 2>/dev/null
set terminal svg size 800,400
set output "$OUT/soak.svg"
set xlabel "seconds"; set ylabel "RSS (MB)"; set y2label "open fds"; set y2tics; set ytics nomirror
plot "$OUT/samples.tsv" using 1:(\$2/1024) skip 1 with lines title "RSS", \
     "$OUT/samples.tsv" using 1:3 skip 1 axes x1y2 with lines title "fds"
GP
{
  echo "# soak: $verdict$why"
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| duration | ${SECS} s ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)) |"
  echo "| requests | $reqs ($closereqs connection-per-request), $lost lost; connect/write errors $cerr |"
  echo "| stress programs | $sruns runs (Cancel, GcStress, Many 20000), $sfails failed |"
  echo "| server RSS | first quarter $rss_first kB, last quarter $rss_last kB, max $rss_max kB |"
  echo "| server fds | idle $fds0 before, $fds1 after, max $fds_max under load |"
  echo "| answering at the end | $alive |"
  echo
  echo "Samples: samples.tsv; plot: soak.svg."
} > "$OUT/report.md"
cat "$OUT/report.md"
[ $verdict = PASS ]
