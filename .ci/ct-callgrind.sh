#!/usr/bin/env bash
# Deterministic constant-time check: callgrind counts the instructions of one full
# `verify_at` (examples/ct_verify.rs, function `measured` only) for a signature that
# differs from the valid one in its first byte and one that differs in its last
# byte, and likewise for the bearer token. Each pair must execute exactly the same
# number of instructions. Installs valgrind with apt-get if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq valgrind
fi

cargo build --release --example ct_verify
bin=${CARGO_TARGET_DIR:-target}/release/examples/ct_verify
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Each case name is padded to 16 characters so every run has the same argv size, and
# so the same stack layout (glibc's memcpy has alignment-dependent paths).
ir() {
    valgrind --tool=callgrind --callgrind-out-file="$out/$1.out" \
        --toggle-collect='*ct_verify*measured*' "$bin" "$(printf '%-16s' "$1")" > "$out/$1.log" 2>&1 \
        || { cat "$out/$1.log"; exit 1; }
    # "summary: N" is the total of the collected events (Ir only by default).
    grep -E '^(summary|totals):' "$out/$1.out" | head -n1 | awk '{print $2}'
}

status=0
declare -A count
for c in sig-valid sig-first sig-last bearer-first bearer-last; do
    count[$c]=$(ir "$c")
    echo "$c: ${count[$c]} instructions in verify_at"
    if [ -z "${count[$c]}" ] || [ "${count[$c]}" -lt 1000 ]; then
        echo "callgrind collected nothing for $c: the toggle did not match" >&2
        status=1
    fi
done
for pair in "sig-first sig-last" "bearer-first bearer-last"; do
    set -- $pair
    if [ "${count[$1]}" = "${count[$2]}" ]; then
        echo "OK: $1 and $2 execute the same number of instructions (${count[$1]})"
    else
        echo "FAIL: $1 (${count[$1]}) and $2 (${count[$2]}) differ" >&2
        status=1
    fi
done
exit "$status"
