#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# A Debian root of another release, made once and reused, in which the
# project's own scripts run natively: how a Debian 12 machine builds and
# tests evmgr against the GHC of Debian 13 (and the other way round).
#
# Usage: scripts/debian-root.sh SUITE ensure        make the root (once)
#        scripts/debian-root.sh SUITE run CMD...    run CMD inside it
#        scripts/debian-root.sh SUITE umount        undo leftover mounts
#        scripts/debian-root.sh SUITE path          print the root's path
#
# The root is $BUILD/SUITE-root, made by `debootstrap --variant=minbase`
# from the address of Debian's archive in the machine's own apt
# configuration (scripts/lib-archive.sh): nothing is fetched from anywhere
# else, and inside the root packages come only from that archive (the
# scripts run there install what they need with scripts/install-deps.sh,
# as on a real machine of that release).
#
# `run` bind-mounts this checkout at the same path inside the root (and
# $BUILD if it lies elsewhere), so absolute paths mean the same on both
# sides, mounts /proc and /dev, runs CMD from the checkout with a clean
# environment (a few of the project's variables pass through: see
# PASS_VARS), and unmounts everything when CMD ends, fails or is
# interrupted. Nothing is mounted between runs; concurrent runs on one root
# are serialised with a lock. Needs root (chroot, mount).
#
# Idempotent: `ensure` on a finished root costs one stamp check; a root
# whose debootstrap was interrupted is removed and made again.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
. "$ROOT/scripts/lib-archive.sh"
. "$ROOT/scripts/lib-stamp.sh"

SUITE=${1:?usage: $0 SUITE ensure|run CMD...|umount|path}
ACTION=${2:?usage: $0 SUITE ensure|run CMD...|umount|path}
shift 2
case "$SUITE" in *[!a-z0-9-]*|"") echo "debian-root: bad suite '$SUITE'" >&2; exit 2 ;; esac
R=$BUILD/$SUITE-root
STAMP=$BUILD/$SUITE-root.stamp
LOCK=$BUILD/$SUITE-root.lock
# The variables a command inside the root sees besides PATH, HOME, LANG.
ROOT_FORMAT=1
PASS_VARS="JOBS GHC_RTS_WAYS E2E_WAYS E2E_EXTRA_WAYS E2E_OUT EVMGR_RTS_DEBUG_INFO GHC_VERSION
           NS SLEEPERS HOPS TIME_LIMIT REPEAT DURATION CONNS"   # + the benchmarks' knobs

log() { echo "debian-root[$SUITE]: $*" >&2; }
die() { echo "debian-root[$SUITE]: error: $*" >&2; exit 1; }

# The mount points `run` uses, deepest last (unmounted in reverse).
mounts() {
  echo "$R/proc"
  echo "$R/dev"
  echo "$R/dev/pts"
  echo "$R$ROOT"
  case "$BUILD/" in "$ROOT"/*) ;; *) echo "$R$BUILD" ;; esac
}

is_mounted() { mountpoint -q "$1" 2>/dev/null; }

unmount_all() {
  local m list
  list=$(mounts | tac)
  for m in $list; do
    if is_mounted "$m"; then
      umount "$m" 2>/dev/null || umount -l "$m" || log "warning: cannot unmount $m"
    fi
  done
}

ensure() {
  local key
  # Bump ROOT_FORMAT when what debootstrap is asked for changes: the root
  # is then made again. Packages installed into it later are not part of
  # the key (the scripts run inside install what they miss).
  key="$SUITE minbase ca-certificates,debian-archive-keyring $ROOT_FORMAT"
  if [ -x "$R/usr/bin/apt-get" ] && stamp_matches "$STAMP" "$key"; then return 0; fi
  [ "$(id -u)" = 0 ] || die "making a root needs root (debootstrap)"
  command -v debootstrap >/dev/null || {
    log "installing debootstrap (the machine's Debian archive)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
      || { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } \
      || die "cannot install debootstrap"; }
  [ -e "/usr/share/debootstrap/scripts/$SUITE" ] || die "this debootstrap does not know '$SUITE'"
  local uri
  uri=$(debian_archive "$SUITE")
  [ -n "$uri" ] || die "no Debian archive in this machine's apt configuration (/etc/apt)"
  unmount_all
  if [ -e "$R" ]; then
    # Half-made (the stamp is written last) or made by an older version of
    # this script: start again. Never through a mount.
    for m in $(mounts); do is_mounted "$m" && die "$m is still mounted"; done
    log "removing the unfinished root $R"
    rm -rf --one-file-system "$R"
  fi
  mkdir -p "$BUILD"
  log "debootstrap --variant=minbase $SUITE from $uri (the machine's apt configuration)"
  local t0=$SECONDS
  debootstrap --variant=minbase --include=ca-certificates,debian-archive-keyring \
      "$SUITE" "$R" "$uri" > "$BUILD/$SUITE-root.log" 2>&1 \
    || { tail -n 20 "$BUILD/$SUITE-root.log" >&2; die "debootstrap failed (log: $BUILD/$SUITE-root.log)"; }
  # No daemons may start inside the root while packages are installed.
  printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"
  chmod +x "$R/usr/sbin/policy-rc.d"
  stamp_write "$STAMP" "$key"
  log "root ready in $((SECONDS - t0)) s: $R"
}

run() {
  [ $# -gt 0 ] || die "run: no command"
  [ "$(id -u)" = 0 ] || die "run needs root (chroot, mount)"
  ensure
  mkdir -p "$BUILD"
  exec 9>"$LOCK"
  flock 9
  trap 'unmount_all' EXIT
  trap 'exit 130' INT TERM HUP
  unmount_all     # leftovers of a run that was killed
  mkdir -p "$R$ROOT" "$R/proc" "$R/dev"
  mount -t proc proc "$R/proc"
  mount --bind /dev "$R/dev"
  mount --bind /dev/pts "$R/dev/pts"
  mount --bind "$ROOT" "$R$ROOT"
  case "$BUILD/" in "$ROOT"/*) ;; *) mkdir -p "$R$BUILD"; mount --bind "$BUILD" "$R$BUILD" ;; esac
  # The machine's resolver (apt inside the root reaches the same archive).
  cp -L /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
  local env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
             HOME=/root LANG=C.UTF-8 TERM=dumb EVMGR_DEBIAN_ROOT="$SUITE" BUILD="$BUILD")
  local v
  for v in $PASS_VARS; do [ -n "${!v+x}" ] && env+=("$v=${!v}"); done
  # Keep the exit status; the EXIT trap unmounts.
  local rc=0
  chroot "$R" /usr/bin/env -i "${env[@]}" /bin/bash -c 'cd "$1" && shift && exec "$@"' run "$ROOT" "$@" || rc=$?
  return $rc
}

case "$ACTION" in
  ensure) ensure ;;
  run) run "$@" ;;
  umount) unmount_all ;;
  path) echo "$R" ;;
  *) die "unknown action $ACTION (ensure, run, umount, path)" ;;
esac
