//! `verify_at` of a verifier built from endpoints allocates nothing either: the
//! endpoint's checks against the signed body (strict mode, eagerly; otherwise when
//! `mismatches` is asked) walk the verified bytes in place. Counted by a global
//! allocator; this file holds a single test so no other test thread allocates while
//! it counts.
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

use nexio_webhooks::{Endpoint, Environment, Secret, Signer, Verifier, VerifyError, sample};

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
fn endpoint_checks_allocate_nothing() {
    const T: i64 = 1_774_180_800;
    let live = Secret::new("whsec_abc123def456").unwrap();
    let test = Secret::new("whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG").unwrap();
    let endpoints = [
        Endpoint::new("wh_live")
            .with_environment(Environment::Live)
            .with_events(["run.completed"])
            .with_secret(live.clone()),
        Endpoint::new("wh_test")
            .with_environment(Environment::Test)
            .with_events(["run.completed", "run.failed"])
            .with_secret(test),
    ];
    let lenient = Verifier::for_endpoints(&endpoints).unwrap();
    let strict = lenient.clone().with_strict(true);
    let signer = Signer::new(live);
    let good = signer.delivery(sample::RUN_COMPLETED).timestamp(T).build();
    let wrong = sample::RUN_COMPLETED.replace(r#""environment":"live""#, r#""environment":"test""#);
    let wrong = signer.delivery(wrong).timestamp(T).build();
    let (good_map, wrong_map) = (good.header_map(), wrong.header_map());

    let _ = strict.verify_at(&good_map, good.body(), T);

    let (ok, n) = count(|| {
        strict
            .verify_at(&good_map, good.body(), T)
            .map(|v| v.endpoint_id().map(str::len))
    });
    assert_eq!(ok, Ok(Some(7)));
    assert_eq!(n, 0, "strict success allocated {n} times");

    let (err, n) = count(|| strict.verify_at(&wrong_map, wrong.body(), T).map(|_| ()));
    assert_eq!(err, Err(VerifyError::EnvironmentMismatch));
    assert_eq!(n, 0, "strict refusal allocated {n} times");

    let (m, n) = count(|| {
        lenient
            .verify_at(&wrong_map, wrong.body(), T)
            .map(|v| v.mismatches().environment_mismatch())
    });
    assert_eq!(m, Ok(true));
    assert_eq!(n, 0, "lenient report allocated {n} times");

    let (_, n) = count(|| std::hint::black_box(vec![1u8; 10]));
    assert!(n >= 1);
}
