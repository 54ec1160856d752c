#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The ghc-evmgr Debian package, end to end (part of `make test`; needs root):
#   1. lintian: no tag but bogus-mail-host (the default maintainer address;
#      set DEBEMAIL for a real one);
#   2. apt-get install ./ghc-evmgr_*.deb;
#   3. the e2e suite's way-v slice with GHC=/usr/bin/ghc-evmgr, and a
#      `cabal build -w ghc-evmgr` of a small package whose program must run
#      on the evmgr RTS;
#   4. apt-get remove ghc-evmgr: nothing of it is left, Debian's ghc works.
# Ends with "N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT=$BUILD/deb-test
passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
export DEBIAN_FRONTEND=noninteractive

deb=$(ls "$BUILD"/deb/ghc-evmgr_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "deb-test: no package in $BUILD/deb (make deb)" >&2; exit 2; }
rm -rf "$OUT"; mkdir -p "$OUT"

tags=$(lintian --tag-display-limit 0 "$deb" 2>/dev/null | grep -E '^[EW]:' | grep -v 'bogus-mail-host' || true)
if [ -z "$tags" ]; then ok "lintian (only bogus-mail-host, explained)"; else fail "lintian: $tags"; fi

if apt-get install -y -qq "$deb" > "$OUT/install.log" 2>&1; then ok "apt-get install ./$(basename "$deb")"
else fail "apt-get install: $(tail -n 3 "$OUT/install.log" | tr '\n' ' ')"; fi

if command -v ghc-evmgr >/dev/null; then
  GHC=/usr/bin/ghc-evmgr E2E_WAYS=v E2E_OUT=$OUT/e2e "$ROOT/tests/e2e/run.sh" -k /v/ > "$OUT/e2e.log" 2>&1
  line=$(tail -n 1 "$OUT/e2e.log")
  if [[ "$line" =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]; then ok "e2e way v with ghc-evmgr: $line"
  else fail "e2e way v with ghc-evmgr: $line ($(grep '^FAIL' "$OUT/e2e.log" | head -n 3 | tr '\n' ' '))"; fi

  cp -r "$ROOT/tests/deb/cabal-smoke" "$OUT/"
  eval "$("$ROOT/scripts/hs-setup.sh" --env 2>/dev/null)"; export CABAL_DIR
  if (cd "$OUT/cabal-smoke" && cabal build -w ghc-evmgr) > "$OUT/cabal.log" 2>&1; then
    bin=$(cd "$OUT/cabal-smoke" && cabal list-bin -w ghc-evmgr cabal-smoke)
    mgr=$("$bin" +RTS --info | sed -n 's/.*("I\/O manager", "\(.*\)").*/\1/p')
    if [ "$("$bin")" = "cabal-smoke ok" ] && [[ "$mgr" == *"(evmgr)" ]]; then ok "cabal build -w ghc-evmgr (runs on $mgr)"
    else fail "cabal build -w ghc-evmgr: the program printed '$("$bin" 2>&1)', I/O manager '$mgr'"; fi
  else fail "cabal build -w ghc-evmgr: $(tail -n 3 "$OUT/cabal.log" | tr '\n' ' ')"; fi
fi

apt-get remove -y -qq ghc-evmgr > "$OUT/remove.log" 2>&1 || true
left=$(ls -d /usr/lib/ghc-evmgr /var/lib/ghc-evmgr /usr/bin/ghc-evmgr /usr/bin/ghc-pkg-evmgr 2>/dev/null || true)
if [ -z "$left" ] && ! dpkg-query -W -f='${Status}' ghc-evmgr 2>/dev/null | grep -q 'installed$'; then
  ok "apt-get remove ghc-evmgr leaves nothing behind"
else fail "after apt-get remove: left $left"; fi
if /usr/bin/ghc-pkg check > "$OUT/ghc-pkg-check.log" 2>&1 && [ "$(/usr/bin/ghc --numeric-version)" = "$(/usr/lib/ghc/bin/ghc --numeric-version)" ]; then
  ok "Debian's ghc untouched (ghc-pkg check)"
else fail "Debian's ghc: $(tail -n 3 "$OUT/ghc-pkg-check.log" | tr '\n' ' ')"; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
