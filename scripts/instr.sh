#!/usr/bin/env bash
# Counts the instructions each benchmark row executes per operation, with
# valgrind's callgrind: a count, not a time. With the garbage collector off
# (GOGC=off, the default here) it is the same from one run to the next
# within ~0.5 % (small rows ~2 %), however busy or fast the machine is: the
# count is the code path's, allocation included, without the GC cycles
# (whose pacing follows the wall clock, so that with GOGC=100 a loaded
# machine moves the count by up to 30 %; bytes/op tells what they cost).
# Use it where timings are too noisy to compare two commits (shared 2-vCPU
# machines), and read docs/performance.md ("Session 12: instruction
# counts") for what it does and does not show. GOGC=100 ./scripts/instr.sh
# counts the GC too, on an idle machine only.
#
# Usage:
#   ./scripts/instr.sh                 # this checkout's rows
#   ./scripts/instr.sh <rev>           # <rev> and this checkout, side by side
#   ROWS='BenchmarkStack/stub/lean/GET BenchmarkLayer/stub/sign' ./scripts/instr.sh
#
# Each row runs alone at two iteration counts (N1, N2; default 5000 and
# 15000) and the difference is divided by N2-N1, so the binary's start-up,
# the benchmark's set-up and the first GC cycles cancel out. GOMAXPROCS=1
# (-test.cpu 1) keeps the runtime from spinning idle Ps, which callgrind
# would count; GODEBUG=asyncpreemptoff=1 because callgrind cannot deliver
# the runtime's preemption signals. Needs valgrind (Debian: valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "instr.sh: valgrind not found (apt-get install valgrind)" >&2; exit 2; }

N1=${N1:-5000}
N2=${N2:-15000}
ROWS=${ROWS:-"BenchmarkStack/stub/bare/GET BenchmarkStack/stub/lean/GET BenchmarkStack/stub/full/GET BenchmarkStack/stub/bare/POST BenchmarkStack/stub/lean/POST BenchmarkStack/stub/full/POST"}
base=${1:-}

work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

build() { # build <dir> <out>
  (cd "$1" && go test -c -o "$2" ./bench/)
}

# anchored turns BenchmarkStack/stub/lean/GET into ^BenchmarkStack$/^stub$/^lean$/^GET$.
anchored() {
  local IFS=/ out="" p
  for p in $1; do out+="${out:+/}^${p}\$"; done
  printf '%s' "$out"
}

# count <binary> <row>: instructions per op.
count() {
  local bin=$1 re c1 c2
  re=$(anchored "$2")
  c1=$(cd bench && GOGC=${GOGC:-off} GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" -test.run '^$' -test.bench "$re" -test.benchtime "${N1}x" -test.cpu 1 2>&1 | sed -n 's/.*Collected : //p')
  c2=$(cd bench && GOGC=${GOGC:-off} GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" -test.run '^$' -test.bench "$re" -test.benchtime "${N2}x" -test.cpu 1 2>&1 | sed -n 's/.*Collected : //p')
  if [ -z "$c1" ] || [ -z "$c2" ]; then
    echo "instr.sh: no count for $2 (does the row exist?)" >&2
    return 1
  fi
  echo $(((c2 - c1) / (N2 - N1)))
}

build . "$work/new.test"
if [ -n "$base" ]; then
  git worktree add --detach -q "$work/base" "$base"
  build "$work/base" "$work/base.test"
  printf '%-36s %12s %12s %9s\n' row "$base" HEAD change
else
  printf '%-36s %12s\n' row instr/op
fi
for row in $ROWS; do
  new=$(count "$work/new.test" "$row")
  if [ -n "$base" ]; then
    old=$(count "$work/base.test" "$row")
    awk -v r="$row" -v o="$old" -v n="$new" 'BEGIN { printf "%-36s %12d %12d %+8.1f%%\n", r, o, n, (n - o) * 100 / o }'
  else
    printf '%-36s %12d\n' "$row" "$new"
  fi
done
