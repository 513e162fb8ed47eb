#!/usr/bin/env bash
# Runs the stack benchmarks and prints a benchstat summary.
#   ./scripts/bench.sh            full run: -count=6, benchstat table (bare vs full vs lean)
#   ./scripts/bench.sh -smoke     CI smoke run: every benchmark once, briefly
#   HAND=1 ./scripts/bench.sh     also BenchmarkHandStack (bench/handstack: bare vs the
#                                 hand-assembled stack vs full, same run), benchstat of the three
#   HAND=only ./scripts/bench.sh  only BenchmarkHandStack
#   FLEET=1 ./scripts/bench.sh    also the fleet module's benchmarks (BenchmarkFleetMode: local
#                                 vs fleet mode on a real redis-server, same run; quota, stores)
# Extra env: BENCH (regexp, default '.'), COUNT (default 6), BENCHTIME (default 1s).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "-smoke" ]; then
  go test -run '^$' -bench "${BENCH:-.}" -benchtime 20x -count 1 ./bench/ ./signer/... ./tokens/... ./transport/... >/dev/null
  (cd bench/handstack && go test -run '^$' -bench "${BENCH:-.}" -benchtime 20x -count 1 . >/dev/null)
  (cd fleet && go test -run '^$' -bench "${BENCH:-.}" -benchtime 20x -count 1 . >/dev/null) # needs redis-server
  echo "benchmarks ran (smoke)"
  exit 0
fi
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
go install "golang.org/x/perf/cmd/benchstat@${BENCHSTAT_VERSION}"
bs="$(go env GOPATH)/bin/benchstat"
if [ "${HAND:-}" != only ]; then
out=${OUT:-bench/results.txt}
go test -run '^$' -bench "${BENCH:-.}" -benchmem -benchtime "${BENCHTIME:-1s}" -count "${COUNT:-6}" ./bench/ | tee "$out"
echo
echo "== benchstat: bare vs full (tracing on) vs lean (tracing off), and BenchmarkFloor's floor and"
echo "   floor-lean (the issue's work inline, no stack), measured in the same run"
for v in bare floor full floor-lean lean; do
  { grep -E "/$v/|^goos|^goarch|^pkg|^cpu" "$out" || true; } | sed "s#/$v/#/#" > "${out%.txt}.$v.txt"
done
"$bs" bare="${out%.txt}.bare.txt" floor="${out%.txt}.floor.txt" full="${out%.txt}.full.txt" \
  floor-lean="${out%.txt}.floor-lean.txt" lean="${out%.txt}.lean.txt"
fi
if [ -n "${HAND:-}" ]; then
  hout=${HAND_OUT:-bench/results-hand.txt}
  (cd bench/handstack && go test -run '^$' -bench "${BENCH:-.}" -benchmem -benchtime "${BENCHTIME:-1s}" -count "${COUNT:-6}" .) | tee "$hout"
  echo
  echo "== benchstat: bare vs hand-assembled vs full, measured in the same run"
  for v in bare hand full; do
    { grep -E "/$v/|^goos|^goarch|^pkg|^cpu" "$hout" || true; } | sed "s#/$v/#/#" > "${hout%.txt}.$v.txt"
  done
  "$bs" bare="${hout%.txt}.bare.txt" hand="${hout%.txt}.hand.txt" full="${hout%.txt}.full.txt"
fi
if [ -n "${FLEET:-}" ]; then
  fout=${FLEET_OUT:-bench/results-fleet.txt}
  (cd fleet && go test -run '^$' -bench "${FLEET_BENCH:-.}" -benchmem -benchtime "${BENCHTIME:-1s}" -count "${COUNT:-6}" .) | tee "$fout"
  echo
  echo "== benchstat: fleet mode vs local-only, measured in the same run"
  for v in local fleet; do
    { grep -E "FleetMode/$v/|^goos|^goarch|^pkg|^cpu" "$fout" || true; } | sed "s#/$v/#/#" > "${fout%.txt}.$v.txt"
  done
  "$bs" local="${fout%.txt}.local.txt" fleet="${fout%.txt}.fleet.txt"
fi
