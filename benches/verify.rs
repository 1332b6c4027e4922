//! The verify path against the raw HMAC floor and the peer libraries, side by side in
//! one run. Ratios of medians are what count (see `bench_report.rs`); absolute times on
//! a shared machine are noise. From the repository's root:
//!
//! ```sh
//! cargo bench --manifest-path benches/Cargo.toml --bench verify -- --warm-up-time 1 --measurement-time 3
//! cargo run --manifest-path benches/Cargo.toml --bin bench_report
//! ```
//!
//! Groups (names are read by tooling; keep them):
//! - `verify/<size>`: `nexio` (our `verify_at`, end to end, on a realistic delivery
//!   with every `X-Nexio-*` header, no JSON parse), `hmac_floor`, `compress_floor`
//!   (SHA-256's compression function over exactly the blocks the HMAC needs, and
//!   nothing else), `naive`, `svix`,
//!   `standardwebhooks`, `stripe` (async-stripe's `construct_event_with_timestamp`,
//!   which always parses the event), and `nexio_typed` (our `verify_at` + typed event
//!   parse: the like-for-like comparison for `stripe`), and the diagnostic
//!   `nexio_signature_only` (`verify_at` given only `X-Nexio-Signature`);
//! - `sign/<size>`: our `Signer` vs `hmac_floor`;
//! - `reject/1MiB`: 16 forged `v1` entries on a 1 MiB body, 1 and 2 secrets;
//! - `event/<size>`: `verify_at` + typed parse vs `verify_at` + `serde_json::Value`.
//!
//! Under `cargo test --benches` every routine runs once, after the setup asserts that
//! each library accepts (or, for `reject`, refuses) what it is given.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderValue};
use sha2::Sha256;

use nexio_webhooks::{Secret, Signer, Verifier, VerifyError};

/// One secret string for every library. It is `whsec_` + base64 (32 bytes), so svix
/// and Standard Webhooks (which base64-decode after the prefix) accept it as is; Nexio
/// and Stripe key the HMAC with the whole string. Either way the key is shorter than
/// one SHA-256 block, so the HMAC costs the same.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwQm3ET1R5bXo=";
/// A second secret, for the rotation case of `reject/1MiB`.
const SECRET_OLD: &str = "whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG";
/// Signing time of the Nexio and Stripe deliveries; they are verified at `NOW`.
const T: i64 = 1_774_180_800;
const NOW: i64 = T + 2;

const SIZES: [(&str, usize); 4] = [
    ("256B", 256),
    ("1KiB", 1024),
    ("16KiB", 16 * 1024),
    ("256KiB", 256 * 1024),
];

const EVENT_ID: &str = "evt_01JQ7R2M4X9K3T5V8B6N1C0D2E";
const RUN_ID: &str = "3f8e2a1c-7b4d-4e9f-a6c2-1d5b8e7f9a03";
const FILLER: &str = "no test exercises the retry path when the upstream times out; ";

// ---------------------------------------------------------------------------------
// Payloads of an exact size
// ---------------------------------------------------------------------------------

/// A `data.run` object of exactly `n` bytes: the full shape (output with gaps, ranked
/// solutions) when it fits, else the required fields plus a short output. The
/// remainder is prose in `output.summary`.
fn run_object(n: usize) -> String {
    let build = |k: usize, fill: &str| -> String {
        if k == 0 {
            return format!(
                r#"{{"run_id":"{RUN_ID}","created_at":"2026-03-22T11:58:41.027Z","output":{{"summary":"{fill}"}}}}"#
            );
        }
        let gaps: Vec<String> = (0..k)
            .map(|i| {
                format!(
                    r#"{{"requirement":"REQ-{i:03}","severity":"high","detail":"no test exercises the retry path"}}"#
                )
            })
            .collect();
        let labels = ["recommended", "best_value", "best_coverage", "simplest"];
        let solutions: Vec<String> = (0..k)
            .map(|i| {
                format!(
                    r#"{{"rank":{},"cluster_label":"{}","score":0.{:02},"title":"Add a retry-path integration test"}}"#,
                    i + 1,
                    labels[i % labels.len()],
                    99 - i % 90
                )
            })
            .collect();
        format!(
            r#"{{"run_id":"{RUN_ID}","status":"completed","environment":"live","created_at":"2026-03-22T11:58:41.027Z","completed_at":"2026-03-22T12:00:04.913Z","engine_version":"1.3","stage":"EVALUATE","duration_ms":83886,"output":{{"summary":"{fill}","coverage":0.75,"gaps":[{}]}},"solutions":[{}]}}"#,
            gaps.join(","),
            solutions.join(",")
        )
    };
    // About one gap and one solution per 400 bytes; none if even one does not fit.
    let mut k = (n / 400).max(1);
    while k > 0 && build(k, "").len() > n {
        k -= 1;
    }
    let base = build(k, "").len();
    assert!(base <= n, "a run object cannot be as small as {n} bytes");
    let fill: String = FILLER.chars().cycle().take(n - base).collect();
    let out = build(k, &fill);
    assert_eq!(out.len(), n);
    out
}

/// A Nexio `run.completed` event of exactly `size` bytes (`id`, `type`,
/// `webhook_version` first, as Nexio sends them).
fn nexio_body(size: usize) -> Vec<u8> {
    let wrap = |run: &str| {
        format!(
            r#"{{"id":"{EVENT_ID}","type":"run.completed","webhook_version":"2026-03-22","data":{{"run":{run}}}}}"#
        )
    };
    let overhead = wrap("").len();
    let body = wrap(&run_object(size - overhead)).into_bytes();
    assert_eq!(body.len(), size);
    body
}

/// The same run in a Stripe event envelope, exactly `size` bytes. The type is not one
/// of Stripe's, so async-stripe keeps `data.object` as a generic JSON value.
fn stripe_body(size: usize) -> String {
    let wrap = |run: &str| {
        format!(
            r#"{{"id":"{EVENT_ID}","created":{T},"livemode":true,"pending_webhooks":1,"type":"run.completed","data":{{"object":{run}}}}}"#
        )
    };
    let overhead = wrap("").len();
    let body = wrap(&run_object(size - overhead));
    assert_eq!(body.len(), size);
    body
}

// ---------------------------------------------------------------------------------
// The floor and the naive implementation
// ---------------------------------------------------------------------------------

/// The floor: a pre-keyed HMAC state cloned and fed `t`, `.`, body. No parsing, no
/// comparison.
#[derive(Clone)]
struct Floor(Hmac<Sha256>);

impl Floor {
    fn new(secret: &str) -> Self {
        Self(Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap())
    }

    #[inline(never)]
    fn mac(&self, t: &[u8], body: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(t);
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// The physical floor: SHA-256's compression function (`sha2::block_api::compress256`,
/// the code under both `hmac` and `nexio`) over exactly the blocks an HMAC of `t.body`
/// needs, prepared in advance — the inner blocks (message and padding) from the
/// pre-keyed inner state, then the one outer block built from the inner result — and
/// nothing else: no buffering, no copying of the message, no parsing, no comparison.
struct CompressFloor {
    inner: [u32; 8],
    outer: [u32; 8],
    /// `t`, `.`, body, `0x80`, zeros, the length in bits: whole blocks.
    blocks: Vec<[u8; 64]>,
}

impl CompressFloor {
    fn new(secret: &str, t: &[u8], body: &[u8]) -> Self {
        use sha2::Digest;
        let state_after = |pad: u8| {
            let mut block = [pad; 64];
            let key = secret.as_bytes();
            let key: Vec<u8> = if key.len() > 64 {
                sha2::Sha256::digest(key).to_vec()
            } else {
                key.to_vec()
            };
            for (b, k) in block.iter_mut().zip(&key) {
                *b ^= k;
            }
            let mut state = SHA256_IV;
            sha2::block_api::compress256(&mut state, &[block]);
            state
        };
        let mut message = Vec::with_capacity(t.len() + 1 + body.len() + 72);
        message.extend_from_slice(t);
        message.push(b'.');
        message.extend_from_slice(body);
        let bits = ((64 + message.len()) as u64) * 8;
        message.push(0x80);
        while message.len() % 64 != 56 {
            message.push(0);
        }
        message.extend_from_slice(&bits.to_be_bytes());
        let blocks = message
            .chunks_exact(64)
            .map(|c| <[u8; 64]>::try_from(c).unwrap())
            .collect();
        Self {
            inner: state_after(0x36),
            outer: state_after(0x5c),
            blocks,
        }
    }

    #[inline(never)]
    fn mac(&self, blocks: &[[u8; 64]]) -> [u32; 8] {
        let mut inner = self.inner;
        sha2::block_api::compress256(&mut inner, blocks);
        let mut block = [0u8; 64];
        for (chunk, word) in block.chunks_exact_mut(4).zip(inner) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        block[32] = 0x80;
        block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
        let mut outer = self.outer;
        sha2::block_api::compress256(&mut outer, &[block]);
        outer
    }

    /// The MAC as bytes, to check the floor computes what `hmac` computes.
    fn digest(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.mac(&self.blocks)) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// What most hand-written receivers do: split the header, build the key per call,
/// concatenate `t.body` into a new buffer, hex-encode the MAC, compare strings.
#[inline(never)]
fn naive(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let Ok(ts) = t.parse::<i64>() else {
        return false;
    };
    if (now - ts).abs() > 300 {
        return false;
    }
    let mut message = Vec::new();
    message.extend_from_slice(t.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&message);
    let expected = hex::encode(mac.finalize().into_bytes());
    sigs.iter().any(|s| *s == expected)
}

// ---------------------------------------------------------------------------------
// Deliveries
// ---------------------------------------------------------------------------------

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A realistic Nexio delivery: every header Nexio sends (`Content-Type`,
/// `User-Agent`, and all `X-Nexio-*`), as the `http::HeaderMap` axum or hyper hands a
/// handler.
fn nexio_delivery(body: &[u8]) -> HeaderMap {
    Signer::new(Secret::new(SECRET).unwrap())
        .delivery(body.to_vec())
        .timestamp(T)
        .delivery_id("5b0c8f0e-3a41-4a8e-9d55-2f7e9b1c4d60")
        .build()
        .header_map()
}

fn common_headers(map: &mut HeaderMap) {
    map.insert("content-type", HeaderValue::from_static("application/json"));
    map.insert("user-agent", HeaderValue::from_static("Nexio-Webhooks/1.0"));
}

/// A Standard Webhooks delivery signed by svix's own `sign`, timestamped now (svix
/// reads the clock and has no `now` parameter).
fn svix_delivery(wh: &svix::webhooks::Webhook, body: &[u8], names: [&'static str; 3]) -> HeaderMap {
    let ts = unix_now();
    let id = "msg_2Lx7cK9yWq3vN5bR8tF1hJ4mP6d";
    let sig = wh.sign(id, ts, body).unwrap();
    let mut map = HeaderMap::new();
    common_headers(&mut map);
    map.insert(names[0], HeaderValue::from_static(id));
    map.insert(names[1], HeaderValue::from_str(&ts.to_string()).unwrap());
    map.insert(names[2], HeaderValue::from_str(&sig).unwrap());
    map
}

fn standardwebhooks_delivery(wh: &standardwebhooks::Webhook, body: &[u8]) -> HeaderMap {
    let ts = unix_now();
    let id = "msg_2Lx7cK9yWq3vN5bR8tF1hJ4mP6d";
    let sig = wh.sign(id, ts, body).unwrap();
    let mut map = HeaderMap::new();
    common_headers(&mut map);
    map.insert(
        standardwebhooks::HEADER_WEBHOOK_ID,
        HeaderValue::from_static(id),
    );
    map.insert(
        standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
        HeaderValue::from_str(&ts.to_string()).unwrap(),
    );
    map.insert(
        standardwebhooks::HEADER_WEBHOOK_SIGNATURE,
        HeaderValue::from_str(&sig).unwrap(),
    );
    map
}

fn group<'c>(c: &'c mut Criterion, name: &str, bytes: usize) -> BenchmarkGroup<'c, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(bytes as u64));
    g
}

fn signature_header(map: &HeaderMap) -> &str {
    map.get("x-nexio-signature").unwrap().to_str().unwrap()
}

// ---------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------

fn verify(c: &mut Criterion) {
    for (label, size) in SIZES {
        let body = nexio_body(size);
        let t_text = T.to_string();

        let verifier = Verifier::new(Secret::new(SECRET).unwrap());
        let map = nexio_delivery(&body);
        let header = signature_header(&map).to_owned();
        // Diagnostic: the same delivery with only `X-Nexio-Signature`, to show what
        // the unsigned-header checks (four more lookups, the top-level scan) cost.
        let mut signature_only = HeaderMap::new();
        signature_only.insert("x-nexio-signature", HeaderValue::from_str(&header).unwrap());
        let floor = Floor::new(SECRET);
        let compress = CompressFloor::new(SECRET, t_text.as_bytes(), &body);
        assert_eq!(compress.digest(), floor.mac(t_text.as_bytes(), &body));

        let svix_wh = svix::webhooks::Webhook::new(SECRET).unwrap();
        let svix_map = svix_delivery(
            &svix_wh,
            &body,
            ["svix-id", "svix-timestamp", "svix-signature"],
        );
        let sw = standardwebhooks::Webhook::new(SECRET).unwrap();
        let sw_map = standardwebhooks_delivery(&sw, &body);

        let stripe_payload = stripe_body(size);
        let stripe_header =
            stripe_webhook::Webhook::generate_test_header(&stripe_payload, SECRET, Some(T));

        // Everyone accepts what they are given (also checked under `cargo test --benches`).
        assert!(verifier.verify_at(&map, &body, NOW).is_ok());
        let verified = verifier.verify_at(&map, &body, NOW).unwrap();
        assert!(
            verified.mismatches().is_empty(),
            "{:?}",
            verified.mismatches()
        );
        assert!(verified.event().is_ok());
        assert!(verifier.verify_at(&signature_only, &body, NOW).is_ok());
        assert!(naive(SECRET, &header, &body, NOW));
        assert!(svix_wh.verify(&body, &svix_map).is_ok());
        assert!(sw.verify(&body, &sw_map).is_ok());
        let stripe_event = stripe_webhook::Webhook::construct_event_with_timestamp(
            &stripe_payload,
            &stripe_header,
            SECRET,
            NOW,
        );
        assert!(stripe_event.is_ok(), "{:?}", stripe_event.err());

        let mut g = group(c, &format!("verify/{label}"), size);
        g.bench_function("nexio", |b| {
            b.iter(|| black_box(verifier.verify_at(black_box(&map), black_box(&body), NOW)).is_ok())
        });
        g.bench_function("hmac_floor", |b| {
            b.iter(|| floor.mac(black_box(t_text.as_bytes()), black_box(&body)))
        });
        g.bench_function("compress_floor", |b| {
            b.iter(|| compress.mac(black_box(&compress.blocks)))
        });
        g.bench_function("nexio_signature_only", |b| {
            b.iter(|| {
                verifier
                    .verify_at(black_box(&signature_only), black_box(&body), NOW)
                    .is_ok()
            })
        });
        g.bench_function("naive", |b| {
            b.iter(|| naive(SECRET, black_box(&header), black_box(&body), NOW))
        });
        g.bench_function("svix", |b| {
            b.iter(|| {
                svix_wh
                    .verify(black_box(&body), black_box(&svix_map))
                    .is_ok()
            })
        });
        g.bench_function("standardwebhooks", |b| {
            b.iter(|| sw.verify(black_box(&body), black_box(&sw_map)).is_ok())
        });
        g.bench_function("stripe", |b| {
            b.iter(|| {
                stripe_webhook::Webhook::construct_event_with_timestamp(
                    black_box(&stripe_payload),
                    black_box(&stripe_header),
                    SECRET,
                    NOW,
                )
                .is_ok()
            })
        });
        g.bench_function("nexio_typed", |b| {
            b.iter(|| {
                verifier
                    .verify_at(black_box(&map), black_box(&body), NOW)
                    .map(|v| v.event().is_ok())
            })
        });
        g.finish();
    }
}

fn sign(c: &mut Criterion) {
    for (label, size) in SIZES {
        let body = nexio_body(size);
        let signer = Signer::new(Secret::new(SECRET).unwrap());
        let floor = Floor::new(SECRET);
        let t_text = T.to_string();
        assert!(
            Verifier::new(Secret::new(SECRET).unwrap())
                .verify_signature_at(signer.signature_header(T, &body).as_bytes(), &body, NOW)
                .is_ok()
        );

        let mut g = group(c, &format!("sign/{label}"), size);
        g.bench_function("nexio", |b| {
            b.iter(|| signer.signature_header(black_box(T), black_box(&body)))
        });
        g.bench_function("hmac_floor", |b| {
            b.iter(|| floor.mac(black_box(t_text.as_bytes()), black_box(&body)))
        });
        g.finish();
    }
}

fn reject(c: &mut Criterion) {
    const MIB: usize = 1024 * 1024;
    let body = nexio_body(MIB);
    // A real delivery's headers, with the signature replaced by 16 well-formed `v1`
    // entries of which none matches: the most hashing a forger can make us do.
    let mut map = nexio_delivery(&body);
    let forged: String = (0..16u8)
        .map(|i| format!(",v1={}", hex::encode([i.wrapping_mul(37) ^ 0x5a; 32])))
        .collect();
    map.insert(
        "x-nexio-signature",
        HeaderValue::from_str(&format!("t={T}{forged}")).unwrap(),
    );
    let one = Verifier::new(Secret::new(SECRET).unwrap());
    let two = Verifier::new(Secret::new(SECRET).unwrap())
        .with_secret_expiring(Secret::new(SECRET_OLD).unwrap(), T + 86_400);
    assert_eq!(
        one.verify_at(&map, &body, NOW).err(),
        Some(VerifyError::SignatureMismatch)
    );
    assert_eq!(
        two.verify_at(&map, &body, NOW).err(),
        Some(VerifyError::SignatureMismatch)
    );
    let floor = Floor::new(SECRET);
    let t_text = T.to_string();

    let mut g = group(c, "reject/1MiB", MIB);
    g.sample_size(20);
    g.bench_function("forged16_1secret", |b| {
        b.iter(|| {
            one.verify_at(black_box(&map), black_box(&body), NOW)
                .is_err()
        })
    });
    g.bench_function("forged16_2secrets", |b| {
        b.iter(|| {
            two.verify_at(black_box(&map), black_box(&body), NOW)
                .is_err()
        })
    });
    g.bench_function("hmac_floor", |b| {
        b.iter(|| floor.mac(black_box(t_text.as_bytes()), black_box(&body)))
    });
    g.finish();
}

fn event(c: &mut Criterion) {
    for (label, size) in SIZES {
        let body = nexio_body(size);
        let verifier = Verifier::new(Secret::new(SECRET).unwrap());
        let map = nexio_delivery(&body);
        let floor = Floor::new(SECRET);
        let t_text = T.to_string();
        let verified = verifier.verify_at(&map, &body, NOW).unwrap();
        let run = verified.event().unwrap();
        assert!(run.run().is_some_and(|r| r.output.is_some()));
        assert!(verified.json::<serde_json::Value>().is_ok());

        let mut g = group(c, &format!("event/{label}"), size);
        g.bench_function("typed", |b| {
            b.iter(|| {
                verifier
                    .verify_at(black_box(&map), black_box(&body), NOW)
                    .map(|v| v.event().is_ok())
            })
        });
        g.bench_function("value", |b| {
            b.iter(|| {
                verifier
                    .verify_at(black_box(&map), black_box(&body), NOW)
                    .map(|v| v.json::<serde_json::Value>().is_ok())
            })
        });
        g.bench_function("hmac_floor", |b| {
            b.iter(|| floor.mac(black_box(t_text.as_bytes()), black_box(&body)))
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    // Short defaults for a shared 2-core machine; command-line flags override them.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = verify, sign, reject, event
}
criterion_main!(benches);
