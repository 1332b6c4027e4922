//! `verify_at` allocates nothing, on the success path and on the
//! `signature_mismatch` path, with a realistic delivery (all `X-Nexio-*` headers,
//! rotation, bearer token). Counted by a global allocator; this file holds a single
//! test so no other test thread allocates while it counts.
#![cfg(feature = "std")]
// The counting allocator is the only unsafe code in the project (the library forbids it).
#![allow(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use nexio_webhooks::{BearerToken, Secret, Signer, Verifier, VerifyError, sample};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let r = f();
    (r, ALLOCATIONS.load(Ordering::SeqCst) - before)
}

#[test]
fn verify_at_allocates_nothing() {
    const T: i64 = 1_774_180_800;
    let new = Secret::new("whsec_abc123def456").unwrap();
    let old = Secret::new("whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG").unwrap();
    let verifier = Verifier::new(new.clone())
        .with_secret_expiring(old.clone(), T + 86_400)
        .with_bearer_token(BearerToken::new("tok-123").unwrap());
    let delivery = Signer::new(old)
        .with_secret(new)
        .delivery(sample::RUN_COMPLETED)
        .timestamp(T)
        .bearer_token("tok-123")
        .build();
    let map = delivery.header_map();
    let body = delivery.body().to_vec();
    let mut tampered = body.clone();
    tampered[20] ^= 1;

    // Warm up anything lazily initialised (none expected, but be fair).
    let _ = verifier.verify_at(&map, &body, T);

    let (ok, n) = count(|| verifier.verify_at(&map, &body, T).map(|v| v.timestamp()));
    assert_eq!(ok, Ok(T));
    assert_eq!(n, 0, "success path allocated {n} times");

    let (ok, n) = count(|| verifier.verify_at(&delivery, &body, T).map(|v| v.skew()));
    assert_eq!(ok, Ok(0));
    assert_eq!(n, 0, "success path (pair headers) allocated {n} times");

    let (err, n) = count(|| {
        verifier
            .verify_at(&map, &tampered, T)
            .map(|v| v.timestamp())
    });
    assert_eq!(err, Err(VerifyError::SignatureMismatch));
    assert_eq!(n, 0, "mismatch path allocated {n} times");

    let (key, n) = count(|| {
        verifier
            .verify_at(&map, &body, T)
            .map(|v| v.dedupe_key().map(|k| k.len()))
    });
    assert!(matches!(key, Ok(Ok(30))));
    assert_eq!(n, 0, "dedupe key allocated {n} times");

    // The counter does see allocations (the test can fail).
    let (_, n) = count(|| std::hint::black_box(vec![1u8; 10]));
    assert!(n >= 1);
}
