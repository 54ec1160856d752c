#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Runs a command where Debian's GHC VERSION is the machine's GHC: here, when
# this machine's Debian release ships that GHC, or else in a root of the
# Debian release that does (scripts/debian-root.sh: made once, reused).
#
# Usage: scripts/with-ghc.sh VERSION CMD...
#        scripts/with-ghc.sh --suite VERSION     the Debian release shipping it
#        scripts/with-ghc.sh --native VERSION    true if that is this machine's
#
#   GHC 9.0.2   Debian 12 (bookworm)
#   GHC 9.6.6   Debian 13 (trixie)
#
# CMD is run from the checkout, with GHC_VERSION=VERSION in its environment;
# in a root the checkout has the same path as here. An empty VERSION means
# the machine's own GHC.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

suite_of() {
  case "$1" in
    9.0.2) echo bookworm ;;
    9.6.6) echo trixie ;;
    *) echo "with-ghc: GHC $1 is not supported (9.0.2: Debian 12, 9.6.6: Debian 13)" >&2; return 1 ;;
  esac
}
own_suite() { (. /etc/os-release && echo "${VERSION_CODENAME:-}"); }

case "${1:-}" in
  --suite) suite_of "${2:?usage: $0 --suite VERSION}"; exit ;;
  --native) [ -z "${2:-}" ] || [ "$(suite_of "$2")" = "$(own_suite)" ]; exit ;;
esac

V=${1?usage: $0 VERSION CMD...}
shift
[ $# -gt 0 ] || { echo "usage: $0 VERSION CMD..." >&2; exit 2; }
cd "$ROOT"
if [ -z "$V" ]; then exec "$@"; fi
suite=$(suite_of "$V")
if [ "$suite" = "$(own_suite)" ]; then
  GHC_VERSION=$V exec "$@"
fi
GHC_VERSION=$V exec "$ROOT/scripts/debian-root.sh" "$suite" run "$@"
