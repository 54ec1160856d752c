#!/usr/bin/env bash
# hs-setup.sh: prepare an offline cabal for the Haskell binding (hs-binding/).
#
# Writes a project-local cabal config without any `repository` stanza in
# hs-binding/.cabal-offline/config, so cabal resolves every dependency from
# GHC's global package db (boot packages + Debian's libghc-*-dev) and never
# touches the network or the user's own ~/.cabal / ~/.config/cabal. The
# project file (cabal.project) also says `active-repositories: :none`.
#
# Usage:  scripts/hs-setup.sh            # writes the config, checks tools
#         eval "$(scripts/hs-setup.sh --env)"   # and export CABAL_DIR
# Then:   cabal build all && cabal test all
#         cabal install --lib evmgr --package-env=DIR-OR-FILE
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cabal_dir="$root/hs-binding/.cabal-offline"

mkdir -p "$cabal_dir"
cat >"$cabal_dir/config" <<CFG
-- Written by scripts/hs-setup.sh. No repository stanza on purpose: offline,
-- every dependency comes from the global package db.
jobs: 2
build-summary: $cabal_dir/logs/build.log
remote-build-reporting: none
write-ghc-environment-files: never
installdir: $cabal_dir/bin
CFG

if [ "${1:-}" = "--env" ]; then
  echo "export CABAL_DIR='$cabal_dir'"
  exit 0
fi

for tool in ghc cabal; do
  command -v "$tool" >/dev/null || {
    echo "hs-setup: $tool not found; run scripts/install-deps.sh ghc" >&2
    exit 1
  }
done
for pkg in tasty tasty-hunit tasty-quickcheck QuickCheck network; do
  ghc-pkg --global --simple-output field "$pkg" version >/dev/null 2>&1 || {
    echo "hs-setup: Haskell package $pkg missing; run scripts/install-deps.sh ghc" >&2
    exit 1
  }
done

# The package builds the C++ core from the repository through the symbolic
# links hs-binding/cbits/{ffi,rts-manager}; say so if they are broken.
for l in ffi rts-manager; do
  [ -e "$root/hs-binding/cbits/$l" ] || {
    echo "hs-setup: hs-binding/cbits/$l does not resolve" >&2; exit 1; }
done

echo "hs-setup: offline cabal config in $cabal_dir/config" >&2
echo "hs-setup: export CABAL_DIR=$cabal_dir  (or eval \"\$(scripts/hs-setup.sh --env)\")" >&2
