#!/usr/bin/env bash
# End-to-end tests of the patched non-threaded RTS (ghc-patch/, built into
# build/ghc by scripts/ghc-build.sh).
#
# Every program in this directory is compiled once per RTS way (v, debug with
# -debug, l with -eventlog) with build/ghc/bin/ghc and run under each I/O
# manager (+RTS --io-manager=io_uring, epoll, poll, select) where the
# scenario allows; io_uring is left out (SKIP) where the kernel refuses it.
# The fallback cases run a program with io_uring_setup refused by a seccomp
# filter (tests/io_uring/no_io_uring.c): auto must run epoll, an explicit
# --io-manager=io_uring must stop with the kernel's reason.
# Then a slice is compiled with Debian's stock /usr/bin/ghc, to show the
# tests can fail: the >1024-fd program must abort there, and so must every
# mode of ThrowToMasked on its -debug RTS (the assertion ghc-patch 0008 fixes).
#
# Usage: tests/e2e/run.sh [-k PATTERN]   (-k: only cases whose name matches)
# Output: one line per case (PASS/FAIL/SKIP name [seconds]), then exactly
#         "N passed, M failed". Exit status 1 if anything failed.
# Environment: GHC (default build/ghc/bin/ghc), STOCK_GHC (default
#   /usr/bin/ghc), E2E_WAYS (default "v debug l"), E2E_OUT (build/e2e),
#   E2E_EXTRA_WAYS (default "dyn debug_dyn l_dyn thr"). GHC 9.4 and later
#   have no eventlog ways (every RTS traces): l and l_dyn are left out there
#   by default.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# GHC_VERSION (set by scripts/with-ghc.sh): the fast path's build for it.
# Unset: the machine's own Debian GHC (natively on Debian 13: 9.6.6).
GHC_VERSION=${GHC_VERSION:-$(/usr/lib/ghc/bin/ghc --numeric-version 2>/dev/null || true)}
vsfx=""; [ -n "${GHC_VERSION:-}" ] && [ "$GHC_VERSION" != 9.0.2 ] && vsfx=-$GHC_VERSION
GHC=${GHC:-$ROOT/build/ghc$vsfx/bin/ghc}
STOCK_GHC=${STOCK_GHC:-/usr/bin/ghc}
GHC_V=$("$GHC" --numeric-version 2>/dev/null || true)
case "$GHC_V" in
  9.0.*|9.2.*|"") WAYS=${E2E_WAYS:-"v debug l"}; EXTRA_WAYS=${E2E_EXTRA_WAYS:-"dyn debug_dyn l_dyn thr"} ;;
  *)              WAYS=${E2E_WAYS:-"v debug"};   EXTRA_WAYS=${E2E_EXTRA_WAYS:-"dyn debug_dyn thr"} ;;
esac
OUT=${E2E_OUT:-$ROOT/build/e2e$vsfx}
FILTER=""
[ "${1:-}" = "-k" ] && FILTER=${2:-}

passed=0; failed=0
# 5000 fds and more: raise the soft limit (the hard one if we may).
ulimit -n 20000 2>/dev/null || { ulimit -Hn 20000 2>/dev/null && ulimit -n 20000; } \
  || echo "warning: cannot raise RLIMIT_NOFILE to 20000 (now $(ulimit -n))" >&2

[ -x "$GHC" ] || { echo "run.sh: $GHC missing: run scripts/ghc-build.sh (make ghc) first" >&2
                   echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$OUT"

selected() { [ -z "$FILTER" ] || [[ "$1" == *$FILTER* ]]; }
result() { # status name seconds [detail]
  case "$1" in
    PASS) passed=$((passed+1)) ;;
    FAIL) failed=$((failed+1)) ;;
  esac
  printf '%-4s %-40s %6ss%s\n' "$1" "$2" "$3" "${4:+  $4}"
}

# compile GHC WAYFLAGS PROG OUTBIN -> 0/1, log in OUTBIN.log
compile() {
  local ghc=$1 wf=$2 prog=$3 bin=$4
  mkdir -p "$bin.d"
  # Always relink: GHC's "linking not required" looks at the objects, not at
  # the RTS library, so a rebuilt RTS would otherwise go untested.
  rm -f "$bin"
  # shellcheck disable=SC2086
  "$ghc" -v0 -O0 -rtsopts $wf -i"$HERE" -outputdir "$bin.d" -o "$bin" "$HERE/$prog.hs" \
    > "$bin.log" 2>&1
}

# run NAME EXPECT TIMEOUT BIN ARGS... ; EXPECT = pass | abort:<stderr regexp>
run_case() {
  local name=$1 expect=$2 limit=$3; shift 3
  selected "$name" || return 0
  local log=$OUT/logs/${name//\//_}.log
  mkdir -p "$OUT/logs"
  local t0 t1 rc
  t0=$(date +%s.%N)
  (cd "$OUT/run" && timeout --kill-after=5 "$limit" "$@") > "$log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  local secs; secs=$(printf '%.1f' "$(echo "$t1 - $t0" | bc)")
  case "$expect" in
    pass)
      if [ $rc = 0 ] && grep -q '^PASS' "$log"; then result PASS "$name" "$secs"
      else result FAIL "$name" "$secs" "exit $rc: $(grep -v '^PASS' "$log" | tail -n 2 | tr '\n' ' ')"; fi ;;
    abort:*)
      local re=${expect#abort:}
      if [ $rc != 0 ] && [ $rc != 124 ] && [ $rc != 137 ] && grep -qE "$re" "$log"; then
        result PASS "$name" "$secs" "(aborted as expected)"
      else result FAIL "$name" "$secs" "expected an abort matching /$re/, got exit $rc"; fi ;;
  esac
}

mkdir -p "$OUT/run"

# io_uring: in the managers loop where the kernel allows it (then it is also
# the default); the seccomp launcher for the fallback cases.
NOURING=$OUT/no_io_uring
cc -O2 -o "$NOURING" "$ROOT/tests/io_uring/no_io_uring.c" 2> "$OUT/no_io_uring.log" || NOURING=""
printf '#include <linux/io_uring.h>\n#include <sys/syscall.h>\n#include <unistd.h>\nint main(void){struct io_uring_params p={0};return syscall(__NR_io_uring_setup,2,&p)<0;}\n' \
  > "$OUT/uring_probe.c"
if cc -o "$OUT/uring_probe" "$OUT/uring_probe.c" 2>/dev/null && "$OUT/uring_probe"; then
  MANAGERS="io_uring epoll poll select"; DEFAULT_MGR="io_uring (evmgr)"
else
  MANAGERS="epoll poll select"; DEFAULT_MGR="epoll (evmgr)"
  result SKIP "io_uring (refused by this kernel: e2e runs epoll, poll, select)" 0.0
fi

PROGS=(Delays Pipes ManyFds Cancel BadFd Fork Signal GcStress Many Sched ThrowToMasked)

for way in $WAYS; do
  case "$way" in
    v) wf="" ;;
    debug) wf="-debug" ;;
    l) wf="-eventlog" ;;
    *) echo "unknown way $way" >&2; exit 2 ;;
  esac
  for p in "${PROGS[@]}"; do
    bin=$OUT/$way/$p
    selected "$p/$way/io_uring $p/$way/epoll $p/$way/poll $p/$way/select" || continue
    t0=$(date +%s.%N)
    if ! compile "$GHC" "$wf" "$p" "$bin"; then
      result FAIL "compile $p/$way" "$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")" \
        "$(tail -n 3 "$bin.log" | tr '\n' ' ')"
      continue
    fi
    rts=()
    [ "$way" = l ] && rts=(-l)       # write an eventlog: exercise TRACING
    for m in $MANAGERS; do
      name="$p/$way/$m"
      case "$p" in
        Delays)
          # Threads woken by one poll run last-woken first, as on stock
          # (Note [Woken threads go to the front]): wake order is loose.
          run_case "$name" pass 60 "$bin" +RTS --io-manager=$m "${rts[@]}" -RTS loose-order ;;
        Sched)
          for mode in order busy tiny; do
            run_case "$name/$mode" pass 60 "$bin" +RTS --io-manager=$m "${rts[@]}" -RTS $mode
          done ;;
        ManyFds)
          if [ $m = select ]; then
            run_case "$name" 'abort:out of range for select' 60 "$bin" +RTS --io-manager=$m "${rts[@]}" -RTS
          else run_case "$name" pass 60 "$bin" +RTS --io-manager=$m "${rts[@]}" -RTS; fi ;;
        Many)
          # select's sorted insert is O(n) per threadDelay: 20,000 threads there.
          if [ $m = select ]; then run_case "$name-20k" pass 120 "$bin" +RTS --io-manager=$m "${rts[@]}" -RTS 20000
          else run_case "$name" pass 120 "$bin" +RTS --io-manager=$m "${rts[@]}" -RTS 100000; fi ;;
        GcStress)
          run_case "$name" pass 120 "$bin" +RTS --io-manager=$m "${rts[@]}" -RTS
          run_case "$name/-xn" pass 120 "$bin" +RTS --io-manager=$m -xn "${rts[@]}" -RTS
          if [ $way = v ]; then run_case "$name/-c" pass 120 "$bin" +RTS --io-manager=$m -c "${rts[@]}" -RTS; fi
          if [ $way = debug ]; then run_case "$name/-DS" pass 300 "$bin" +RTS --io-manager=$m -DS -RTS; fi ;;
        *)
          run_case "$name" pass 60 "$bin" +RTS --io-manager=$m "${rts[@]}" -RTS ;;
      esac
    done
  done

  # The option itself: --info names the manager, a bad name is an error.
  bin=$OUT/$way/Delays
  if [ -x "$bin" ] && { selected "options/$way" || selected "fallback/$way"; }; then
    for m in $MANAGERS; do
      t0=$(date +%s.%N)
      got=$("$bin" +RTS --io-manager=$m --info 2>&1 | sed -n 's/.*("I\/O manager", "\(.*\)").*/\1/p')
      want="$m (evmgr)"; [ $m = select ] && want=select
      if [ "$got" = "$want" ]; then result PASS "options/$way/--info-$m" 0.0
      else result FAIL "options/$way/--info-$m" 0.0 "--info says '$got'"; fi
    done
    def=$("$bin" +RTS --info 2>&1 | sed -n 's/.*("I\/O manager", "\(.*\)").*/\1/p')
    if [ "$def" = "$DEFAULT_MGR" ]; then result PASS "options/$way/default-${DEFAULT_MGR%% *}" 0.0
    else result FAIL "options/$way/default-${DEFAULT_MGR%% *}" 0.0 "default is '$def'"; fi
    err=$("$bin" +RTS --io-manager=bogus -RTS 2>&1); rc=$?
    if [ $rc != 0 ] && grep -q "unknown I/O manager" <<<"$err"; then result PASS "options/$way/unknown-name" 0.0
    else result FAIL "options/$way/unknown-name" 0.0 "exit $rc"; fi
    # io_uring refused (seccomp, as a container profile or
    # kernel.io_uring_disabled do): auto runs epoll, quietly but for a -Ds
    # trace; an explicit io_uring stops at start-up naming the reason.
    if [ -n "$NOURING" ]; then
      got=$("$NOURING" EPERM "$bin" +RTS --info 2>&1 | sed -n 's/.*("I\/O manager", "\(.*\)").*/\1/p')
      if [ "$got" = "epoll (evmgr)" ]; then result PASS "fallback/$way/auto-info-epoll" 0.0
      else result FAIL "fallback/$way/auto-info-epoll" 0.0 "--info says '$got'"; fi
      run_case "fallback/$way/auto-runs" pass 60 "$NOURING" EPERM "$bin" loose-order
      if selected "fallback/$way/auto-quiet"; then
        out=$("$NOURING" EPERM "$bin" loose-order 2>&1 >/dev/null)
        if [ -z "$out" ]; then result PASS "fallback/$way/auto-quiet" 0.0
        else result FAIL "fallback/$way/auto-quiet" 0.0 "stderr: $(head -n 2 <<<"$out" | tr '\n' ' ')"; fi
      fi
      if [ $way = debug ] && selected "fallback/$way/auto-trace"; then
        out=$("$NOURING" EPERM "$bin" +RTS -Ds -RTS loose-order 2>&1 >/dev/null)
        if grep -q "io_uring refused (Operation not permitted)" <<<"$out" \
           && grep -q "I/O manager: epoll" <<<"$out"; then result PASS "fallback/$way/auto-trace" 0.0
        else result FAIL "fallback/$way/auto-trace" 0.0 "no -Ds trace of the refusal"; fi
      fi
      run_case "fallback/$way/explicit-EPERM" 'abort:io_uring_setup failed: Operation not permitted' \
        60 "$NOURING" EPERM "$bin" +RTS --io-manager=io_uring -RTS loose-order
      run_case "fallback/$way/explicit-ENOSYS" 'abort:io_uring_setup failed: Function not implemented' \
        60 "$NOURING" ENOSYS "$bin" +RTS --io-manager=io_uring -RTS loose-order
    else
      result FAIL "fallback/$way/no_io_uring" 0.0 "cannot build the seccomp launcher: $(tail -n 2 "$OUT/no_io_uring.log" | tr '\n' ' ')"
    fi
    help=$("$bin" +RTS '-?' 2>&1)     # exits non-zero by design
    if grep -q -- "--io-manager=<io_uring|epoll|poll|select|auto>" <<<"$help" \
       && grep -q -- "auto (default: io_uring when the kernel allows it, else epoll)" <<<"$help"; then
      result PASS "options/$way/help" 0.0
    else result FAIL "options/$way/help" 0.0 "+RTS -? does not document --io-manager with io_uring and its default"; fi
  fi
done

# ---- Other ways: -dynamic (the rebuilt shared RTS), -threaded (unchanged) ------
for extra in $EXTRA_WAYS; do
  case $extra in
    dyn) wf="-dynamic" ;; debug_dyn) wf="-dynamic -debug" ;; l_dyn) wf="-dynamic -eventlog" ;;
    thr) wf="-threaded" ;;
  esac
  # -threaded: GHC.Event (stock) cannot wait on regular files (epoll's EPERM
  # surfaces as an IOError), so Pipes is not run there; its timer manager
  # does not promise wake-up order either.
  case $extra in
    dyn) progs="Delays Pipes Cancel ThrowToMasked" ;;
    debug_dyn|l_dyn) progs="Cancel GcStress ThrowToMasked" ;;
    thr) progs="Delays Cancel ManyFds" ;;
  esac
  for p in $progs; do
    selected "$p/$extra/ $p/$extra/io_uring $p/$extra/epoll $p/$extra/poll $p/$extra/select" || continue
    bin=$OUT/$extra/$p
    if ! compile "$GHC" "$wf" "$p" "$bin"; then
      result FAIL "compile $p/$extra" 0.0 "$(tail -n 3 "$bin.log" | tr '\n' ' ')"; continue
    fi
    if [ $extra = thr ]; then
      # The threaded RTS waits in GHC.Event; --io-manager is not for it.
      a=(); [ $p = Delays ] && a=(loose-order)
      run_case "$p/thr" pass 60 "$bin" "${a[@]}"
    else
      for m in $MANAGERS; do
        a=(); [ $p = Delays ] && a=(loose-order)
        run_case "$p/$extra/$m" pass 60 "$bin" +RTS --io-manager=$m -RTS "${a[@]}"
      done
    fi
  done
done
for extra in $EXTRA_WAYS; do
  [ "$extra" = thr ] && continue
  bin=$OUT/$extra/Cancel
  if [ -x "$bin" ] && selected "options/$extra/--info"; then
    got=$("$bin" +RTS --info 2>&1 | sed -n 's/.*("I\/O manager", "\(.*\)").*/\1/p')
    way=$("$bin" +RTS --info 2>&1 | sed -n 's/.*("RTS way", "\(.*\)").*/\1/p')
    if [ "$got" = "$DEFAULT_MGR" ] && [ "$way" = "rts_$extra" ]; then result PASS "options/$extra/--info" 0.0
    else result FAIL "options/$extra/--info" 0.0 "RTS way '$way', I/O manager '$got' (stock shared RTS?)"; fi
  fi
done

# ---- The stock Debian GHC: the same tests must be able to fail -----------------
if [ -x "$STOCK_GHC" ] && selected stock; then
  for p in ManyFds Delays Signal Sched; do
    bin=$OUT/stock/$p
    if ! compile "$STOCK_GHC" "" "$p" "$bin"; then
      result FAIL "stock/compile $p" 0.0 "$(tail -n 3 "$bin.log" | tr '\n' ' ')"; continue
    fi
    case "$p" in
      ManyFds) run_case "stock/$p/select" 'abort:out of range for select' 60 "$bin" ;;
      Delays)  run_case "stock/$p/select" pass 60 "$bin" loose-order ;;
      Signal)  run_case "stock/$p/select" pass 60 "$bin" ;;
      Sched)   for mode in order busy; do run_case "stock/$p/$mode" pass 60 "$bin" $mode; done ;;
    esac
  done
  # Stock RTS knows no --io-manager=epoll, and its --info names no manager.
  bin=$OUT/stock/Delays
  if [ -x "$bin" ]; then
    if ! "$bin" +RTS --io-manager=epoll -RTS >/dev/null 2>&1; then result PASS "stock/rejects---io-manager=epoll" 0.0
    else result FAIL "stock/rejects---io-manager=epoll" 0.0 "the stock RTS accepted it"; fi
  fi
fi

# Stock -debug: finishing a throwTo that waited for a masked target fails
# the assertion at rts/Messages.h:29 (doneWithMsgThrowTo) in each of the
# program's modes, i.e. on each path that finishes such a message; the stock
# release RTS runs them all.
# (9.0.2 only: later GHCs relaxed the assertion themselves.)
if [ -x "$STOCK_GHC" ] && [ "$GHC_V" = 9.0.2 ] && selected "stock/ThrowToMasked/"; then
  for sw in v debug; do
    wf=""; [ $sw = debug ] && wf="-debug"
    bin=$OUT/stock/$sw/ThrowToMasked
    if ! compile "$STOCK_GHC" "$wf" ThrowToMasked "$bin"; then
      result FAIL "stock/compile ThrowToMasked/$sw" 0.0 "$(tail -n 3 "$bin.log" | tr '\n' ' ')"; continue
    fi
    if [ $sw = v ]; then
      run_case "stock/ThrowToMasked/v" pass 60 "$bin"
    else
      for mode in timeout unmask io delay block finish thrower exit; do
        run_case "stock/ThrowToMasked/debug/$mode" 'abort:ASSERTION FAILED: file rts/Messages.h' 60 "$bin" $mode
      done
    fi
  done
fi

# ---- Syscalls per wake-up: counted, not timed (strace -c) ----------------------
# A ping-pong of HOPS wake-ups between two threads: each hop is the thread's
# own read and write, plus what the I/O manager needs to wait. epoll needs
# one epoll_pwait2 and one epoll_ctl (the one-shot re-arm, which is also how
# a reused fd number is noticed): 4 per hop, as many as stock select makes
# with its two pselect6 per hop on a loaded machine; a non-blocking poll
# between two threads (Note [Fewer polls]) would make it 5.
if selected syscalls && command -v strace >/dev/null; then
  bin=$OUT/syscalls/Sched; mkdir -p "$OUT/syscalls"
  compile "$GHC" "" Sched "$bin" || result FAIL "syscalls/compile" 0.0 "$(tail -n 3 "$bin.log" | tr '\n' ' ')"
  hops=20000
  for m in $MANAGERS; do
    # Tenths of a syscall per hop. poll(2) itself needs no re-arm, but each
    # first waiter on an fd costs a statx (the file's identity, so that a
    # reused number is noticed; it also says whether the fd is open).
    # io_uring: one io_uring_enter (submits the poll and waits) and that
    # statx.
    case $m in io_uring) limit=42 ;; epoll) limit=42 ;; poll) limit=42 ;; select) limit=32 ;; esac
    log=$OUT/logs/syscalls_$m.strace; mkdir -p "$OUT/logs"
    if (cd "$OUT/run" && strace -f -c -o "$log" "$bin" +RTS --io-manager=$m -RTS pingpong $hops) > "$log.out" 2>&1 \
       && grep -q '^PASS' "$log.out"; then
      total=$(awk '$NF == "total" { print $4 }' "$log")
      per=$(( total * 10 / hops ))
      if [ "$per" -le $limit ]; then result PASS "syscalls/$m" 0.0 "($total syscalls for $hops hops: $((per / 10)).$((per % 10)) per hop)"
      else result FAIL "syscalls/$m" 0.0 "$total syscalls for $hops hops: $((per / 10)).$((per % 10)) per hop > $((limit / 10)).$((limit % 10)) ($(sort -k4 -nr "$log" | awk 'NR>1 && NR<6 {printf "%s %s, ", $NF, $(NF-1)}'))"; fi
    else result FAIL "syscalls/$m" 0.0 "the ping-pong failed under strace: $(tail -n 2 "$log.out" | tr '\n' ' ')"; fi
  done
fi

# ---- Silent when idle: no syscall once every thread waits ---------------------
# `Sched idle` blocks every thread for good; after it prints "settled" and
# one more second (the adapter may owe one closed-fd sweep, Note [Closed fds
# when idle]), strace attaches to all its threads for IDLE_SECONDS (default 5, as issue 11 asks) and
# counts: stock select makes 0, and so must every manager.
if selected idle && command -v strace >/dev/null; then
  bin=$OUT/idle/Sched; mkdir -p "$OUT/idle" "$OUT/logs"
  compile "$GHC" "" Sched "$bin" || result FAIL "idle/compile" 0.0 "$(tail -n 3 "$bin.log" | tr '\n' ' ')"
  for m in $MANAGERS; do
    log=$OUT/logs/idle_$m
    (cd "$OUT/run" && exec "$bin" +RTS --io-manager=$m -RTS idle) > "$log.out" 2>&1 &
    pid=$!
    for _ in $(seq 50); do grep -q settled "$log.out" 2>/dev/null && break; sleep 0.1; done
    sleep 1
    # strace -c writes nothing when it counted nothing: its own "attached"
    # line shows that it did watch.
    timeout -s INT "${IDLE_SECONDS:-5}" strace -f -c -p "$pid" -o "$log.strace" > /dev/null 2> "$log.attach"
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    calls=$(awk '$NF == "total" { print $4 }' "$log.strace" 2>/dev/null)
    if ! grep -q settled "$log.out"; then result FAIL "idle/$m" 0.0 "the program did not settle: $(tail -n 2 "$log.out" | tr '\n' ' ')"
    elif ! grep -q attached "$log.attach"; then result FAIL "idle/$m" 0.0 "strace could not attach: $(head -n 1 "$log.attach")"
    elif [ "${calls:-0}" = 0 ]; then result PASS "idle/$m" 0.0 "(0 syscalls in ${IDLE_SECONDS:-5} s)"
    else result FAIL "idle/$m" 0.0 "$calls syscalls in ${IDLE_SECONDS:-5} s: $(sort -k4 -nr "$log.strace" | awk 'NR>1 && NR<5 {printf "%s %s, ", $NF, $(NF-1)}')"; fi
  done
fi

# ---- Drop-in: a program from the patched GHC is about the size of stock's -------
# Unstripped within +10%, stripped within +8% (the event manager and the
# adapter add ~40 KB of code; nothing else may grow).
if [ -x "$STOCK_GHC" ] && selected dropin; then
  d=$OUT/dropin; mkdir -p "$d"
  printf 'main :: IO ()\nmain = putStrLn "hello"\n' > "$d/Hello.hs"
  ok=1
  for g in stock patched; do
    gbin=$GHC; [ $g = stock ] && gbin=$STOCK_GHC
    rm -f "$d/hello-$g"
    "$gbin" -v0 -O1 -outputdir "$d/$g.o" -o "$d/hello-$g" "$d/Hello.hs" > "$d/$g.log" 2>&1 || ok=0
    strip -o "$d/hello-$g.stripped" "$d/hello-$g" 2>/dev/null || ok=0
  done
  if [ $ok = 1 ]; then
    size() { stat -c %s "$1"; }
    for kind in "unstripped: 110" "stripped: 108"; do
      suffix=""; [ "${kind%%:*}" = stripped ] && suffix=.stripped
      s0=$(size "$d/hello-stock$suffix"); s1=$(size "$d/hello-patched$suffix")
      pct=$(( s1 * 100 / s0 )); limit=${kind#*: }
      if [ $pct -le "$limit" ]; then result PASS "dropin/size-${kind%%:*}" 0.0 "($s1 vs stock $s0 bytes: $pct%)"
      else result FAIL "dropin/size-${kind%%:*}" 0.0 "$s1 bytes vs stock $s0: $pct% > $limit%"; fi
    done
  else result FAIL "dropin/compile" 0.0 "$(cat "$d"/*.log | tail -n 3 | tr '\n' ' ')"; fi
fi

# ---- Drop-in: a program needs exactly the shared libraries stock's needs -------
# No libstdc++, no libgcc_s (Note [No C++ runtime] in the core's memory.hpp):
# `ldd` of hello-world names the same libraries for both compilers, with the
# static RTS and with -dynamic (where the patched program must load the
# patched libHSrts, not Debian's).
if [ -x "$STOCK_GHC" ] && selected dropin; then
  d=$OUT/dropin; mkdir -p "$d"
  printf 'main :: IO ()\nmain = putStrLn "hello"\n' > "$d/Hello.hs"
  names() { awk '$1 != "" {print $1}' "$1" | sort; }
  rts_path() { sed -n 's/^[[:space:]]*libHSrts[^ ]* => \([^ ]*\).*/\1/p' "$1"; }
  for link in static dynamic; do
    flags=""; [ $link = dynamic ] && flags=-dynamic
    ok=1
    for g in stock patched; do
      gbin=$GHC; [ $g = stock ] && gbin=$STOCK_GHC
      bin=$d/hello-$g-$link
      rm -f "$bin"
      # shellcheck disable=SC2086
      "$gbin" -v0 -O1 $flags -outputdir "$bin.o" -o "$bin" "$d/Hello.hs" > "$bin.log" 2>&1 \
        && [ "$("$bin")" = hello ] && ldd "$bin" > "$bin.ldd" 2>&1 || ok=0
    done
    sl=$d/hello-stock-$link.ldd; pl=$d/hello-patched-$link.ldd
    if [ $ok = 0 ]; then
      result FAIL "dropin/ldd-$link" 0.0 "$(cat "$d"/hello-*-$link.log | tail -n 3 | tr '\n' ' ')"
    elif grep -q 'not found' "$pl"; then
      result FAIL "dropin/ldd-$link" 0.0 "$(grep 'not found' "$pl" | tr '\n' ' ')"
    elif [ $link = dynamic ] && [ "$(rts_path "$pl")" = "$(rts_path "$sl")" ]; then
      result FAIL "dropin/ldd-$link" 0.0 "the patched program loads stock's RTS $(rts_path "$sl")"
    elif [ "$(names "$sl")" = "$(names "$pl")" ]; then
      result PASS "dropin/ldd-$link" 0.0 "($(names "$pl" | grep -c .) libraries, as stock: $(names "$pl" | grep -v '^linux-vdso' | tr '\n' ' '))"
    else
      result FAIL "dropin/ldd-$link" 0.0 "differs from stock: $(diff <(names "$sl") <(names "$pl") | grep '^[<>]' | tr '\n' ' ')"
    fi
  done
fi

# ---- Drop-in: a Debian library installed after `make ghc` is seen at once ------
# (the wrappers re-sync their package db copy when Debian's changes). Needs
# root and Debian's archive: the package is removed first if present, then
# installed, and must be usable by both compilers without a rebuild.
if [ -x "$STOCK_GHC" ] && selected dropin && [ "$(id -u)" = 0 ] && [ "${E2E_APT:-1}" = 1 ]; then
  d=$OUT/dropin; mkdir -p "$d"; pkg=libghc-split-dev
  printf 'import Data.List.Split (splitOn)\nmain :: IO ()\nmain = print (splitOn "," "a,b")\n' > "$d/Split.hs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get remove -y -qq "$pkg" > "$d/apt.log" 2>&1 || true
  if "$GHC" -v0 -outputdir "$d/split.o" -o "$d/split" "$d/Split.hs" >> "$d/apt.log" 2>&1; then
    result FAIL "dropin/new-debian-package" 0.0 "Data.List.Split compiled before $pkg was installed"
  elif ! apt-get install -y -qq --no-install-recommends "$pkg" >> "$d/apt.log" 2>&1; then
    result FAIL "dropin/new-debian-package" 0.0 "apt-get install $pkg failed: $(tail -n 2 "$d/apt.log" | tr '\n' ' ')"
  elif "$GHC" -v0 -outputdir "$d/split.o" -o "$d/split" "$d/Split.hs" >> "$d/apt.log" 2>&1 \
       && [ "$("$d/split")" = '["a","b"]' ] && "${GHC%/ghc}/ghc-pkg" list --simple-output split | grep -q split; then
    result PASS "dropin/new-debian-package" 0.0 "($pkg installed after make ghc: seen without a rebuild)"
  else
    result FAIL "dropin/new-debian-package" 0.0 "$(tail -n 3 "$d/apt.log" | tr '\n' ' ')"
  fi
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
