//! The server `flood` floods: one axum app on 127.0.0.1 behind `NexioWebhookLayer`,
//! with the receiver's defaults (1 MiB body limit, 64 MiB memory budget, 30 s
//! body-read deadline) and an in-memory replay guard.
//!
//! `POST /webhooks` verifies (the layer), then the handler records the event id as
//! processed and answers 200; `GET /health` answers `ok`; `GET /processed` lists the
//! processed event ids, one a line; `GET /heap` the bytes its allocations hold now
//! and at most (`<live> <peak>`), so `flood` can tell memory the process keeps from
//! pages the allocator has not handed back. Prints `listening on <addr>` once bound,
//! and exits when its stdin closes (so it never outlives `flood`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use nexio_webhooks::tower::NexioWebhookLayer;
use nexio_webhooks::{InMemoryReplayGuard, Receiver, Secret, Verifier};
use std::io::Read as _;

/// The secret the valid deliveries of `flood` are signed with.
const SECRET: &str = "whsec_abc123def456";

type Processed = Arc<Mutex<Vec<String>>>;

/// The system allocator, counting the bytes allocated and not yet freed.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed).saturating_add(by);
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` with the caller's arguments unchanged;
// the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

async fn handle(State(processed): State<Processed>, body: Bytes) -> StatusCode {
    let id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned));
    match id {
        Some(id) => {
            processed.lock().unwrap_or_else(|e| e.into_inner()).push(id);
            StatusCode::OK
        }
        None => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn list(State(processed): State<Processed>) -> String {
    let ids = processed.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = String::new();
    for id in ids.iter() {
        out.push_str(id);
        out.push('\n');
    }
    out
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let receiver = Receiver::new(Verifier::new(Secret::new(SECRET)?))
        .with_replay_guard(InMemoryReplayGuard::new(100_000));
    let processed = Processed::default();
    let app = Router::new()
        .route(
            "/webhooks",
            post(handle).route_layer(NexioWebhookLayer::new(receiver)),
        )
        .route("/health", get(|| async { "ok" }))
        .route("/processed", get(list))
        .route(
            "/heap",
            get(|| async {
                format!(
                    "{} {}",
                    LIVE.load(Ordering::Relaxed),
                    PEAK.load(Ordering::Relaxed)
                )
            }),
        )
        .with_state(processed);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
