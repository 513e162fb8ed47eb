#!/usr/bin/env bash
# Runs the stack benchmarks and prints a benchstat summary.
#   ./scripts/bench.sh            full run: -count=6, benchstat table (bare vs full)
#   ./scripts/bench.sh -smoke     CI smoke run: every benchmark once, briefly
# Extra env: BENCH (regexp, default '.'), COUNT (default 6), BENCHTIME (default 1s).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "-smoke" ]; then
  go test -run '^$' -bench "${BENCH:-.}" -benchtime 20x -count 1 ./bench/ ./signer/... ./tokens/... ./transport/... >/dev/null
  echo "benchmarks ran (smoke)"
  exit 0
fi
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
go install "golang.org/x/perf/cmd/benchstat@${BENCHSTAT_VERSION}"
out=${OUT:-bench/results.txt}
go test -run '^$' -bench "${BENCH:-.}" -benchmem -benchtime "${BENCHTIME:-1s}" -count "${COUNT:-6}" ./bench/ | tee "$out"
echo
echo "== benchstat: bare vs full, measured in the same run"
bs="$(go env GOPATH)/bin/benchstat"
grep -E '/bare/|^goos|^goarch|^pkg|^cpu' "$out" | sed 's#/bare/#/#' > "${out%.txt}.bare.txt"
grep -E '/full/|^goos|^goarch|^pkg|^cpu' "$out" | sed 's#/full/#/#' > "${out%.txt}.full.txt"
"$bs" bare="${out%.txt}.bare.txt" full="${out%.txt}.full.txt"
