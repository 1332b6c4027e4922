//! Statistical constant-time check with dudect (Welch's t-test on timing
//! distributions of two input classes), from the repository's root:
//! `cargo bench --manifest-path benches/Cargo.toml --bench ct_dudect [FILTER]`.
//!
//! Each bench takes 1,200,000 samples (dudect reports the n of the cropped test with
//! the largest |t|, so about a million). |t| < 4.5 means no timing difference between
//! the classes was detected. `leaky_compare` is a deliberately early-exit comparison
//! on the same inputs as `signature_position`: it must show a large |t|, proving the
//! harness can see a leak of this size on this machine.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use dudect_bencher::ctbench::{BenchMetadata, BenchName, BenchOpts, run_benches_console};
use dudect_bencher::rand::RngExt;
use dudect_bencher::{BenchRng, Class, CtRunner};
use nexio_webhooks::{BearerToken, Secret, Signer, Verifier, sample};

const T: i64 = 1_774_180_800;
const SAMPLES: usize = 1_200_000;

/// Samples per bench: `SAMPLES`, or `DUDECT_SAMPLES` from the environment (a real
/// leak's |t| grows with the square root of the sample count; noise does not).
fn samples() -> usize {
    std::env::var("DUDECT_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SAMPLES)
}
const POOL: usize = 1024;
const TOKEN: &str = "tok-0123456789abcdef0123456789abcdef";

fn valid_signature() -> String {
    let secret = Secret::new("whsec_abc123def456").unwrap();
    Signer::new(secret)
        .signatures(T, sample::RUN_COMPLETED.as_bytes())
        .remove(0)
}

/// Left: the valid signature with its **last** byte replaced by a random different
/// value. Right: the valid signature with its **first** byte replaced likewise. Both
/// classes vary from sample to sample and live in pools of `POOL` separate
/// allocations, so the only systematic difference between them is where the
/// presented signature first differs from the expected one (a fixed Left input
/// against random Right inputs shows up as a spurious |t| of 10–20 from caching and
/// branch prediction alone).
fn signature_inputs(rng: &mut BenchRng) -> (Vec<String>, Vec<String>) {
    let valid = hex::decode(valid_signature()).unwrap();
    let mut one = |index: usize| {
        let mut sig = valid.clone();
        sig[index] ^= rng.random_range(1..=255u8);
        format!("t={T},v1={}", hex::encode(sig))
    };
    // Allocated alternately, so neither class gets the "better" memory.
    let (mut left, mut right) = (Vec::with_capacity(POOL), Vec::with_capacity(POOL));
    for _ in 0..POOL {
        left.push(one(31));
        right.push(one(0));
    }
    (left, right)
}

fn classes(rng: &mut BenchRng) -> Vec<(Class, usize)> {
    (0..samples())
        .map(|_| {
            let class = if rng.random::<bool>() {
                Class::Left
            } else {
                Class::Right
            };
            (class, rng.random_range(0..POOL))
        })
        .collect()
}

/// A full `verify_at` of a signature near the valid one vs random ones.
fn signature_position(runner: &mut CtRunner, rng: &mut BenchRng) {
    let verifier = Verifier::new(Secret::new("whsec_abc123def456").unwrap());
    let body = sample::RUN_COMPLETED.as_bytes();
    let (left, right) = signature_inputs(rng);
    // Every measurement reads its input from the same buffer: the two classes' pools
    // live at different addresses, and cache placement must not pass for a leak.
    let mut buf = [0u8; 128];
    for (class, i) in classes(rng) {
        let header = match class {
            Class::Left => left[i].as_bytes(),
            Class::Right => right[i].as_bytes(),
        };
        buf[..header.len()].copy_from_slice(header);
        let headers = [("x-nexio-signature", &buf[..header.len()])];
        runner.run_one(class, || verifier.verify_at(&headers, body, T).is_ok());
    }
}

/// A full `verify_at` with a valid signature and a bearer token that differs from
/// the configured one in its last character (Left) vs its first character (Right),
/// the replacement character random in both.
fn bearer_token(runner: &mut CtRunner, rng: &mut BenchRng) {
    let secret = Secret::new("whsec_abc123def456").unwrap();
    let verifier = Verifier::new(secret).with_bearer_token(BearerToken::new(TOKEN).unwrap());
    let body = sample::RUN_COMPLETED.as_bytes();
    let sig = format!("t={T},v1={}", valid_signature());
    let mut one = |index: usize| {
        let mut tok = TOKEN.as_bytes().to_vec();
        let mut c = tok[index];
        while c == tok[index] {
            c = b'a' + rng.random_range(0..26u8);
        }
        tok[index] = c;
        format!("Bearer {}", String::from_utf8(tok).unwrap())
    };
    let (mut left, mut right) = (Vec::with_capacity(POOL), Vec::with_capacity(POOL));
    for _ in 0..POOL {
        left.push(one(TOKEN.len() - 1));
        right.push(one(0));
    }
    let mut buf = [0u8; 128];
    for (class, i) in classes(rng) {
        let auth = match class {
            Class::Left => left[i].as_bytes(),
            Class::Right => right[i].as_bytes(),
        };
        buf[..auth.len()].copy_from_slice(auth);
        let headers = [
            ("x-nexio-signature", sig.as_bytes()),
            ("authorization", &buf[..auth.len()]),
        ];
        runner.run_one(class, || verifier.verify_at(&headers, body, T).is_ok());
    }
}

/// The harness's control: an early-exit byte comparison of the same hex strings
/// against the valid signature. It must leak.
fn leaky_compare(runner: &mut CtRunner, rng: &mut BenchRng) {
    let valid = format!("t={T},v1={}", valid_signature());
    let (left, right) = signature_inputs(rng);
    #[inline(never)]
    fn early_exit_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        for (x, y) in a.iter().zip(b) {
            if x != y {
                return false;
            }
        }
        true
    }
    let mut buf = [0u8; 128];
    for (class, i) in classes(rng) {
        let header = match class {
            Class::Left => left[i].as_bytes(),
            Class::Right => right[i].as_bytes(),
        };
        buf[..header.len()].copy_from_slice(header);
        let header = &buf[..header.len()];
        runner.run_one(class, || {
            early_exit_eq(
                std::hint::black_box(header),
                std::hint::black_box(valid.as_bytes()),
            )
        });
    }
}

/// `ctbench_main!` would hand the arguments to clap, which refuses the `--bench` that
/// `cargo bench` passes; this main ignores flags and takes a bare word as a filter.
fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let bench = |name, benchfn| BenchMetadata {
        name: BenchName(name),
        seed: None,
        benchfn,
    };
    let benches = vec![
        bench("signature_position", signature_position),
        bench("bearer_token", bearer_token),
        bench("leaky_compare", leaky_compare),
    ];
    let opts = BenchOpts {
        continuous: false,
        filter,
        file_out: None,
    };
    run_benches_console(opts, benches).unwrap();
}
