#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The core needs no C++ runtime library (Note [No C++ runtime] in
# rts-manager/include/evmgr/memory.hpp):
#
#   check_core_symbols.sh CXX SRC_ROOT OUT_DIR [SHARED_LIB]
#
#   1. compiles rts-manager/evmgr_core.cpp with the release flags every
#      build uses (those of scripts/ghc-build.sh and rts/ghc.mk) and fails
#      on any undefined symbol that is C++ (mangled, __cxa_*, __gxx_*,
#      _Unwind_*) or that libc, libpthread and libm do not define;
#   2. fails if a build of the core lacks -fno-exceptions -fno-rtti (CMake,
#      the Haskell package, GHC's rts/ghc.mk, scripts/ghc-build.sh);
#   3. given SHARED_LIB (libevmgr.so, a build without sanitizers), fails if
#      it needs a shared library other than libc, libpthread, libm.
set -euo pipefail

cxx=${1:?usage: $0 CXX SRC_ROOT OUT_DIR [SHARED_LIB]}
root=${2:?}
out=${3:?}
shared=${4:-}
mkdir -p "$out"
fail=0

# ---- 1. the object's undefined symbols ---------------------------------------
obj=$out/evmgr_core_release.o
"$cxx" -std=c++17 -O2 -DNDEBUG -fPIC -pthread -fno-exceptions -fno-rtti \
  -fvisibility=hidden -fvisibility-inlines-hidden \
  -I"$root/ffi" -I"$root/rts-manager/include" \
  -c "$root/rts-manager/evmgr_core.cpp" -o "$obj"

# What the C libraries define (glibc >= 2.34 has libpthread inside libc).
provided=$out/c-libraries.syms
: > "$provided"
for lib in libc.so.6 libpthread.so.0 libm.so.6; do
  path=$("$cxx" -print-file-name="$lib")
  [ -f "$path" ] || continue
  nm -D --defined-only "$path" | awk '{print $NF}' | sed 's/@.*//' >> "$provided"
done
sort -u -o "$provided" "$provided"
[ -s "$provided" ] || { echo "check_core_symbols: found no C library to check against" >&2; exit 2; }

undefined=$(nm -u "$obj" | awk '{print $NF}')
for sym in $undefined; do
  case "$sym" in
    _GLOBAL_OFFSET_TABLE_) continue ;;  # made by the linker
    _Z*|__cxa_*|__gxx_*|_Unwind_*)
      echo "C++ runtime symbol: $(echo "$sym" | c++filt)"
      fail=1; continue ;;
  esac
  if ! grep -qxF -- "$sym" "$provided"; then
    echo "not from libc/libpthread/libm: $sym"
    fail=1
  fi
done
echo "evmgr_core.o needs: $(echo $undefined | tr '\n' ' ')"

# ---- 2. every build compiles the core without exceptions and RTTI -----------
for f in CMakeLists.txt hs-binding/evmgr.cabal scripts/ghc-build.sh \
         ghc-patch/0002-rts-build-evmgr-s-RTS-adapter-and-event-manager-into.patch; do
  if ! grep -q -- '-fno-exceptions -fno-rtti' "$root/$f"; then
    echo "$f: the core's flags lack -fno-exceptions -fno-rtti"
    fail=1
  fi
done

# ---- 3. the shared library's needs ---------------------------------------------
if [ -n "$shared" ]; then
  needed=$(readelf -d "$shared" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  for lib in $needed; do
    case "$lib" in
      libc.so.*|libpthread.so.*|libm.so.*|ld-linux*) ;;
      *) echo "$(basename "$shared") needs $lib"; fail=1 ;;
    esac
  done
  echo "$(basename "$shared") needs: $(echo $needed)"
fi

exit $fail
