#!/usr/bin/env bash
# Compares the bench package at two commits, interleaved, so that both see
# the same noise: builds one test binary per commit, then runs the
# benchmarks matching PATTERN once per round from each binary, alternating,
# and prints the benchstat comparison of the rounds.
#
#   ./scripts/ab.sh OLD [NEW] PATTERN      NEW defaults to the working tree
#   ROUNDS=8 BENCHTIME=1s ./scripts/ab.sh HEAD~3 'BenchmarkStack$/stub/(bare|full)/GET'
#
# Interleaving matters on the shared project machines: two runs of the same
# binary an hour apart differ by more than most changes (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: $0 OLD [NEW] PATTERN" >&2
  exit 2
fi
old=$1
if [ $# -ge 3 ]; then new=$2; pattern=$3; else new=; pattern=$2; fi
rounds=${ROUNDS:-6}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; git worktree remove --force "$work/new" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

build() { # build REV DIR OUT: the bench test binary of REV (empty: the working tree)
  if [ -z "$1" ]; then
    go test -c -o "$3" ./bench/
  else
    git worktree add -q --detach "$2" "$1"
    (cd "$2" && go test -c -o "$3" ./bench/)
  fi
}
build "$old" "$work/old" "$work/old.test"
build "$new" "$work/new" "$work/new.test"

BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
go install "golang.org/x/perf/cmd/benchstat@${BENCHSTAT_VERSION}"
: >"$work/old.txt"
: >"$work/new.txt"
for i in $(seq "$rounds"); do
  for v in old new; do
    (cd bench && "$work/$v.test" -test.run '^$' -test.bench "$pattern" -test.benchmem \
      -test.count 1 -test.benchtime "${BENCHTIME:-1s}") >>"$work/$v.txt"
  done
  echo "round $i of $rounds done" >&2
done
"$(go env GOPATH)/bin/benchstat" old="$work/old.txt" new="$work/new.txt"
