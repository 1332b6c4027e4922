#!/usr/bin/env bash
# The library in WebAssembly runtimes: builds the wasm module (release, stripped),
# runs every known-answer vector and adversarial case in it under Node, then the
# Worker under workerd over real HTTP. Installs what it needs: the wasm32 target, the
# wasm-bindgen command of the pinned version, workerd from npm (package-lock.json).
set -euo pipefail
cd "$(dirname "$0")"

jobs=${CARGO_BUILD_JOBS:-2}
version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)
if [ -z "$version" ]; then
    echo "no exact wasm-bindgen version in wasm/Cargo.toml" >&2
    exit 1
fi

rustup target add wasm32-unknown-unknown
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $version" ]; then
    start=$SECONDS
    cargo install --locked --version "$version" wasm-bindgen-cli -j "$jobs"
    echo "wasm-bindgen-cli $version installed in $((SECONDS - start)) s"
fi

# Without the `wasm` feature the clock-reading functions do not exist on this target:
# a crate calling `verify_at` builds there, the same crate calling `verify` does not.
# (It shares the target directory of the clippy run below, which reuses its deps.)
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
mkdir "$probe/src"
cat >"$probe/Cargo.toml" <<TOML
[package]
name = "clockless-probe"
version = "0.0.0"
edition = "2024"
publish = false
[workspace]
[dependencies]
nexio-webhooks = { path = "$PWD/.." }
TOML
probe_src() {
    cat >"$probe/src/lib.rs" <<RUST
pub fn probe(v: &nexio_webhooks::Verifier, h: &[(&str, &str)], b: &[u8]) -> bool {
    v.$1.is_ok()
}
RUST
}
probe_check() {
    CARGO_TARGET_DIR="$PWD/target" cargo check -q --manifest-path "$probe/Cargo.toml" \
        --target wasm32-unknown-unknown -j "$jobs" 2>"$probe/err"
}
probe_src "verify_at(h, b, 1_774_180_800)"
probe_check || { cat "$probe/err" >&2; exit 1; }
probe_src "verify(h, b)"
if probe_check; then
    echo "Verifier::verify compiled on wasm32-unknown-unknown without a clock" >&2
    exit 1
fi
grep -q "no method named \`verify\` found" "$probe/err" || { cat "$probe/err" >&2; exit 1; }
echo "wasm32-unknown-unknown without the wasm feature: verify_at builds, verify is a compile error"

cargo clippy --lib --target wasm32-unknown-unknown -j "$jobs" -- -D warnings

cargo build --release --target wasm32-unknown-unknown -j "$jobs"
core=target/wasm32-unknown-unknown/release/nexio_webhooks_wasm.wasm
rm -rf pkg
wasm-bindgen --target web --out-dir pkg "$core"
module=pkg/nexio_webhooks_wasm_bg.wasm
echo "wasm size: $(wc -c <"$core") bytes from cargo, $(wc -c <"$module") after wasm-bindgen, $(gzip -9 -c "$module" | wc -c) gzipped"

node test/vectors.mjs

(cd worker && npm ci --no-audit --no-fund)
node test/worker.mjs
