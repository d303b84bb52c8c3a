#!/usr/bin/env bash
# Measures every performance target side by side with its raw PostgreSQL
# baseline (see bench/doc.go). `make bench` runs it after `make deps build`.
# Usage:
#   scripts/bench.sh                      # everything, the issues' numbers (< 15 min on 2 cores)
#   scripts/bench.sh snapshot streaming   # only these workloads (preflight snapshot backfill streaming lag rss verify)
#   scripts/bench.sh -quick               # every count scaled down, for a quick check
#   scripts/bench.sh verify               # verify.Run vs md5(string_agg) on both sides, 10M rows (-verify-rows)
#   scripts/bench.sh -snapshot-rows 500000 -runs 5 snapshot
# Flags come before workload names; `scripts/bench.sh -h` lists them (each
# also has a BENCH_* environment variable). Results: bench/results/latest.json.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
go build -o "$out/ardent-bench" ./bench
"$out/ardent-bench" "$@"
