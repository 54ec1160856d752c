#!/usr/bin/env bash
# `make check-patches`: the series in ghc-patch/, and the self-contained
# export of it (ghc-patch/export-series.sh), must apply exactly to
#   - Debian's GHC 9.0.2 source (`apt-get source ghc`, Debian's patches
#     applied), as scripts/ghc-build.sh fetched it into build/ghc-src;
#   - the pristine release tarball's layout (ghc_9.0.2.orig.tar.xz, which
#     apt-get source downloads too).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SRCDIR=$BUILD/ghc-src
debian=$(find "$SRCDIR" -maxdepth 1 -name 'ghc-9.0.2*' | head -n1)
orig=$(find "$SRCDIR" -maxdepth 1 -name 'ghc_9.0.2.orig.tar.*' ! -name '*.asc' | head -n1)
[ -n "$debian" ] && [ -n "$orig" ] || { echo "check-series: no GHC source in $SRCDIR (run make ghc)" >&2; exit 2; }

scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
# Only the top-level directories the series touches are needed.
dirs=$(sed -n 's|^+++ b/\([^/]*\)/.*|\1|p' "$ROOT"/ghc-patch/[0-9]*.patch | sort -u)
tar -xf "$orig" -C "$scratch" $(for d in $dirs; do echo "ghc-9.0.2/$d"; done)
"$ROOT/ghc-patch/export-series.sh" "$scratch/export" >/dev/null

fail=0
for t in "Debian source:$debian" "release tarball:$scratch/ghc-9.0.2"; do
  for s in "series:$ROOT/ghc-patch" "export:$scratch/export"; do
    echo "== ${s%%:*} on the ${t%%:*}"
    "$ROOT/ghc-patch/check-patches.sh" "${t#*:}" "${s#*:}" || fail=1
  done
done
exit $fail
