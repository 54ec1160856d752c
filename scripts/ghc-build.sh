#!/usr/bin/env bash
# Fast path for `make ghc`: a GHC 9.0.2 in build/ghc/ that is Debian's
# compiler and libraries with the non-threaded RTS rebuilt from the patched
# source (ghc-patch/*.patch, the evmgr I/O manager).
#
# Usage: scripts/ghc-build.sh [--force]
#
# Result: build/ghc/bin/{ghc,ghc-pkg,runghc,ghci}, wrappers like Debian's
# /usr/bin ones, pointing at the topdir build/ghc/lib, which is:
#   - symlinks to everything in /usr/lib/ghc (compiler, libraries),
#   - package.conf.d: a COPY of the global package db (never the symlink
#     into /var/lib/ghc), with the rts entry pointing at build/ghc/lib/rts
#     recached; the wrappers re-sync it when Debian's db changes
#     (scripts/pkgdb-sync);
#   - rts/: the threaded RTS libraries are symlinks to Debian's; the
#     non-threaded ones are rebuilt:
#       v, debug, l (static .a): copies of Debian's archives in which the
#         objects of every file the series touches are recompiled from the
#         patched source with that way's flags, plus the RTS adapter
#         (rts-adapter/, seen as rts/evmgr/ in the patched tree, as in a full
#         build) and the event manager's one translation unit
#         (rts-manager/evmgr_core.cpp), compiled here;
#       dyn, debug_dyn, l_dyn (.so): Debian's static objects are not PIC, so
#         the whole RTS is compiled for the way (-fPIC -dynamic) and linked
#         like rts/ghc.mk does, with the event manager. Skip with
#         GHC_RTS_WAYS="v debug l".
#
# Incremental: objects are rebuilt only when their source, the patches or
# the flags change; a re-run with nothing changed takes seconds. Never
# touches /usr/lib/ghc or /var/lib/ghc.
#
# Environment: BUILD (default build/), GHC_RTS_WAYS, JOBS (max 2),
#   EVMGR_RTS_DEBUG_INFO=1 (compile the rebuilt RTS objects with -g).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PREFIX=$BUILD/ghc
TOP=$PREFIX/lib
SRCDIR=$BUILD/ghc-src            # apt-get source ghc (pristine, never edited)
PATCHED=$BUILD/ghc-patched       # the directories the series touches, patched
OBJ=$BUILD/ghc-rts               # per-way objects
SYS=/usr/lib/ghc                 # Debian's GHC: read only
SYSGHC=$SYS/bin/ghc
EVMGR_INC=$ROOT/ffi
ADAPTER=$ROOT/rts-adapter
WAYS=${GHC_RTS_WAYS:-"v debug l dyn debug_dyn l_dyn"}
JOBS=${JOBS:-2}
[ "$JOBS" -gt 2 ] && JOBS=2
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

. "$ROOT/scripts/lib-stamp.sh"
log() { echo "ghc-build: $*" >&2; }
die() { echo "ghc-build: error: $*" >&2; exit 1; }

# ---- 0. dependencies ---------------------------------------------------------
"$ROOT/scripts/install-deps.sh" ghc
[ -x "$SYSGHC" ] || die "$SYSGHC missing (Debian's ghc package)"
[ "$("$SYSGHC" --numeric-version)" = 9.0.2 ] || die "need Debian's GHC 9.0.2"
[ -f "$EVMGR_INC/evmgr.h" ] || die "$EVMGR_INC/evmgr.h missing"

# ---- 1. the source: apt-get source ghc, once ----------------------------------
mkdir -p "$SRCDIR"
SRC=$(find "$SRCDIR" -maxdepth 1 -type d -name 'ghc-9.0.2*' | head -n1)
if [ -z "$SRC" ] || [ ! -f "$SRC/rts/Schedule.c" ]; then
  log "fetching the GHC source (apt-get source ghc)"
  (cd "$SRCDIR" && apt-get source -qq ghc >/dev/null 2>&1) \
    || (cd "$SRCDIR" && apt-get source ghc)
  SRC=$(find "$SRCDIR" -maxdepth 1 -type d -name 'ghc-9.0.2*' | head -n1)
  [ -n "$SRC" ] && [ -f "$SRC/rts/Schedule.c" ] || die "apt-get source ghc gave no ghc-9.0.2 tree"
fi

# ---- 2. the patched tree (only the top-level directories the series touches) --
PATCHES=("$ROOT"/ghc-patch/[0-9][0-9][0-9][0-9]-*.patch)
[ -f "${PATCHES[0]}" ] || die "no patches in ghc-patch/"
pstamp=$(digest_of "${PATCHES[@]}")
TREE=$PATCHED/ghc-9.0.2
if [ $FORCE = 1 ] || ! stamp_matches "$PATCHED/.stamp" "$pstamp"; then
  log "applying ${#PATCHES[@]} patches"
  "$ROOT/ghc-patch/check-patches.sh" "$SRC" >/dev/null
  rm -rf "$PATCHED"
  mkdir -p "$TREE"
  dirs=$(sed -n 's|^+++ b/\([^/]*\)/.*|\1|p' "${PATCHES[@]}" | sort -u)
  for d in $dirs; do cp -a "$SRC/$d" "$TREE/"; done
  for p in "${PATCHES[@]}"; do
    patch -s -p1 -d "$TREE" --no-backup-if-mismatch < "$p" || die "patch $p failed"
  done
  # rts/fs.c is a copy of utils/fs/fs.c made by the GHC build (ghc.mk).
  cp "$SRC/utils/fs/fs.c" "$TREE/rts/fs.c"
  stamp_write "$PATCHED/.stamp" "$pstamp"
fi
# The RTS adapter, seen as rts/evmgr/ as rts/ghc.mk sees it in a full build.
ln -sfn "$ADAPTER" "$TREE/rts/evmgr"

# Files whose objects must be rebuilt in the static ways: every .c/.cmm the
# series touches under rts/, and the adapter's sources.
mapfile -t ADAPTER_SRCS < <(cd "$TREE" && ls rts/evmgr/*.c)
mapfile -t TOUCHED < <( { sed -En 's#^[+]{3} b/(rts/.*[.](c|cmm))$#\1#p' "${PATCHES[@]}"
                          printf '%s\n' "${ADAPTER_SRCS[@]}"; } | sort -u)
# A header change reaches objects we do not rebuild only through inline
# functions or macros; the series changes two: emptyThreadQueues
# (Schedule.h) and doneWithMsgThrowTo (Messages.h). Every source using one
# in code the non-threaded ways compile must be rebuilt. (Messages.c calls
# doneWithMsgThrowTo only under #if defined(THREADED_RTS): never built here.)
nonthreaded_users() { # FUNC -> the rts/ sources using it outside THREADED_RTS-only code
  local f
  for f in $(grep -rlw --include='*.c' --include='*.cmm' "$1" "$TREE/rts"); do
    awk -v fn="$1" '
      /^[ \t]*#[ \t]*if/ { d++; thr[d] = ($0 ~ /^[ \t]*#[ \t]*if[ \t]+defined\(THREADED_RTS\)[ \t]*$/); next }
      /^[ \t]*#[ \t]*(else|elif)/ { thr[d] = 0; next }
      /^[ \t]*#[ \t]*endif/ { d--; next }
      $0 ~ ("(^|[^A-Za-z0-9_])" fn "([^A-Za-z0-9_]|$)") {
        for (i = 1; i <= d; i++) if (thr[i]) next
        found = 1; exit
      }
      END { exit !found }' "$f" && echo "${f#"$TREE"/}"
  done
  return 0
}
for fn in emptyThreadQueues doneWithMsgThrowTo; do
  for f in $(nonthreaded_users "$fn"); do
    printf '%s\n' "${TOUCHED[@]}" | grep -qx "$f" || die "$f uses $fn (changed in a header by the series) but is not rebuilt"
  done
done

# ---- 3. the prefix -----------------------------------------------------------
mkdir -p "$PREFIX/bin" "$TOP/rts"
for e in "$SYS"/*; do
  n=$(basename "$e")
  case "$n" in package.conf.d|rts) continue ;; esac
  [ -L "$TOP/$n" ] || ln -sfn "$e" "$TOP/$n"
done
# rts/: symlink everything; the rebuilt libraries replace their symlinks below.
for e in "$SYS"/rts/*; do
  n=$(basename "$e")
  [ -e "$TOP/rts/$n" ] || [ -L "$TOP/rts/$n" ] || ln -s "$e" "$TOP/rts/$n"
done

# package.conf.d: a private copy of Debian's global db with the rts entry
# pointed at our RTS (scripts/pkgdb-sync). The wrappers re-sync it whenever
# Debian's db changed, so a libghc-*-dev package installed at any time is
# seen at once, as by Debian's ghc: the check costs one stat(1).
PKGDB=$TOP/package.conf.d
install -m 755 "$ROOT/scripts/pkgdb-sync" "$TOP/evmgr-pkgdb-sync"
rm -f "$PKGDB.copies/synced"   # the RTS directory may have moved: always redo
"$TOP/evmgr-pkgdb-sync" "$SYS" "$TOP" "$TOP/rts" >/dev/null
SYSDB=$(readlink -f "$SYS/package.conf.d")

# Wrappers, like Debian's /usr/bin ones.
sync_check() { cat <<EOF
# Debian's package db changed since the last sync? (scripts/pkgdb-sync)
state=\$(stat -c %y "$SYSDB" 2>/dev/null)
{ read -r synced < "$PKGDB.copies/synced"; } 2>/dev/null || synced=
[ "\$state" = "\$synced" ] || "$TOP/evmgr-pkgdb-sync" "$SYS" "$TOP" "$TOP/rts" >&2 || exit 1
EOF
}
cat > "$PREFIX/bin/ghc" <<EOF
#!/bin/sh
# GHC 9.0.2 with the evmgr non-threaded RTS (evmgr's scripts/ghc-build.sh)
$(sync_check)
exec "$SYSGHC" -B"$TOP" \${1+"\$@"}
EOF
cat > "$PREFIX/bin/ghc-pkg" <<EOF
#!/bin/sh
$(sync_check)
exec "$SYS/bin/ghc-pkg" --global-package-db "$PKGDB" \${1+"\$@"}
EOF
cat > "$PREFIX/bin/runghc" <<EOF
#!/bin/sh
exec "$SYS/bin/runghc" -f "$PREFIX/bin/ghc" \${1+"\$@"}
EOF
cat > "$PREFIX/bin/ghci" <<EOF
#!/bin/sh
exec "$PREFIX/bin/ghc" --interactive \${1+"\$@"}
EOF
chmod +x "$PREFIX/bin/ghc" "$PREFIX/bin/ghc-pkg" "$PREFIX/bin/runghc" "$PREFIX/bin/ghci"
for n in ghc ghc-pkg runghc ghci; do ln -sfn "$n" "$PREFIX/bin/$n-9.0.2"; done

# ---- 4. compiling RTS sources -------------------------------------------------
# Flags of rts/ghc.mk + mk/ways.mk + mk/config.mk (GhcRtsHcOpts=-O2,
# GhcRtsCcOpts=-O2 -fomit-frame-pointer -g) + mk/warnings.mk, per way.
# Debian ships its RTS archives stripped of debug information (dh_strip), so
# -g is left out unless EVMGR_RTS_DEBUG_INFO=1 asks for it: with it, every
# program linked statically against the RTS carried the rebuilt objects'
# debug information and grew by a quarter.
# RtsUtils.c gets the platform strings Debian's RTS was built with.
info_of() { "$SYSGHC" +RTS --info -RTS | sed -n "s/^ *[[,](\"$1\", \"\(.*\)\")$/\1/p"; }
RTSUTILS_DEFS=(
  -optc-DProjectVersion=\""$(info_of 'GHC version')"\"
  -optc-DHostPlatform=\""$(info_of 'Host platform')"\"
  -optc-DHostArch=\""$(info_of 'Host architecture')"\"
  -optc-DHostOS=\""$(info_of 'Host OS')"\"
  -optc-DHostVendor=\""$(info_of 'Host vendor')"\"
  -optc-DBuildPlatform=\""$(info_of 'Build platform')"\"
  -optc-DBuildArch=\""$(info_of 'Build architecture')"\"
  -optc-DBuildOS=\""$(info_of 'Build OS')"\"
  -optc-DBuildVendor=\""$(info_of 'Build vendor')"\"
  -optc-DTargetPlatform=\""$(info_of 'Target platform')"\"
  -optc-DTargetArch=\""$(info_of 'Target architecture')"\"
  -optc-DTargetOS=\""$(info_of 'Target OS')"\"
  -optc-DTargetVendor=\""$(info_of 'Target vendor')"\"
  -optc-DGhcUnregisterised=\""$(info_of 'Compiler unregisterised')"\"
  -optc-DTablesNextToCode=\""$(info_of 'Tables next to code')"\"
)

way_flags() { # $1 = way -> WAYF (WAY_<way>_HC_OPTS), CCOPT, HCOPT, COMMON, CFLAGS
  local w=$1 base dyn
  case "$w" in
    v|debug|l) base=$w; dyn=0 ;;
    dyn) base=v; dyn=1 ;;
    debug_dyn|l_dyn) base=${w%_dyn}; dyn=1 ;;
    *) die "unknown way $w" ;;
  esac
  WAYF=()
  case "$base" in
    v) ;;
    l) WAYF+=(-eventlog) ;;
    debug) WAYF+=(-optc-DDEBUG -ticky -DTICKY_TICKY -eventlog) ;;
    *) die "unknown way $w" ;;
  esac
  if [ $dyn = 1 ]; then WAYF=(-fPIC -dynamic -optc-DDYNAMIC "${WAYF[@]}"); else WAYF=(-static "${WAYF[@]}"); fi
  if [ "$base" = debug ]; then
    CCOPT=(-optc-O2 -optc-fomit-frame-pointer -optc-fno-omit-frame-pointer -optc-O0)
    if [ "${EVMGR_RTS_DEBUG_INFO:-0}" = 1 ]; then CCOPT+=(-optc-g3); fi
    HCOPT=(-O2 -O0)
  else
    CCOPT=(-optc-O2 -optc-fomit-frame-pointer)
    if [ "${EVMGR_RTS_DEBUG_INFO:-0}" = 1 ]; then CCOPT+=(-optc-g); fi
    HCOPT=(-O2)
  fi
  COMMON=(-I"$TREE/rts" -I"$TREE/rts/dist/build" -I"$SRC/utils/fs" -I"$SYS/include" -I"$EVMGR_INC"
          -DCOMPILING_RTS -DFS_NAMESPACE=rts -this-unit-id rts -fno-warn-deprecated-flags)
  CFLAGS=(-optc-Wall -optc-fno-strict-aliasing -optc-fno-common
          -optc-DCOMPILING_RTS -optc-DFS_NAMESPACE=rts "-optc-DRtsWay=\"rts_$w\"")
}

# make_cmd SRC OUT -> CMD: the command compiling SRC (relative to the tree)
# for the way last set up by way_flags.
make_cmd() {
  local src=$1 out=$2 extra=()
  case "$src" in
    rts/RtsUtils.c) extra=("${RTSUTILS_DEFS[@]}") ;;
    rts/RtsMessages.c|rts/Trace.c) extra=("${RTSUTILS_DEFS[0]}") ;;
    rts/Hash.c) extra=(-optc-O3) ;;
    rts/sm/Compact.c) extra=(-optc-Wno-inline -optc-finline-limit=2500) ;;
    rts/sm/Evac.c) extra=(-optc-funroll-loops) ;;
    rts/StgCRun.c) extra=(-optc-w) ;;
  esac
  case "$src" in
    *.c)   CMD=("$SYSGHC" -B"$SYS" -c "$TREE/$src" -o "$out" "${WAYF[@]}" "${COMMON[@]}" "${CCOPT[@]}" "${CFLAGS[@]}" "${extra[@]}") ;;
    *.cmm) CMD=("$SYSGHC" -B"$SYS" -c "$TREE/$src" -o "$out" "${WAYF[@]}" "${COMMON[@]}" "${HCOPT[@]}" -dcmm-lint) ;;
    *.S)   CMD=("$SYSGHC" -B"$SYS" -c "$TREE/$src" -o "$out" "${WAYF[@]}" "${COMMON[@]}") ;;
    *) die "cannot compile $src" ;;
  esac
}

# run_jobs WAY < "src out" lines: compiles, JOBS at a time, the objects
# older than their source, or all of them when the way's flags changed (the
# patched tree is made with cp -a, so untouched sources keep their dates).
# Forks are costly on a loaded machine: the up-to-date check uses builtins.
run_jobs() {
  local w=$1 n=0 src out flags force=0 d=$OBJ/$1
  way_flags "$w"
  flags=$(printf '%s\n' "${WAYF[@]}" "${COMMON[@]}" "${CCOPT[@]}" "${HCOPT[@]}" "${CFLAGS[@]}" \
            "${RTSUTILS_DEFS[@]}" "$SYSGHC" "$(digest_of "$ROOT/scripts/ghc-build.sh")" | digest_of)
  mkdir -p "$d"
  stamp_matches "$d/.flags" "$flags" || force=1
  while read -r src out; do
    if [ $force = 0 ] && [ "$out" -nt "$TREE/$src" ]; then continue; fi
    make_cmd "$src" "$out"
    [ -d "${out%/*}" ] || mkdir -p "${out%/*}"
    ( if "${CMD[@]}" > "$out.log" 2>&1; then :
      else rm -f "$out"; cat "$out.log" >&2; echo "ghc-build: error: compiling $src ($w) failed" >&2; exit 1; fi ) &
    n=$((n+1))
    if [ $n -ge "$JOBS" ]; then wait -n || die "a compile job failed"; n=$((n-1)); fi
  done
  while [ $n -gt 0 ]; do wait -n || die "a compile job failed"; n=$((n-1)); done
  stamp_write "$d/.flags" "$flags"
}

# The event manager: its one translation unit, compiled once (-fPIC fits
# both the static and the shared RTS), with the flags of rts/ghc.mk's
# rts_EVMGR_CXX_OPTS. -MMD lists every source and header it includes, so
# the stamp covers them all.
CORE=$OBJ/core
CORE_OBJS=("$CORE/evmgr_core.o")
CORE_CXX=(g++ -std=c++17 -O2 -DNDEBUG -fPIC -pthread
          -fno-exceptions -fno-rtti -fvisibility=hidden -fvisibility-inlines-hidden
          -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror
          -I"$ROOT/ffi" -I"$ROOT/rts-manager/include")
core_inputs() { # the flags, then every file the last compile read
  printf '%s\n' "${CORE_CXX[@]}"
  [ -f "$CORE/evmgr_core.d" ] || return 0
  sed -e 's/\\$//' -e 's/^[^:]*://' "$CORE/evmgr_core.d" | tr ' ' '\n' | sed '/^$/d' | sort -u | xargs cat
}
mkdir -p "$CORE"
if [ ! -f "${CORE_OBJS[0]}" ] || ! stamp_matches "$CORE/.stamp" "$(core_inputs | digest_of)"; then
  log "compiling the event manager (rts-manager/evmgr_core.cpp)"
  "${CORE_CXX[@]}" -MMD -MF "$CORE/evmgr_core.d" -c "$ROOT/rts-manager/evmgr_core.cpp" \
      -o "${CORE_OBJS[0]}" || die "compiling the event manager failed"
  stamp_write "$CORE/.stamp" "$(core_inputs | digest_of)"
fi

libname() { # way -> file name of Debian's RTS library for it
  case "$1" in
    v) echo libHSrts.a ;; debug) echo libHSrts_debug.a ;; l) echo libHSrts_l.a ;;
    dyn) echo libHSrts-ghc9.0.2.so ;; debug_dyn) echo libHSrts_debug-ghc9.0.2.so ;;
    l_dyn) echo libHSrts_l-ghc9.0.2.so ;;
  esac
}

# Static way: Debian's archive with the touched objects replaced.
build_static() {
  local w=$1 lib d
  lib=$(libname "$w"); d=$OBJ/$w
  # Archive members are named <basename>.<way's object suffix>: Schedule.o,
  # Schedule.debug_o, Schedule.l_o (mk/ways.mk: <way>_osuf).
  local osuf=o; [ "$w" != v ] && osuf=${w}_o
  mkdir -p "$d"
  for s in "${TOUCHED[@]}"; do echo "$s $d/$(basename "${s%.*}").$osuf"; done | run_jobs "$w"
  local objs=()
  for s in "${TOUCHED[@]}"; do objs+=("$d/$(basename "${s%.*}").$osuf"); done
  local stamp
  stamp=$(digest_of "${objs[@]}" "${CORE_OBJS[@]}" "$SYS/rts/$lib")
  if [ ! -L "$TOP/rts/$lib" ] && stamp_matches "$d/.lib-stamp" "$stamp"; then
    log "$lib up to date"; return 0
  fi
  # Each replaced member must exist exactly once (the archive names members
  # by basename); new members (the adapter's, the event manager's) must not
  # exist yet.
  local members new c o
  members=$(ar t "$SYS/rts/$lib")
  new=$(for s in "${ADAPTER_SRCS[@]}" "${CORE_OBJS[@]}"; do b=${s##*/}; echo "${b%.*}"; done)
  for o in "${objs[@]}" "${CORE_OBJS[@]}"; do
    c=$(grep -cx "$(basename "$o")" <<<"$members" || true)
    if grep -qx "$(basename "${o%.*}")" <<<"$new"; then
      [ "$c" = 0 ] || die "$lib already has $(basename "$o")"
    else
      [ "$c" = 1 ] || die "$lib has $c members named $(basename "$o")"
    fi
  done
  cp "$SYS/rts/$lib" "$d/$lib.tmp"
  chmod u+w "$d/$lib.tmp"
  ar r "$d/$lib.tmp" "${objs[@]}" "${CORE_OBJS[@]}"
  ranlib "$d/$lib.tmp"
  rm -f "$TOP/rts/$lib"
  mv "$d/$lib.tmp" "$TOP/rts/$lib"
  stamp_write "$d/.lib-stamp" "$stamp"
  log "$lib rebuilt (${#objs[@]} objects from the patched source and the adapter, + the event manager)"
}

# Dynamic way: the whole RTS, compiled -fPIC -dynamic, linked as rts/ghc.mk.
rts_sources() { # the sources of Debian's RTS (rts/ghc.mk's rts_C_SRCS etc., Linux amd64)
  (cd "$TREE" && {
    ls rts/*.c rts/hooks/*.c rts/sm/*.c rts/eventlog/*.c rts/linker/*.c rts/linker/macho/*.c rts/posix/*.c \
       rts/evmgr/*.c 2>/dev/null \
      | grep -v '^rts/xxhash.c$'
    echo rts/adjustor/NativeAmd64.c
    ls rts/*.cmm
    echo rts/dist/build/AutoApply.cmm
    echo rts/StgCRunAsm.S     # (empty on amd64, but part of the archive)
    # rts/AdjustorAsm.S is for PowerPC only.
  })
}

genapply() { # rts/dist/build/AutoApply.cmm, from utils/genapply (as rts/ghc.mk)
  local out=$TREE/rts/dist/build/AutoApply.cmm
  [ -f "$out" ] && return 0
  # genapply #includes ../../includes/{ghcconfig.h,...}: give it a tree in
  # which includes/ is the installed (generated) header directory.
  local gd=$OBJ/genapply
  rm -rf "$gd"; mkdir -p "$gd/utils/genapply" "$gd/out" "$(dirname "$out")"
  cp "$SRC/utils/genapply/Main.hs" "$gd/utils/genapply/"
  ln -s "$SYS/include" "$gd/includes"
  "$SYSGHC" -B"$SYS" -O0 -package pretty -package containers -outputdir "$gd/out" \
      -o "$gd/genapply" "$gd/utils/genapply/Main.hs" > "$gd/log" 2>&1 \
    || { cat "$gd/log" >&2; die "building genapply failed"; }
  "$gd/genapply" > "$out.tmp" && mv "$out.tmp" "$out"
}

build_dyn() {
  local w=$1 lib d
  lib=$(libname "$w"); d=$OBJ/$w
  mkdir -p "$d"
  genapply
  # The source list must match Debian's static archive member for member.
  local srcs; mapfile -t srcs < <(rts_sources)
  local want have
  want=$(for s in "${srcs[@]}"; do
           case "$s" in rts/evmgr/*) continue ;; esac  # the adapter: new
           b=${s##*/}; echo "${b%.*}.o"; done | sort)
  have=$(ar t "$SYS/rts/libHSrts.a" | sort)
  [ "$want" = "$have" ] || { diff <(echo "$want") <(echo "$have") >&2 || true; die "RTS source list does not match Debian's libHSrts.a"; }
  for s in "${srcs[@]}"; do echo "$s $d/${s%.*}.o"; done | run_jobs "$w"
  local objs=(); for s in "${srcs[@]}"; do objs+=("$d/${s%.*}.o"); done
  local stamp
  stamp=$(digest_of "${objs[@]}" "${CORE_OBJS[@]}")
  if [ ! -L "$TOP/rts/$lib" ] && stamp_matches "$d/.lib-stamp" "$stamp"; then
    log "$lib up to date"; return 0
  fi
  # rts/ghc.mk: ghc -this-unit-id rts -shared -dynamic -dynload deploy
  #   -no-auto-link-packages `cat rts/dist/libs.depend` objs -o lib
  # (libs.depend = the rts package's extra-libraries, -lffi with a system
  # libffi), plus the evmgr core, which needs no C++ runtime library.
  "$SYSGHC" -B"$SYS" -this-unit-id rts -shared -dynamic -dynload deploy -no-auto-link-packages \
      -lm -lrt -ldl -lffi "${objs[@]}" "${CORE_OBJS[@]}" \
      -optl-Wl,-soname,"$lib" -o "$d/$lib.tmp" > "$d/link.log" 2>&1 \
    || { cat "$d/link.log" >&2; die "linking $lib failed"; }
  rm -f "$TOP/rts/$lib"
  mv "$d/$lib.tmp" "$TOP/rts/$lib"
  stamp_write "$d/.lib-stamp" "$stamp"
  log "$lib rebuilt (${#objs[@]} objects, -fPIC -dynamic, + the event manager)"
}

for w in $WAYS; do
  case "$w" in
    v|debug|l) build_static "$w" ;;
    dyn|debug_dyn|l_dyn) build_dyn "$w" ;;
    *) die "unknown way $w (known: v debug l dyn debug_dyn l_dyn)" ;;
  esac
done

# ---- 5. smoke test ------------------------------------------------------------
ST=$OBJ/smoke
mkdir -p "$ST"
cat > "$ST/Smoke.hs" <<'EOF'
import Control.Concurrent
main :: IO ()
main = threadDelay 1000 >> putStrLn "ok"
EOF
"$PREFIX/bin/ghc" -v0 -O0 -outputdir "$ST" -o "$ST/smoke" "$ST/Smoke.hs"
[ "$("$ST/smoke")" = ok ] || die "smoke test failed"
mgr=$("$ST/smoke" +RTS --info | sed -n 's/.*("I\/O manager", "\(.*\)").*/\1/p')
case "$mgr" in *"(evmgr)") ;; *) die "smoke test: +RTS --info shows I/O manager '$mgr', not evmgr (is the patched RTS linked?)" ;; esac
log "done: $PREFIX/bin/ghc (non-threaded I/O manager: $mgr)"
