# SPDX-License-Identifier: BSD-3-Clause
#
# Sourced by the scripts that talk to Debian's archive: where the machine's
# own apt configuration says the archive is. No host is ever written in the
# repository; the addresses come from /etc/apt.
#
#   archive_of CODENAME   the URIs of the machine's `deb` entries for that
#                         suite, one a line, in the order apt reads them
#                         (deb822 .sources files, then one-line .list files)
#   debian_archive [CODENAME]
#                         one URI of Debian's main archive for CODENAME: the
#                         machine's entry for it, or else the one its own
#                         release uses (Debian's archive serves every suite
#                         from the same address). Empty when none is known.

archive_of() { # CODENAME -> the URI of the machine's `deb` entry for it
  local codename=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v want="$codename" 'BEGIN { RS = ""; FS = "\n" }
      { types = ""; uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/)  { types = $i }
          if ($i ~ /^URIs:/)   { uris = $i;   sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/) { suites = " " $i " " }
        }
        split(uris, u, /[ \t]+/)
        if (types ~ /[ \t]deb([ \t]|$)/ && suites ~ ("[ \t]" want "[ \t]") && u[1] != "") { print u[1]; exit }
      }' "$f"
  done
  grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -E 's/\[[^]]*\]//' | awk -v want="$codename" '$3 == want { print $2 }'
  return 0   # no entry is an empty answer, not an error (set -e, pipefail)
}

debian_archive() { # [CODENAME] -> one URI
  local want=${1:-} own uri
  if [ -n "$want" ]; then
    uri=$(archive_of "$want" | head -n 1) || true
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  fi
  own=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$own" ] || return 0
  archive_of "$own" | head -n 1 || true
}
