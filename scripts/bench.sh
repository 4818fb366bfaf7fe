#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md on this machine: builds the service
# and the load generator in release, then `loadgen suite`, which starts the
# stateless backend and the service as processes of their own, measures
# every scenario and baseline in one run, and prints the tables BENCHMARKS.md
# records. Beside them: the peer (examples/peer, the Python service a team
# would write instead, in a virtual environment of its own under
# target/bench/peer-venv) under the same loads, and rows driven by h2load
# (Debian's nghttp2-client). Not part of CI: benchmarks are never timed tests.
#
#   scripts/bench.sh                     # the whole set, about 8 minutes
#   scripts/bench.sh --duration 3s       # shorter runs; any `loadgen suite` flag
#
# It writes every number as JSON to target/bench/results.json as well. The
# binaries come from $CARGO_TARGET_DIR when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."

binaries="${CARGO_TARGET_DIR:-target}/release"
cargo build --release --locked --bin import-job-service --example loadgen
mkdir -p target/bench

sudo=$([ "$(id -u)" = 0 ] || echo sudo)
missing=()
command -v h2load >/dev/null || missing+=(nghttp2-client)
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Rebuilt whenever the requirements change; the copy inside says what it holds.
venv=target/bench/peer-venv
if ! cmp -s examples/peer/requirements.txt "$venv/requirements.txt"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r examples/peer/requirements.txt
    cp examples/peer/requirements.txt "$venv/requirements.txt"
fi

# Ten thousand idle connections need that many descriptors on both ends.
ulimit -n "$(ulimit -Hn)"
exec "$binaries/examples/loadgen" suite \
  --service "$binaries/import-job-service" \
  --peer-python "$venv/bin/python" \
  --out target/bench/results.json "$@"
