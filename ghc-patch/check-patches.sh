#!/usr/bin/env bash
# Verifies that a patch series (default: ghc-patch/ itself; or a directory
# written by export-series.sh) applies cleanly, in order, to a GHC 9.0.2
# source tree (Debian's `apt-get source ghc`, or the release tarball),
# without touching that tree: each patch is applied for real to a scratch copy of
# the directories the series touches, after a dry run (`patch -p1
# --dry-run`) of it against that copy. Fuzz or offsets count as failures.
#
# Usage: ghc-patch/check-patches.sh /path/to/ghc-9.0.2 [SERIES_DIR]
# Exit status 0 when every patch applies exactly; prints one line per patch.
set -euo pipefail

tree=${1:?usage: $0 /path/to/ghc-9.0.2 [SERIES_DIR]}
here=$(cd "${2:-$(dirname "${BASH_SOURCE[0]}")}" && pwd)
[ -f "$tree/rts/Schedule.c" ] || { echo "check-patches: $tree is not a GHC source tree" >&2; exit 2; }
patches=("$here"/[0-9][0-9][0-9][0-9]-*.patch)
[ -f "${patches[0]}" ] || { echo "check-patches: no patches in $here" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for d in $(sed -n 's|^+++ b/\([^/]*\)/.*|\1|p' "${patches[@]}" | sort -u); do
  [ -e "$tree/$d" ] && cp -a "$tree/$d" "$scratch/"
done

fail=0
for p in "${patches[@]}"; do
  name=$(basename "$p")
  if out=$(patch -p1 -d "$scratch" --dry-run -F0 --no-backup-if-mismatch < "$p" 2>&1) \
     && ! grep -qiE 'offset|fuzz|hunk .* (succeeded|failed)' <<<"$out" \
     && patch -s -p1 -d "$scratch" -F0 --no-backup-if-mismatch < "$p" >/dev/null 2>&1; then
    echo "ok      $name"
  else
    echo "FAILED  $name"; sed 's/^/        /' <<<"$out"; fail=1
    break   # later patches depend on this one
  fi
done
exit $fail
