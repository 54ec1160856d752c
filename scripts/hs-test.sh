#!/usr/bin/env bash
# hs-test.sh: build and test the Haskell binding (hs-binding/), offline.
#
#   scripts/hs-test.sh            setup, `cabal build all`, `cabal test all`
#                                 (test-threaded and test-nonthreaded),
#                                 and `cabal check`; then, if the patched
#                                 GHC of this version is built
#                                 ($BUILD/ghc/bin/ghc for 9.0.2,
#                                 $BUILD/ghc-VERSION/bin/ghc otherwise, as
#                                 `make ghc` names them), test-nonthreaded
#                                 again with it (its non-threaded RTS waits
#                                 through evmgr)
#
# Non-interactive; exits non-zero on the first failure. `make test` calls it.
# With a GHC other than 9.0.2 (GHC_VERSION, set by scripts/with-ghc.sh, or
# the ghc on PATH), cabal builds into dist-newstyle-$GHC_VERSION, so the two
# compilers' builds in one checkout never invalidate each other.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

flags=()
builddir=dist-newstyle
GHC_VERSION=${GHC_VERSION:-$(ghc --numeric-version 2>/dev/null || true)}
if [ -n "${GHC_VERSION:-}" ] && [ "$GHC_VERSION" != 9.0.2 ]; then
  builddir=dist-newstyle-$GHC_VERSION
  flags+=(--builddir="$builddir")
fi

scripts/hs-setup.sh
eval "$(scripts/hs-setup.sh --env)"
export CABAL_DIR

(cd hs-binding && cabal check)

# cabal recompiles a cxx-source only when the .cpp is newer than its object:
# it tracks neither headers nor options. When any input of the C++ part
# changed since the last run, drop the package's build directory so nothing
# stale gets linked.
stamp=$builddir/evmgr-core-inputs.sha256
sum=$( { find ffi rts-manager hs-binding/cbits/ -follow -type f \
           \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' \) -print0 |
         sort -z | xargs -0 sha256sum
         sha256sum hs-binding/evmgr.cabal
         echo "flags: ${flags[*]:-}"; } | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  echo "hs-test: C++ inputs changed: rebuilding the evmgr package from scratch" >&2
  rm -rf "$builddir"/build/*/ghc-*/evmgr-* "$builddir"/cache
fi

cabal build all -j2 "${flags[@]}"
mkdir -p "$builddir" && echo "$sum" >"$stamp"
# --keep-going: a failure in one RTS flavour still runs the other.
cabal test all -j1 --keep-going "${flags[@]}" --test-show-details=direct

# The patched GHC's non-threaded RTS: the same non-threaded suite, built in
# its own build directory (another compiler, so nothing is shared with the
# stock build above). Skipped, with a note, when it has not been built.
BUILD=${BUILD:-$root/build}
case "$BUILD" in /*) ;; *) BUILD=$root/$BUILD ;; esac
# The patched GHC of the same version as the stock one above: its libraries
# are the ones the setup just registered.
patched=$BUILD/ghc${builddir#dist-newstyle}/bin/ghc
if [ -x "$patched" ]; then
  echo "hs-test: test-nonthreaded with the patched GHC ($patched)" >&2
  pdir=$builddir/patched-ghc
  if [ ! -f "$pdir/$(basename "$stamp")" ] || [ "$(cat "$pdir/$(basename "$stamp")")" != "$sum" ]; then
    rm -rf "$pdir"/build/*/ghc-*/evmgr-* "$pdir"/cache
  fi
  # Its RTS contains the core already: link that one, not a second copy.
  popts=(-w "$patched" --builddir="$pdir" --flags=-bundled-core)
  cabal build test-nonthreaded -j2 "${popts[@]}"
  mkdir -p "$pdir" && echo "$sum" >"$pdir/$(basename "$stamp")"
  cabal test test-nonthreaded -j1 "${popts[@]}" --test-show-details=direct
else
  echo "hs-test: $patched not built (make ghc): skipping the patched GHC run" >&2
fi
echo "hs-test: OK" >&2
