#!/usr/bin/env bash
# `make ghc-full`: a complete GHC 9.0.2 built from source with the evmgr
# series (ghc-patch/*.patch) applied, installed into build/ghc-full/.
#
# Unlike the fast path (scripts/ghc-build.sh, which reuses Debian's compiler
# and libraries and only rebuilds RTS objects), this runs GHC's own make build
# system: Debian's ghc 9.0.2 bootstraps a stage-1 compiler, which builds the
# RTS (every way, threaded ones included; rts/ghc.mk compiles this
# checkout's RTS adapter, seen as rts/evmgr/, and the event manager's one
# translation unit, and puts them into every RTS library), the boot
# libraries and a stage-2 compiler. The result has its own `base` (ABI-different from Debian's), so
# Debian's libghc-*-dev packages do not load in it; boot packages do.
#
# Usage: scripts/ghc-full.sh [--force-patches] [--no-install]
#        scripts/ghc-full.sh --e2e-deps
#   --force-patches  reverse-apply and re-apply the whole series
#   --no-install     stop after `make'
#   --e2e-deps       only make sure build/ghc-full has what tests/e2e needs
#                    beyond the boot packages: `network' (Pipes.hs), built
#                    from Debian's source package (apt-get source
#                    haskell-network, the version libghc-network-dev has) and
#                    registered in build/ghc-full's global package db (the
#                    `make test-ghc-full' prerequisite; `make install' drops
#                    it again, the next --e2e-deps re-registers it).
#
# Phases (one progress line each, "ghc-full: [phase] ..."):
#   deps       apt-get: Debian's ghc, happy, alex, autoconf, automake, g++,
#              libboost-dev, libffi-dev, libgmp-dev, libnuma-dev,
#              libncurses-dev, python3
#   source     build/ghc-full-src/ghc-9.0.2 from `apt-get source ghc` (reuses
#              the .dsc + tarballs in build/ghc-src when present), plus a
#              pristine copy in build/ghc-full-src/pristine for the check
#   patches    ghc-patch/check-patches.sh against the pristine tree, then the
#              series is brought up to date in the build tree: patches that
#              are unchanged stay applied; from the first changed one on, the
#              old ones are reverse-applied (newest first) and the new ones
#              applied. Files whose content ends up unchanged get their old
#              mtime back, so make rebuilds only what really changed.
#   boot       ./boot (autoreconf, like Debian's rules) when configure.ac or
#              aclocal.m4 changed
#   configure  ./configure --with-system-libffi --prefix=build/ghc-full, when
#              its inputs changed
#   build.mk   mk/build.mk (quick flavour, no docs, EvmgrDir=<this checkout>);
#              rewritten only when its content changes
#   make       make -j$JOBS (default 3)
#   install    make install into build/ghc-full (skipped if nothing was rebuilt)
#   smoke      a program built with build/ghc-full/bin/ghc names the I/O
#              manager in +RTS --info and runs with --io-manager=select
#
# Full log: build/ghc-full.log
# (path printed at the start; the tail is shown on failure; the previous
# run's log is kept as build/ghc-full.log.prev).
# Environment: BUILD (default build/), JOBS (default 3), GHC_FULL_RTS_WAYS
#   (RTS ways besides v and dyn; default "l debug thr debug_dyn l_dyn thr_dyn",
#   what the compiler and tests/e2e use; "all" = GHC's full default set).
set -euo pipefail
# Everything is in main(), read in full before anything runs: editing this
# file during a long build cannot derail the running copy.
main() {

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/scripts/lib-stamp.sh"
BUILD=${BUILD:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SRCROOT=$BUILD/ghc-full-src
TREE=$SRCROOT/ghc-9.0.2
PRISTINE=$SRCROOT/pristine/ghc-9.0.2
APPLIED=$SRCROOT/applied          # copies of the patches applied to $TREE, in order
PREFIX=$BUILD/ghc-full
LOG=$BUILD/ghc-full.log
JOBS=${JOBS:-3}
# RTS ways besides v and dyn (which the libraries' ways imply). Default: the
# ones the compiler itself (thr_dyn) and tests/e2e use; "all" = GHC's default
# set (adds thr_debug, thr_l, thr_debug_dyn, thr_l_dyn: ~1/3 more RTS build).
RTS_WAYS=${GHC_FULL_RTS_WAYS:-"l debug thr debug_dyn l_dyn thr_dyn"}
FORCE_PATCHES=0; INSTALL=1; E2E_DEPS=0
for a in "$@"; do
  case "$a" in
    --force-patches) FORCE_PATCHES=1 ;;
    --no-install) INSTALL=0 ;;
    --e2e-deps) E2E_DEPS=1 ;;
    *) echo "usage: $0 [--force-patches] [--no-install] | --e2e-deps" >&2; exit 2 ;;
  esac
done

if [ $E2E_DEPS = 1 ]; then
  # network for tests/e2e/Pipes.hs: Debian's libghc-network-dev is built
  # against Debian's base and does not load in build/ghc-full.
  GHC=$PREFIX/bin/ghc; GHCPKG=$PREFIX/bin/ghc-pkg
  [ -x "$GHC" ] || { echo "ghc-full: $GHC missing: run scripts/ghc-full.sh (make ghc-full) first" >&2; exit 1; }
  if "$GHCPKG" --global field network version >/dev/null 2>&1; then
    echo "ghc-full: [e2e-deps] network $("$GHCPKG" --global --simple-output field network version) already registered in $PREFIX"
    exit 0
  fi
  NETLOG=$BUILD/ghc-full-network.log; : > "$NETLOG"
  echo "ghc-full: [e2e-deps] building network from Debian's source for $GHC (log: $NETLOG)"
  NS=$BUILD/ghc-full-network
  mkdir -p "$NS"
  d=$(ls -d "$NS"/network-* 2>/dev/null | head -n1 || true)
  if [ -z "$d" ]; then
    (cd "$NS" && apt-get source --download-only haskell-network >> "$NETLOG" 2>&1) \
      || { echo "ghc-full: apt-get source haskell-network failed (see $NETLOG)" >&2; exit 1; }
    dsc=$(ls "$NS"/haskell-network_*.dsc | head -n1)
    v=$(basename "$dsc" .dsc); v=${v#haskell-network_}; v=${v%-*}
    (cd "$NS" && dpkg-source --no-check -x "$(basename "$dsc")" "network-$v") >> "$NETLOG" 2>&1
    d=$NS/network-$v
  fi
  (cd "$d" \
   && "$GHC" -v0 --make Setup.hs -o Setup -outputdir dist-setup \
   && ./Setup configure --global --prefix="$PREFIX" --with-compiler="$GHC" --with-hc-pkg="$GHCPKG" \
        --with-hsc2hs="$PREFIX/bin/hsc2hs" --enable-shared --disable-library-profiling \
   && ./Setup build \
   && ./Setup install) >> "$NETLOG" 2>&1 \
    || { tail -n 30 "$NETLOG" >&2; echo "ghc-full: building network failed (see $NETLOG)" >&2; exit 1; }
  echo "ghc-full: [e2e-deps] network $("$GHCPKG" --global --simple-output field network version) registered in $PREFIX"
  exit 0
fi

T0=$(date +%s)
mkdir -p "$BUILD"
[ -s "$LOG" ] && mv -f "$LOG" "$LOG.prev"   # the previous run's log
: > "$LOG"
elapsed() { local s=$(( $(date +%s) - T0 )); printf '%dm%02ds' $((s/60)) $((s%60)); }
phase() { PHASE=$1; shift; echo "ghc-full: [$PHASE] $* (t+$(elapsed))"; echo "=== [$PHASE] $* ($(date -u +%T))" >> "$LOG"; }
die() { echo "ghc-full: error${PHASE:+ in phase $PHASE}: $*" >&2; echo "ghc-full: full log: $LOG" >&2; exit 1; }
run() { # run a command, output to the log; on failure show the tail and stop
  if ! "$@" >> "$LOG" 2>&1; then
    echo "ghc-full: command failed: $*" >&2
    echo "---- last lines of $LOG ----" >&2
    grep -v '^ *$' "$LOG" | tail -n 40 >&2
    die "see $LOG"
  fi
}
echo "ghc-full: full log in $LOG"

# ---- deps ---------------------------------------------------------------------
phase deps "build dependencies (apt-get)"
run "$ROOT/scripts/install-deps.sh" ghc
want=(ghc happy alex autoconf automake g++ libboost-dev libffi-dev libgmp-dev libnuma-dev libncurses-dev
      python3 dpkg-dev patch xz-utils)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  run "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
BOOT_GHC=/usr/bin/ghc
[ -x "$BOOT_GHC" ] && [ "$("$BOOT_GHC" --numeric-version)" = 9.0.2 ] || die "need Debian's GHC 9.0.2 as the bootstrap compiler"
[ -f "$ROOT/ffi/evmgr.h" ] || die "$ROOT/ffi/evmgr.h missing"

# ---- source -------------------------------------------------------------------
extract() { # DIR: dpkg-source -x of Debian's ghc source package into DIR/ghc-9.0.2
  local dir=$1 dsc
  mkdir -p "$dir"
  dsc=$(ls "$dir"/ghc_9.0.2-*.dsc 2>/dev/null | head -n1 || true)
  if [ -z "$dsc" ]; then
    local old; old=$(ls "$BUILD"/ghc-src/ghc_9.0.2-*.dsc 2>/dev/null | head -n1 || true)
    if [ -n "$old" ] && [ -f "$BUILD/ghc-src/ghc_9.0.2.orig.tar.xz" ]; then
      # Reuse the files `apt-get source ghc` already fetched for the fast path.
      for f in "$old" "$BUILD"/ghc-src/ghc_9.0.2.orig.tar.xz* "$BUILD"/ghc-src/ghc_9.0.2-*.debian.tar.xz; do
        ln -f "$f" "$dir/" 2>/dev/null || cp "$f" "$dir/"
      done
    else
      (cd "$dir" && run apt-get source --download-only ghc)
    fi
    dsc=$(ls "$dir"/ghc_9.0.2-*.dsc | head -n1)
  fi
  rm -rf "$dir/ghc-9.0.2.tmp"
  (cd "$dir" && run dpkg-source --no-check -x "$(basename "$dsc")" ghc-9.0.2.tmp)
  mv "$dir/ghc-9.0.2.tmp" "$dir/ghc-9.0.2"
}
if [ ! -f "$PRISTINE/rts/Schedule.c" ]; then
  phase source "unpacking a pristine source tree into $SRCROOT/pristine"
  rm -rf "$PRISTINE"; extract "$SRCROOT/pristine"
fi
if [ ! -f "$TREE/rts/Schedule.c" ]; then
  phase source "unpacking the build tree into $TREE"
  rm -rf "$TREE" "$APPLIED"
  mkdir -p "$SRCROOT"
  # A copy of the pristine tree (same content as a fresh dpkg-source -x).
  cp -a "$PRISTINE" "$TREE.tmp" && mv "$TREE.tmp" "$TREE"
else
  phase source "reusing $TREE"
fi

# ---- patches ------------------------------------------------------------------
phase patches "checking the series against the pristine tree"
PATCHES=("$ROOT"/ghc-patch/[0-9][0-9][0-9][0-9]-*.patch)
[ -f "${PATCHES[0]}" ] || die "no patches in ghc-patch/"
run "$ROOT/ghc-patch/check-patches.sh" "$PRISTINE"
mkdir -p "$APPLIED"
OLD=(); for f in "$APPLIED"/[0-9][0-9][0-9][0-9]-*.patch; do [ -f "$f" ] && OLD+=("$f"); done
# first index at which the applied series and the current one differ
k=0
if [ $FORCE_PATCHES = 0 ]; then
  while [ $k -lt ${#OLD[@]} ] && [ $k -lt ${#PATCHES[@]} ] \
        && [ "$(basename "${OLD[$k]}")" = "$(basename "${PATCHES[$k]}")" ] \
        && cmp -s "${OLD[$k]}" "${PATCHES[$k]}"; do k=$((k+1)); done
fi
if [ $k -eq ${#OLD[@]} ] && [ $k -eq ${#PATCHES[@]} ]; then
  phase patches "series unchanged (${#PATCHES[@]} patches applied)"
else
  phase patches "re-applying from patch $((k+1)): reverse $(( ${#OLD[@]} - k )), apply $(( ${#PATCHES[@]} - k ))"
  files() { sed -n 's|^+++ b/\(.*\)$|\1|p; s|^--- a/\(.*\)$|\1|p' "$@" | sort -u; }
  bak=$SRCROOT/patch-backup; rm -rf "$bak"; mkdir -p "$bak"
  touched=$( { files "${OLD[@]:$k}" /dev/null; files "${PATCHES[@]:$k}" /dev/null; } | sort -u)
  for f in $touched; do
    [ -f "$TREE/$f" ] && { mkdir -p "$bak/$(dirname "$f")"; cp -a "$TREE/$f" "$bak/$f"; }
  done
  for ((i=${#OLD[@]}-1; i>=k; i--)); do
    echo "reverse-applying $(basename "${OLD[$i]}")" >> "$LOG"
    run patch -R -p1 -d "$TREE" -F0 --no-backup-if-mismatch -i "${OLD[$i]}"
    rm -f "${OLD[$i]}"
  done
  for ((i=k; i<${#PATCHES[@]}; i++)); do
    echo "applying $(basename "${PATCHES[$i]}")" >> "$LOG"
    run patch -p1 -d "$TREE" -F0 --no-backup-if-mismatch -i "${PATCHES[$i]}"
    cp "${PATCHES[$i]}" "$APPLIED/"
  done
  # Unchanged content keeps its old mtime (make then leaves it alone).
  kept=0
  for f in $touched; do
    if [ -f "$bak/$f" ] && [ -f "$TREE/$f" ] && cmp -s "$bak/$f" "$TREE/$f"; then
      touch -r "$bak/$f" "$TREE/$f"; kept=$((kept+1))
    fi
  done
  rm -rf "$bak"
  phase patches "series applied ($(echo "$touched" | wc -w) files touched, $kept of them unchanged)"
fi

cd "$TREE"

# ---- boot ---------------------------------------------------------------------
boot_stamp=$(digest_of configure.ac aclocal.m4)
if ! stamp_matches .evmgr-boot "$boot_stamp"; then
  phase boot "./boot (autoreconf, as Debian's rules do)"
  run python3 ./boot
  stamp_write .evmgr-boot "$boot_stamp"
  rm -f .evmgr-configure
else
  phase boot "up to date"
fi

# ---- configure ----------------------------------------------------------------
CONF_ARGS=(--with-system-libffi --prefix="$PREFIX" GHC="$BOOT_GHC")
conf_stamp=$(printf '%s\n' "${CONF_ARGS[@]}" | cat - configure | digest_of)
if [ ! -f config.status ] || [ ! -f mk/config.mk ] || ! stamp_matches .evmgr-configure "$conf_stamp"; then
  phase configure "./configure ${CONF_ARGS[*]}"
  run ./configure "${CONF_ARGS[@]}"
  stamp_write .evmgr-configure "$conf_stamp"
else
  phase configure "up to date"
fi

# ---- build.mk -----------------------------------------------------------------
if [ "$RTS_WAYS" = all ]; then
  ways_mk="# GhcRTSWays: mk/config.mk's default set (GHC_FULL_RTS_WAYS=all)"
else
  # v and dyn come from GhcLibWays (rts/ghc.mk: rts_WAYS)
  ways_mk="GhcRTSWays = $RTS_WAYS"
fi
cat > mk/build.mk.new <<EOF
# Written by evmgr's scripts/ghc-full.sh
BuildFlavour = quick
ifneq "\$(BuildFlavour)" ""
include mk/flavours/\$(BuildFlavour).mk
endif
HADDOCK_DOCS      = NO
BUILD_SPHINX_HTML = NO
BUILD_SPHINX_PDF  = NO
BUILD_MAN         = NO
# As Debian's rules (debian/rules, override_dh_auto_configure)
SRC_HC_OPTS += -lffi -optl-pthread
$ways_mk
# The evmgr checkout whose RTS adapter (rts-adapter/) and event manager
# (rts-manager/, ffi/) rts/ghc.mk compiles into the RTS
EvmgrDir = $ROOT
EOF
if cmp -s mk/build.mk.new mk/build.mk; then
  rm mk/build.mk.new; phase build.mk "unchanged"
else
  mv mk/build.mk.new mk/build.mk; phase build.mk "written (BuildFlavour = quick, EvmgrDir = $ROOT)"
fi

# ---- make ---------------------------------------------------------------------
[ -f .evmgr-installed ] || touch -d @0 .evmgr-installed
phase make "make -j$JOBS (stage 1, RTS + evmgr core, libraries, stage 2; ~50 min from scratch on 2 cores)"
tm0=$(date +%s)
run make -j"$JOBS"
tm=$(( $(date +%s) - tm0 ))
phase make "done in $((tm/60))m$((tm%60))s"

# ---- install ------------------------------------------------------------------
if [ $INSTALL = 1 ]; then
  changed=$(find inplace rts/dist/build libraries/*/dist-install/build ghc/stage2 utils \
              -newer .evmgr-installed -type f \( -name '*.a' -o -name '*.so' -o -name '*.hi' \
              -o -name '*.dyn_hi' -o -perm -u+x -o -name '*.conf' \) -print -quit 2>/dev/null || true)
  if [ -n "$changed" ] || [ ! -x "$PREFIX/bin/ghc" ]; then
    phase install "make install into $PREFIX"
    run make install
    touch .evmgr-installed
  else
    phase install "nothing rebuilt, $PREFIX up to date"
  fi
fi

# ---- smoke --------------------------------------------------------------------
GHC=$PREFIX/bin/ghc
[ -x "$GHC" ] || die "$GHC missing"
phase smoke "building a test program with $GHC"
ST=$BUILD/ghc-full-smoke; rm -rf "$ST"; mkdir -p "$ST"
cat > "$ST/Smoke.hs" <<'EOF'
import Control.Concurrent
main :: IO ()
main = threadDelay 1000 >> putStrLn "ok"
EOF
run "$GHC" -v0 -O0 -rtsopts -outputdir "$ST" -o "$ST/smoke" "$ST/Smoke.hs"
[ "$("$ST/smoke")" = ok ] || die "smoke test failed"
mgr=$("$ST/smoke" +RTS --info | sed -n 's/.*("I\/O manager", "\(.*\)").*/\1/p')
case "$mgr" in *"(evmgr)") ;; *) die "+RTS --info shows I/O manager '$mgr', not evmgr: the evmgr RTS is not linked" ;; esac
[ "$("$ST/smoke" +RTS --io-manager=select -RTS)" = ok ] || die "--io-manager=select failed"
phase smoke "ok (+RTS --info: I/O manager \"$mgr\"; --io-manager=select works)"
echo "ghc-full: done in $(elapsed): the compiler is $GHC (ghc $("$GHC" --numeric-version)); log: $LOG"
}

main "$@"
exit $?
