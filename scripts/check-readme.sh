#!/usr/bin/env bash
# Runs the README's run command, then every grpcurl line of the README as
# pasted: a line with -format-error must fail with decoded error details,
# every other line must succeed.
set -euo pipefail
cd "$(dirname "$0")/.."

code_lines() { awk '/^```/ { in_block = !in_block; next } in_block { print }' README.md; }
run_command=$(code_lines | grep -m1 '^cargo run')
log=$(mktemp)
echo "starting: $run_command"
bash -c "exec $run_command" >"$log" 2>&1 &
service=$!
trap 'kill "$service" 2>/dev/null || true; wait "$service" 2>/dev/null || true' EXIT

# The first run compiles the service; allow for a cold build on 2 cores.
for _ in $(seq 1 900); do
    if grpcurl -plaintext -max-time 2 localhost:50051 grpc.health.v1.Health/Check >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$service" 2>/dev/null; then
        cat "$log"
        echo "the service exited before serving" >&2
        exit 1
    fi
    sleep 1
done

failures=0
# The start-up banner's grpcurl line must work as pasted too.
banner_line=$(grep -m1 '^  grpcurl ' "$log" | sed 's/^  //' || true)
if [[ -z $banner_line ]]; then
    echo "FAIL: the start-up banner has no grpcurl line"; cat "$log"; failures=$((failures + 1))
elif ! bash -c "$banner_line" >/dev/null; then
    echo "FAIL: $banner_line"; failures=$((failures + 1))
else
    echo "ok (banner): $banner_line"
fi

while IFS= read -r line; do
    set +e
    output=$(bash -c "$line" 2>&1)
    status=$?
    set -e
    if [[ $line == *-format-error* ]]; then
        if [[ $status -eq 0 || $output != *google.rpc.ErrorInfo* || $output == *"Error parsing"* ]]; then
            echo "FAIL (expected an error with decoded details): $line"; echo "$output"; failures=$((failures + 1))
            continue
        fi
    elif [[ $status -ne 0 ]]; then
        echo "FAIL (exit $status): $line"; echo "$output"; failures=$((failures + 1))
        continue
    fi
    echo "ok: $line"
done < <(code_lines | grep '^grpcurl ')

echo "README grpcurl lines: $failures failed"
[[ $failures -eq 0 ]]
