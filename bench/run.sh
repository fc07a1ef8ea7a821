#!/bin/sh
# bench/run.sh: runs warden's benchmarks (issue 8, docs/BENCHMARKS.md) and
# prints their tables. Needs Go and the PostgreSQL server binaries (the same
# as go test ./...); starts and stops its own throwaway server.
#
#   bench/run.sh                      # everything, full size (about 45 min on 2 cores)
#   bench/run.sh -b2-rows 200000      # smaller online-migration data set
#   bench/run.sh -md                  # tables as markdown
#
# Flags are passed to wardenbench (go run ./bench/cmd/wardenbench -h).
# Results: bench/results/latest/*.json (override with OUT=dir), the B2 chart:
# docs/bench-b2-latency.svg.
set -eu
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results/latest}
mkdir -p "$OUT"

echo "== B4 in-memory generation: go test -run '^\$' -bench . -benchmem ./bench"
go test -run '^$' -bench . -benchmem -count 1 ./bench | tee "$OUT/b4-go.txt"
echo

exec go run ./bench/cmd/wardenbench -out "$OUT" "$@" all
