#!/usr/bin/env bash
# Runs every fuzz target of the root module briefly (FUZZTIME, default
# 20000x: twenty thousand inputs), so the fuzzers keep compiling and their
# seed corpora keep passing. A count, not a duration: with a duration,
# go1.26's fuzzing coordinator can report "context deadline exceeded" as a
# failure when the time runs out while a worker is mid-input
# (go.dev/issue/75804, fixed in Go 1.27); it did, in 2 of 6 runs here.
#
# What fails the run: a target that does not compile or whose seed corpus
# fails (also run as plain tests by scripts/test.sh). An input the random
# exploration finds is printed with its corpus file and reported as a
# FUZZ FINDING at the end, but fails the run only with FUZZ_STRICT=1: which
# inputs 20000 random mutations reach differs from run to run, and a
# finding is for the next change to turn into a seed (as
# FuzzTokenResponseExpiresIn's "000" was), not a coin toss on whether a
# landing passes.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-20000x}
findings=$(mktemp)
trap 'rm -f "$findings"' EXIT
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '/testdata/' | while read -r f; do
  dir=$(dirname "$f")
  # skip files that belong to a nested module
  mod=$(cd "$dir" && go env GOMOD)
  [ "$mod" = "$PWD/go.mod" ] || continue
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "== fuzz $dir $fn ($t)"
    out=$(mktemp)
    if ! go test "./$dir" -run "^${fn}\$" >"$out" 2>&1; then
      cat "$out" # the seed corpus fails (or the target does not compile)
      rm -f "$out"
      exit 1
    fi
    if ! go test "./$dir" -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" >"$out" 2>&1; then
      cat "$out" # the finding (its corpus entry is under $dir/testdata/fuzz)
      echo "$dir $fn" >>"$findings"
    fi
    rm -f "$out"
  done
done
if [ -s "$findings" ]; then
  echo "== FUZZ FINDING in:"
  cat "$findings"
  [ "${FUZZ_STRICT:-0}" = 1 ] && exit 1
fi
exit 0
