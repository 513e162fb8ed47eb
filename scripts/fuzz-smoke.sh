#!/usr/bin/env bash
# Runs every fuzz target of the root module briefly (FUZZTIME, default
# 20000x: twenty thousand inputs), so the fuzzers keep compiling and their
# seed corpora keep passing. A count, not a duration: with a duration,
# go1.26's fuzzing coordinator can report "context deadline exceeded" as a
# failure when the time runs out while a worker is mid-input
# (go.dev/issue/75804, fixed in Go 1.27); it did, in 2 of 6 runs here.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-20000x}
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '/testdata/' | while read -r f; do
  dir=$(dirname "$f")
  # skip files that belong to a nested module
  mod=$(cd "$dir" && go env GOMOD)
  [ "$mod" = "$PWD/go.mod" ] || continue
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "== fuzz $dir $fn ($t)"
    out=$(mktemp)
    if ! go test "./$dir" -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" >"$out" 2>&1; then
      cat "$out" # the failure (a new corpus entry is under $dir/testdata/fuzz)
      rm -f "$out"
      exit 1
    fi
    rm -f "$out"
  done
done
