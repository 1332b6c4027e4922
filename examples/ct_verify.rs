//! One full `verify_at`, for the constant-time check in `.ci/ct-callgrind.sh`.
//!
//! `cargo run --release --example ct_verify -- <case>` where `<case>` is one of
//! `sig-valid`, `sig-first`, `sig-last`, `bearer-first`, `bearer-last`. The
//! `sig-*` cases present a signature differing from the valid one in its first or
//! last byte; the `bearer-*` cases a bearer token differing in its first or last
//! byte (with a valid signature). Everything is prepared before the call to
//! [`measured`], which callgrind counts alone (`--toggle-collect`), so the
//! instruction counts of the two cases of a pair must be equal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use nexio_webhooks::{BearerToken, Secret, Signer, Verifier, VerifyError, sample};

const T: i64 = 1_774_180_800;
const TOKEN: &str = "tok-0123456789abcdef0123456789abcdef";

/// The only code callgrind counts: one full verification.
#[inline(never)]
fn measured(
    verifier: &Verifier,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<i64, VerifyError> {
    verifier.verify_at(headers, body, T).map(|v| v.timestamp())
}

/// Changes the first or last byte of `hex`'s decoded value (both of its hex digits).
fn flip_hex_byte(hex: &str, last: bool) -> String {
    let mut bytes = hex::decode(hex).unwrap();
    let i = if last { bytes.len() - 1 } else { 0 };
    bytes[i] ^= 0xff;
    hex::encode(bytes)
}

fn flip_char(s: &str, last: bool) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = if last { b.len() - 1 } else { 0 };
    b[i] = if b[i] == b'X' { b'Y' } else { b'X' };
    String::from_utf8(b).unwrap()
}

fn main() {
    // The case name arrives padded to a fixed width (see .ci/ct-callgrind.sh), so every
    // run has the same argv size and therefore the same stack layout: glibc's memcpy
    // takes alignment-dependent paths, and a one-byte longer name could shift the
    // stack and change the count by a few instructions that have nothing to do with
    // the inputs.
    let case = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sig-valid".into())
        .trim()
        .to_owned();
    let secret = Secret::new("whsec_abc123def456").unwrap();
    let body = sample::RUN_COMPLETED.as_bytes();
    let valid = Signer::new(secret.clone()).signatures(T, body).remove(0);
    let verifier = Verifier::new(secret).with_bearer_token(BearerToken::new(TOKEN).unwrap());
    // Every variant is built in every run, in the same order, so the heap layout is
    // the same whichever case is measured.
    let variants = [
        ("sig-valid", (valid.clone(), TOKEN.to_owned())),
        (
            "sig-first",
            (flip_hex_byte(&valid, false), TOKEN.to_owned()),
        ),
        ("sig-last", (flip_hex_byte(&valid, true), TOKEN.to_owned())),
        ("bearer-first", (valid.clone(), flip_char(TOKEN, false))),
        ("bearer-last", (valid.clone(), flip_char(TOKEN, true))),
    ];
    let (signature, token) = variants
        .iter()
        .find(|(name, _)| *name == case)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("unknown case {case}"));
    let headers = vec![
        ("X-Nexio-Signature", format!("t={T},v1={signature}")),
        ("Authorization", format!("Bearer {token}")),
        ("X-Nexio-Event", "run.completed".to_owned()),
        ("X-Nexio-Timestamp", T.to_string()),
        ("X-Nexio-Webhook-Version", "2026-03-22".to_owned()),
    ];
    let result = std::hint::black_box(measured(std::hint::black_box(&verifier), &headers, body));
    let expected_ok = case == "sig-valid";
    let code = match &result {
        Ok(_) => "accept",
        Err(e) => e.code(),
    };
    println!("{case}: {code}");
    assert_eq!(result.is_ok(), expected_ok, "{case}: {result:?}");
}
