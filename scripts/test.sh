#!/usr/bin/env bash
# Runs every test of every module in this repository with the race detector.
# Usage: ./scripts/test.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while IFS= read -r mod; do
  dir=$(dirname "$mod")
  echo "== go test -race ./... in ${dir}"
  (cd "$dir" && go test -race -count=1 "$@" ./...) || status=1
done < <(find . -name go.mod -not -path './.git/*' -not -path '*/testdata/*' | sort)
# Allocation budgets (testing.AllocsPerRun) once more without -race, under
# which sync.Pool drops items at random and the tests skip themselves.
echo "== go test -run Allocs ./bench/ ./transport/ ./signer/ (without -race)"
go test -count=1 -run 'Allocs' ./bench/ ./transport/ ./signer/ || status=1
echo "== go test -run Allocs . in ./openapi (without -race)"
(cd openapi && go test -count=1 -run 'Allocs' .) || status=1
exit $status
