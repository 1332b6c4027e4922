#!/usr/bin/env bash
# Runs fuzz targets for SECONDS each (default 30) and fails on any crash.
#
#   fuzz/run.sh 30                      # the CI smoke: every target, 30 s each
#   fuzz/run.sh 900 verify_at round_trip  # a longer run of some targets
#
# Installs cargo-fuzz if missing, regenerates the seed corpora from the known-answer
# vectors and the adversarial catalogue (seed.py), builds the targets once, then runs
# each with libFuzzer's -max_total_time, on the stable toolchain with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags for the instrumentation).
#
# FUZZ_SANITIZER (default `none`): the library forbids unsafe code, so AddressSanitizer
# would only watch the dependencies, at about half the executions per second; set
# FUZZ_SANITIZER=address for such a run. Inputs are capped at 8 KiB
# (-max_len=8192): the header is capped at 4 KiB, and a 70 KB seed body would
# otherwise raise libFuzzer's default cap and slow every target down.
#
# One summary line per target (executions, seconds, corpus size) goes to
# fuzz/logs/summary.txt; crashes are left in fuzz/artifacts/<target>/.
set -euo pipefail
SECONDS_PER_TARGET="${1:-30}"
shift || true
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
SANITIZER="${FUZZ_SANITIZER:-none}"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

python3 seed.py
cargo fuzz build -s "$SANITIZER"

if [ "$#" -gt 0 ]; then
    targets="$*"
else
    targets=$(cargo fuzz list)
fi

mkdir -p logs
status=0
for target in $targets; do
    echo "== fuzz $target for ${SECONDS_PER_TARGET}s (sanitizer: $SANITIZER) =="
    start=$(date +%s)
    if cargo fuzz run -s "$SANITIZER" "$target" -- -max_total_time="$SECONDS_PER_TARGET" \
        -max_len=8192 -print_final_stats=1 > "logs/$target.log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
        tail -n 40 "logs/$target.log"
    fi
    took=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$target.log" | grep -o '[0-9]*$' || echo '?')
    corpus=$(ls "corpus/$target" | wc -l)
    line="$target: $result, $execs executions, ${SECONDS_PER_TARGET}s fuzzing (${took}s wall with corpus load), corpus $corpus, sanitizer $SANITIZER, $(date -u +%FT%TZ)"
    echo "$line"
    echo "$line" >> logs/summary.txt
done
exit "$status"
