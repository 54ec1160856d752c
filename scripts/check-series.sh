#!/usr/bin/env bash
# `make check-patches`: the series in ghc-patch/, and the self-contained
# export of it (ghc-patch/export-series.sh), must apply exactly to
#   - Debian's GHC 9.0.2 source (`apt-get source ghc`, Debian's patches
#     applied), as scripts/ghc-build.sh fetched it into build/ghc-src;
#   - the pristine release tarball's layout (ghc_9.0.2.orig.tar.xz, which
#     apt-get source downloads too).
# GHC_VERSION=9.6.6: the same for ghc-patch/9.6.6 and Debian 13's source
# (build/ghc-src-9.6.6, fetched by `make ghc GHC_VERSION=9.6.6`). Needs only
# patch, tar and git: runs on any machine.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
V=${GHC_VERSION:-$(/usr/lib/ghc/bin/ghc --numeric-version 2>/dev/null || echo 9.0.2)}
case "$V" in
  9.0.2) SRCDIR=$BUILD/ghc-src; SERIES=$ROOT/ghc-patch ;;
  *)     SRCDIR=$BUILD/ghc-src-$V; SERIES=$ROOT/ghc-patch/$V ;;
esac
[ -d "$SERIES" ] || { echo "check-series: no series for GHC $V ($SERIES)" >&2; exit 2; }
debian=$(find "$SRCDIR" -maxdepth 1 -name "ghc-$V*" -type d | head -n1)
orig=$(find "$SRCDIR" -maxdepth 1 -name "ghc_$V.orig.tar.*" ! -name '*.asc' | head -n1)
[ -n "$debian" ] && [ -n "$orig" ] || { echo "check-series: no GHC $V source in $SRCDIR (run make ghc GHC_VERSION=$V)" >&2; exit 2; }

scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
# Only the top-level directories the series touches are needed.
dirs=$(sed -n 's|^+++ b/\([^/]*\)/.*|\1|p' "$SERIES"/[0-9]*.patch | sort -u)
tar -xf "$orig" -C "$scratch" $(for d in $dirs; do echo "ghc-$V/$d"; done)
"$ROOT/ghc-patch/export-series.sh" "$scratch/export" "$SERIES" >/dev/null

fail=0
for t in "Debian source:$debian" "release tarball:$scratch/ghc-$V"; do
  for s in "series:$SERIES" "export:$scratch/export"; do
    echo "== GHC $V: ${s%%:*} on the ${t%%:*}"
    "$ROOT/ghc-patch/check-patches.sh" "${t#*:}" "${s#*:}" || fail=1
  done
done
exit $fail
