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
exit $status
