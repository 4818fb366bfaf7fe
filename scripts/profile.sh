#!/usr/bin/env bash
# Profiles the service under load, as BENCHMARKS.md's profiles were taken:
# the release build with line tables (`--profile profiling`), the stateless
# backend and the service as processes of their own, StopUserImportJob from
# the load generator at a fixed concurrency, and `perf record` on the service
# alone. Writes target/profile/perf.data, a folded-stack file and a flame
# graph (SVG, by inferno), and prints the top of the report. Not part of CI.
#
#   scripts/profile.sh                  # concurrency 16, 15 s
#   CONCURRENCY=1 SECONDS_=20 scripts/profile.sh
set -euo pipefail
cd "$(dirname "$0")/.."

concurrency=${CONCURRENCY:-16}
seconds=${SECONDS_:-10}
out=target/profile
mkdir -p "$out"

command -v perf >/dev/null || sudo apt-get install -y linux-perf
[ -x target/tools/bin/inferno-flamegraph ] ||
  cargo install inferno --locked --version 0.12.8 --root target/tools
cargo build --profile profiling --locked --bin import-job-service --example loadgen
bin=target/profiling

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
"$bin/examples/loadgen" backend > "$out/backend.url" &
pids+=($!)
until [ -s "$out/backend.url" ]; do sleep 0.05; done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AWS_ENDPOINT_URL=$(cat "$out/backend.url") AWS_ACCESS_KEY_ID=AKIAPROFILE \
  AWS_SECRET_ACCESS_KEY=profile-secret AWS_EC2_METADATA_DISABLED=true \
  "$bin/import-job-service" --listen "127.0.0.1:$port" --log-format json \
  --insecure-allow-unauthenticated \
  --max-calls-in-flight 100000 --max-calls-in-flight-per-caller 100000 \
  --cognito-rate 1000000 --cognito-burst 1000000 2> "$out/service.log" &
service=$!
pids+=($service)
until (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; do sleep 0.05; done

"$bin/examples/loadgen" run --call stop --target "http://127.0.0.1:$port" \
  --concurrency "$concurrency" --duration "$((seconds + 3))s" --server-pid "$service" \
  > "$out/loadgen.txt" &
load=$!
sleep 2
perf record -F 499 -g --call-graph dwarf,16384 -p "$service" -o "$out/perf.data" \
  -- sleep "$seconds" 2> /dev/null
wait "$load"
cat "$out/loadgen.txt"

perf script -i "$out/perf.data" 2> /dev/null | target/tools/bin/inferno-collapse-perf > "$out/folded.txt"
target/tools/bin/inferno-flamegraph < "$out/folded.txt" > "$out/flamegraph.svg"
perf report -i "$out/perf.data" --no-children -g none --sort dso,symbol --percent-limit 1 \
  --stdio 2> /dev/null | grep -v '^#' | grep -v '^$' | cut -c1-120
# Each sample is charged to the innermost frame of a named crate, so that
# malloc, memcpy and system calls count for the crate that made them; the
# crates are then grouped into the parts of a call's path.
python3 - "$out/folded.txt" <<'PY'
import re, sys
parts = [
    ("AWS SDK, its HTTP client and signing", ("aws_", "hyper_rustls", "hyper_util", "sha2", "rustls", "hmac", "digest", "cognito_constraints")),
    ("the log line: JSON layer, tracing, the writer", ("import_job_service::telemetry", "tracing", "log-writer", "serde", "sharded_slab")),
    ("HTTP/2 and gRPC server (h2, hyper, tonic, tower)", ("h2", "hyper", "tonic", "tower", "axum", "prost", "tokio_util", "http", "matchit")),
    ("tokio: scheduling, wake-ups, socket reads and writes", ("tokio", "mio")),
    ("the service's own code (layers, handler, limits, metrics)", ("import_job_service", "prometheus")),
]
neutral = re.compile(r"(core|alloc|std|bytes|http_body|http_body_util|pin_project|futures_\w+|tracing_core|parking_lot|hashbrown|indexmap|slab|smallvec|once_cell)$")
total, counts = 0, {name: 0 for name, _ in parts + [("other", ())]}
for line in open(sys.argv[1]):
    stack, _, n = line.rpartition(" ")
    n = int(n)
    total += n
    frames = stack.split(";")
    owner = "log-writer" if frames[0].startswith("log-writer") else None
    for frame in reversed(frames):
        if owner:
            break
        for path in re.findall(r"(?<![\w:])([A-Za-z_]\w*)::(\w*)", frame):
            if not neutral.match(path[0]):
                owner = "::".join(path) if path[0] == "import_job_service" else path[0]
                break
    name = next((name for name, prefixes in parts if owner and owner.startswith(prefixes)), "other")
    counts[name] += n
for name, n in counts.items():
    print(f"{name:60} {100 * n / max(total, 1):5.1f}%")
PY
echo "flame graph: $out/flamegraph.svg; folded stacks: $out/folded.txt"
