# Sourced by the build scripts: "has this input changed since the last run?"
#
#   digest_of [FILE...]      sha256 of the files' contents, in order, plus
#                            standard input when no file is named
#   stamp_matches STAMP KEY  true when the file STAMP holds KEY
#   stamp_write STAMP KEY    records KEY in STAMP (after the step succeeded)
#
# A step runs when `stamp_matches` fails and writes its stamp only once it
# succeeded, so an interrupted step runs again next time.
digest_of() {
  if [ $# -gt 0 ]; then cat -- "$@"; else cat; fi | sha256sum | cut -d' ' -f1
}
stamp_matches() {
  local have=""
  [ -f "$1" ] && read -r have < "$1"
  [ "$have" = "$2" ]
}
stamp_write() {
  mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" > "$1"
}
