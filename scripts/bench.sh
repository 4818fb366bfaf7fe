#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md on this machine: builds the service
# and the load generator in release, then `loadgen suite`, which starts the
# stateless backend and the service as processes of their own, measures
# every scenario and baseline in one run, and prints the tables BENCHMARKS.md
# records. Not part of CI: benchmarks are never timed tests.
#
#   scripts/bench.sh                     # the whole set, about 5 minutes
#   scripts/bench.sh --duration 3s       # shorter runs; any `loadgen suite` flag
#
# It writes every number as JSON to target/bench/results.json as well.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin import-job-service --example loadgen
mkdir -p target/bench
# Ten thousand idle connections need that many descriptors on both ends.
ulimit -n "$(ulimit -Hn)"
exec target/release/examples/loadgen suite \
  --service target/release/import-job-service \
  --out target/bench/results.json "$@"
