#!/usr/bin/env bash
# Install every Debian package evmgr needs, idempotently.
#
# Usage: scripts/install-deps.sh [core|ghc|bench|deb|all]
#   core  the C++ core: compilers, CMake, Boost, GoogleTest, Google Benchmark,
#         libev and libevent (benchmark baselines)
#   ghc   adds Debian's GHC (9.0.2 on Debian 12, 9.6.6 on Debian 13), cabal
#         and the Haskell libraries the binding and the examples use, the
#         C++ compiler and headers the RTS fast path needs for the core, plus
#         the deb-src entry `apt-get source ghc` needs
#   bench the load generator, plotting tools and Warp `make bench` uses
#   deb   what `make deb` and its test use (dpkg-dev, lintian)
#   all   core and ghc (default)
#
# Only packages that are missing are installed; `apt-get update` runs only when
# something has to be installed, so a second run costs a few dpkg queries.
set -euo pipefail

what=${1:-all}

core_pkgs=(g++ clang cmake make pkg-config libboost-dev libgtest-dev libgmock-dev
           libbenchmark-dev libev-dev libevent-dev)
ghc_pkgs=(ghc cabal-install strace libghc-tasty-dev libghc-tasty-hunit-dev
          libghc-tasty-quickcheck-dev libghc-quickcheck2-dev libghc-network-dev
          dpkg-dev patch
          g++ libboost-dev bc)   # the RTS fast path compiles the C++ core; e2e uses bc
bench_pkgs=(wrk gnuplot-nox libghc-warp-dev)   # warp: scripts/warp-bench.sh
deb_pkgs=(dpkg-dev lintian)

case "$what" in
  core) pkgs=("${core_pkgs[@]}") ;;
  ghc)  pkgs=("${ghc_pkgs[@]}") ;;
  bench) pkgs=("${bench_pkgs[@]}") ;;
  deb)  pkgs=("${deb_pkgs[@]}") ;;
  all)  pkgs=("${core_pkgs[@]}" "${ghc_pkgs[@]}") ;;
  *) echo "usage: $0 [core|ghc|bench|deb|all]" >&2; exit 2 ;;
esac

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

# `apt-get source ghc` needs a deb-src line; add one beside the machine's
# own sources rather than editing them, for the archive those sources
# already use (never a host written here; scripts/lib-archive.sh).
. "$(dirname "${BASH_SOURCE[0]}")/lib-archive.sh"
src_list=/etc/apt/sources.list.d/evmgr-deb-src.sources
need_update=0
if { [ "$what" = ghc ] || [ "$what" = all ]; } && [ ! -f "$src_list" ]; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  uri=$(archive_of "$codename" | head -n 1)
  if [ -z "$codename" ] || [ -z "$uri" ]; then
    echo "install-deps: no apt source for '$codename' in /etc/apt: cannot add the deb-src entry apt-get source ghc needs" >&2
    exit 1
  fi
  "${sudo_cmd[@]}" tee "$src_list" >/dev/null <<SRC
Types: deb-src
URIs: $uri
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  need_update=1
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ] && [ $need_update -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]:-(package lists only)}" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt (a second checkout's make, unattended-upgrades) may hold the
# locks: wait for it rather than fail.
apt_wait=(-o DPkg::Lock::Timeout=900)
"${sudo_cmd[@]}" apt-get "${apt_wait[@]}" update -qq
if [ ${#missing[@]} -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get "${apt_wait[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
