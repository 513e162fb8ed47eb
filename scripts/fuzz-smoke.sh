#!/usr/bin/env bash
# Runs every fuzz target of the root module briefly (FUZZTIME, default 5s),
# so the fuzzers keep compiling and their seed corpora keep passing.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-5s}
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '/testdata/' | while read -r f; do
  dir=$(dirname "$f")
  # skip files that belong to a nested module
  mod=$(cd "$dir" && go env GOMOD)
  [ "$mod" = "$PWD/go.mod" ] || continue
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "== fuzz $dir $fn ($t)"
    go test "./$dir" -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" >/dev/null
  done
done
