#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `make deb`: the Debian package ghc-evmgr, from the RTS `make ghc` built.
#
#   scripts/make-deb.sh            writes build/deb/ghc-evmgr_<version>_<arch>.deb
#
# The package is Debian's GHC with the evmgr non-threaded RTS, installed
# beside Debian's and sharing its compiler and libraries:
#   /usr/bin/ghc-evmgr, ghc-pkg-evmgr, runghc-evmgr, ghci-evmgr (and
#       *-evmgr-<ghc version>): wrappers like Debian's /usr/bin/ghc ones;
#   /usr/lib/ghc-evmgr/lib: GHC's top directory, links to every entry of
#       /usr/lib/ghc except rts/ (links to Debian's threaded RTS libraries,
#       the rebuilt non-threaded ones as files) and package.conf.d (a link
#       to /var/lib/ghc-evmgr/package.conf.d);
#   /var/lib/ghc-evmgr: the package db, a copy of Debian's with the rts
#       entry pointed at this RTS, made by scripts/pkgdb-sync at configure
#       time and again by a dpkg trigger whenever a package changes
#       /var/lib/ghc/package.conf.d; removed with the package.
# Its version is Debian's ghc version + "+evmgr1", and it depends on exactly
# that ghc: the rebuilt RTS is ABI-tied to it. It never touches Debian's
# ghc files.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SYS=/usr/lib/ghc
RTS_BUILT=$BUILD/ghc/lib/rts
OUT=$BUILD/deb
PKG=ghc-evmgr
EVMGR_REVISION=1
# Who signs the package: set DEBFULLNAME and DEBEMAIL as for dch(1). The
# default has no real mail host (lintian's bogus-mail-host says so).
MAINTAINER="${DEBFULLNAME:-evmgr developers} <${DEBEMAIL:-evmgr@localhost}>"

die() { echo "make-deb: error: $*" >&2; exit 1; }
[ -d "$RTS_BUILT" ] || die "$RTS_BUILT missing: run make ghc first"
ghc_version=$(dpkg-query -W -f='${Version}' ghc) || die "Debian's ghc is not installed"
numeric=$("$SYS/bin/ghc" --numeric-version)
version="$ghc_version+evmgr$EVMGR_REVISION"
arch=$(dpkg --print-architecture)

stage=$OUT/stage
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/lib/$PKG/lib/rts" \
         "$stage/usr/share/doc/$PKG" "$stage/usr/share/man/man1"
top=/usr/lib/$PKG/lib

# GHC's top directory: Debian's, entry by entry, except the RTS and the db.
for e in "$SYS"/*; do
  n=$(basename "$e")
  case "$n" in package.conf.d|rts) continue ;; esac
  ln -s "../../ghc/$n" "$stage$top/$n"    # relative: same top-level directory
done
ln -s "/var/lib/$PKG/package.conf.d" "$stage$top/package.conf.d"
for e in "$SYS"/rts/*; do
  n=$(basename "$e")
  if [ -L "$RTS_BUILT/$n" ] || [ ! -e "$RTS_BUILT/$n" ]; then
    ln -s "../../../ghc/rts/$n" "$stage$top/rts/$n"   # Debian's (threaded ways)
  else
    install -m 644 "$RTS_BUILT/$n" "$stage$top/rts/$n"   # rebuilt
  fi
done
# As dh_strip does: debug information out of the archives, symbols not
# needed for linking out of the shared libraries.
for f in "$stage$top"/rts/*; do
  [ -L "$f" ] && continue
  case "$f" in
    *.a) strip --strip-debug "$f" ;;
    *.so) strip --strip-unneeded "$f"; chmod 644 "$f" ;;
  esac
done
install -m 755 "$ROOT/scripts/pkgdb-sync" "$stage/usr/lib/$PKG/pkgdb-sync"

# Wrappers.
wrapper() { # NAME BODY
  printf '#!/bin/sh\n# %s: GHC %s with the evmgr non-threaded RTS (package %s)\n%s\n' \
    "$1" "$numeric" "$PKG" "$2" > "$stage/usr/bin/$1"
  chmod 755 "$stage/usr/bin/$1"
  ln -s "$1" "$stage/usr/bin/$1-$numeric"
}
wrapper ghc-evmgr     "exec $SYS/bin/ghc -B$top \${1+\"\$@\"}"
wrapper ghc-pkg-evmgr "exec $SYS/bin/ghc-pkg --global-package-db $top/package.conf.d \${1+\"\$@\"}"
wrapper runghc-evmgr  "exec $SYS/bin/runghc -f /usr/bin/ghc-evmgr \${1+\"\$@\"}"
wrapper ghci-evmgr    "exec /usr/bin/ghc-evmgr --interactive \${1+\"\$@\"}"
for n in ghc-evmgr ghc-pkg-evmgr runghc-evmgr ghci-evmgr; do
  cat > "$stage/usr/share/man/man1/$n.1" <<EOF
.TH ${n^^} 1 "" "$PKG $version" "User Commands"
.SH NAME
$n \- Debian's ${n%-evmgr} $numeric with the evmgr non-threaded runtime
.SH DESCRIPTION
Runs Debian's ${n%-evmgr} with the evmgr I/O manager in the non-threaded RTS:
threadDelay, threadWaitRead and threadWaitWrite wait through epoll (or poll,
or select: +RTS \-\-io\-manager=epoll|poll|select|auto). Everything else, and
every option, is as for ${n%-evmgr}(1).
.SH SEE ALSO
${n%-evmgr}(1)
EOF
  gzip -9n "$stage/usr/share/man/man1/$n.1"
  ln -s "$n.1.gz" "$stage/usr/share/man/man1/$n-$numeric.1.gz"
done

# Documentation, as Debian policy wants it.
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: evmgr"
  echo
  echo "Files: *"
  echo "Copyright: the evmgr developers; the GHC Team (the RTS)"
  echo "License: BSD-3-Clause"
  sed 's/^$/./; s/^/ /' "$ROOT/LICENSE"
} > "$stage/usr/share/doc/$PKG/copyright"
cat > "$OUT/changelog" <<EOF
$PKG ($version) unstable; urgency=medium

  * Built by evmgr's make deb from Debian's ghc $ghc_version.

 -- $MAINTAINER  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}")
EOF
gzip -9nc "$OUT/changelog" > "$stage/usr/share/doc/$PKG/changelog.Debian.gz"

# Debian's own libHSrts*.so have an executable stack too (the RTS's Cmm and
# assembly objects carry no .note.GNU-stack); the rebuilt ones are linked
# the same way, to stay a drop-in.
mkdir -p "$stage/usr/share/lintian/overrides"
cat > "$stage/usr/share/lintian/overrides/$PKG" <<EOF
# As Debian's ghc's own RTS: its Cmm objects carry no .note.GNU-stack.
$PKG: executable-stack-in-shared-library [usr/lib/$PKG/lib/rts/*]
EOF

# Maintainer scripts: the package db is made at configure time and remade by
# the trigger whenever Debian's package db changes.
cat > "$stage/DEBIAN/triggers" <<EOF
interest-noawait /var/lib/ghc/package.conf.d
EOF
cat > "$stage/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
case "\$1" in
  configure|triggered)
    rm -f /var/lib/$PKG/package.conf.d.copies/synced
    /usr/lib/$PKG/pkgdb-sync /var/lib/ghc/package.conf.d $SYS/bin/ghc-pkg /var/lib/$PKG $top/rts >/dev/null
    ;;
esac
EOF
cat > "$stage/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
case "\$1" in
  remove|purge) rm -rf /var/lib/$PKG ;;
esac
EOF
chmod 755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/postrm"

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
# Shared-library dependencies of the rebuilt RTS, as dh_shlibdeps finds them
# (dpkg-shlibdeps wants a debian/control to read).
shl=$OUT/shlibdeps; mkdir -p "$shl/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$PKG" "$PKG" > "$shl/debian/control"
rebuilt_so=(); for f in "$stage$top"/rts/*.so; do [ -L "$f" ] || rebuilt_so+=("$f"); done
shlibs=$(cd "$shl" && dpkg-shlibdeps -O "${rebuilt_so[@]}" 2>"$shl/log" | sed -n 's/^shlibs:Depends=//p') \
  || { cat "$shl/log" >&2; die "dpkg-shlibdeps failed"; }
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no dependencies"
cat > "$stage/DEBIAN/control" <<EOF
Package: $PKG
Version: $version
Architecture: $arch
Maintainer: $MAINTAINER
Installed-Size: $installed_size
Depends: ghc (= $ghc_version), $shlibs
Section: haskell
Priority: optional
Description: GHC with the evmgr I/O manager in the non-threaded runtime
 Debian's GHC $numeric (compiler and libraries, shared with the ghc package)
 whose non-threaded runtime waits for file descriptors and threadDelay with
 epoll instead of select(): no 1024-fd limit, O(1) waits and O(log n)
 delays. Programs need the same shared libraries as with Debian's ghc.
 Commands: ghc-evmgr, ghc-pkg-evmgr, runghc-evmgr, ghci-evmgr; use it with
 cabal as cabal build -w ghc-evmgr.
EOF
(cd "$stage" && find usr -type f -exec md5sum {} + | sort -k2) > "$stage/DEBIAN/md5sums"

deb=$OUT/${PKG}_${version}_${arch}.deb
rm -f "$OUT"/${PKG}_*.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
