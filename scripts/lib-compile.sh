# Sourced by the demo and benchmark scripts: compile one Haskell program.
#
#   compile_hs OUTDIR NAME COMPILER SOURCE [GHC FLAGS...]
#
# Builds OUTDIR/NAME with -O1 -rtsopts (so +RTS --io-manager=... is accepted),
# objects in OUTDIR/NAME.o; on failure prints the compiler's log and exits.
compile_hs() {
  local out=$1 name=$2 compiler=$3 source=$4
  shift 4
  "$compiler" -O1 -rtsopts "$@" -outputdir "$out/$name.o" -o "$out/$name" \
    "$source" >"$out/$name.compile.log" 2>&1 ||
    { cat "$out/$name.compile.log" >&2; exit 1; }
}
