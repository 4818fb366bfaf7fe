#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ for a while each and prints, per
# target, the executions, the coverage libFuzzer reports and the findings.
# See FUZZING.md.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; the targets default to all of them
# (stop_request, emulator_request, policy_file, jwt_token,
# client_certificate). Exits 1 if any target found
# a crash, a timeout or an out-of-memory (the input is in fuzz/artifacts/).
#
# Environment:
#   FUZZ_SANITIZER  none (default) or address. Stable Rust cannot pass
#                   -Zsanitizer, so with address the script sets
#                   RUSTC_BOOTSTRAP=1 for the build; `none` needs no
#                   unstable flag at all.
#   FUZZ_ARGS       extra libFuzzer flags, e.g. "-jobs=2 -workers=2".
#
# Needs cargo-fuzz (cargo install cargo-fuzz --version 0.13.1 --locked) and a
# C++ compiler for libFuzzer. The corpus each run grows is kept in fuzz/work/
# (not committed); the seeds in fuzz/corpus/ are read, never written.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.1
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(stop_request emulator_request policy_file jwt_token client_certificate)
fi
sanitizer=${FUZZ_SANITIZER:-none}
case "$seconds" in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac

if ! installed=$(cargo fuzz --version 2>/dev/null); then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --version $CARGO_FUZZ_VERSION --locked" >&2
    exit 2
fi
case "$installed" in
    *" $CARGO_FUZZ_VERSION"*) ;;
    *) echo "warning: $installed, FUZZING.md's numbers are from cargo-fuzz $CARGO_FUZZ_VERSION" >&2 ;;
esac
if [ "$sanitizer" != none ]; then
    export RUSTC_BOOTSTRAP=1
fi
# Debug assertions on: overflow checks and debug_assert! find bugs too.
build_flags=(--sanitizer "$sanitizer" --debug-assertions)

echo "== building the fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build "${build_flags[@]}"

mkdir -p fuzz/work/logs
summary=()
failed=0
for target in "${targets[@]}"; do
    work=fuzz/work/corpus/$target
    artifacts=fuzz/artifacts/$target
    log=fuzz/work/logs/$target.log
    mkdir -p "$work" "$artifacts"
    dict=()
    if [ -f "fuzz/dict/$target.dict" ]; then
        dict=("-dict=fuzz/dict/$target.dict")
    fi
    before=$(find "$artifacts" -type f | wc -l)
    echo "== $target: ${seconds}s (log: $log)"
    status=0
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    cargo fuzz run "${build_flags[@]}" "$target" "$work" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        "${dict[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1 || status=$?
    after=$(find "$artifacts" -type f | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
    findings=$((after - before))
    if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ]; then
        failed=1
        echo "   FOUND: exit $status, $findings new file(s) in $artifacts:"
        grep -E '^(thread .* panicked|==[0-9]+== ERROR|SUMMARY|artifact_prefix|Test unit written)' "$log" | head -n 10 | sed 's/^/   /'
    fi
    summary+=("$(printf '%-18s %12s %8s %7s %7s %12s %8s' "$target" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$findings")")
done

echo
printf '%-18s %12s %8s %7s %7s %12s %8s\n' target executions exec/s cov ft corpus findings
printf '%s\n' "${summary[@]}"
exit "$failed"
