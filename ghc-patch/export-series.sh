#!/usr/bin/env bash
# Writes a self-contained copy of the series, for `git am` (or `patch -p1`)
# onto a GHC 9.0.2 tree, upstream's or Debian's:
#
#   ghc-patch/export-series.sh OUTDIR [SERIES_DIR]
#
# SERIES_DIR (default ghc-patch/) picks another version's series, e.g.
# ghc-patch/9.6.6 for GHC 9.6.6.
#
# The series in ghc-patch/ changes only GHC's own files; rts/ghc.mk then
# finds the RTS adapter through EvmgrDir (it links rts/evmgr to
# $(EvmgrDir)/rts-adapter). The export adds one patch, right after the
# first, that carries the adapter's files as rts/evmgr/, so a reviewer sees
# all the RTS code in the series; rts/ghc.mk uses a real rts/evmgr as it is.
# The event manager itself (rts-manager/, ffi/) still comes from EvmgrDir.
set -euo pipefail

out=${1:?usage: $0 OUTDIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
[ -n "${2:-}" ] && here=$(cd "$2" && pwd)
patches=("$here"/[0-9][0-9][0-9][0-9]-*.patch)
[ -f "${patches[0]}" ] || { echo "export-series: no patches in $here" >&2; exit 2; }
total=$(( ${#patches[@]} + 1 ))

rm -rf "$out"; mkdir -p "$out"
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT

# The adapter as a patch that creates rts/evmgr/*, made by git itself.
git -C "$scratch" init -q
mkdir -p "$scratch/rts/evmgr"
cp "$root"/rts-adapter/*.[ch] "$scratch/rts/evmgr/"
git -C "$scratch" add -A
GIT_AUTHOR_DATE="$(git -C "$root" log -1 --format=%aD -- rts-adapter 2>/dev/null || date -R)" \
git -C "$scratch" -c user.name=evmgr -c user.email=evmgr@localhost commit -q -F - <<'MSG'
rts: add evmgr's RTS adapter as rts/evmgr

The non-threaded RTS's I/O manager hooks (IOHooks.h, IOHooks.c: the
choice made by +RTS --io-manager and one dispatch per hook) and their
evmgr implementation (EvMgrIO.h, EvMgrIO.c: blocked threads as
registrations of the evmgr event manager, with the Notes on GC roots,
forkProcess, async exceptions and signals). In evmgr's repository these
are rts-adapter/*; the build (rts/ghc.mk) uses this directory as it is
and takes only the event manager from EvmgrDir.
MSG
adapter_patch=$(git -C "$scratch" format-patch --root --no-signature --zero-commit -o "$scratch/out" HEAD)

# Renumber: the first patch, the adapter, then the rest.
n=0
emit() { # FILE
  n=$((n + 1))
  local name; name=$(basename "$1" | sed -E 's/^[0-9]{4}-//')
  local dest; dest=$(printf '%s/%04d-%s' "$out" "$n" "$name")
  sed -E "1,/^Subject:/ s|^Subject: \[PATCH( [0-9]+/[0-9]+)?\]|Subject: [PATCH $n/$total]|" "$1" > "$dest"
}
emit "${patches[0]}"
emit "$adapter_patch"
for p in "${patches[@]:1}"; do emit "$p"; done
echo "export-series: $n patches in $out"
