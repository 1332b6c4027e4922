//! The axum adapter against a real axum server on 127.0.0.1 (ephemeral port), with a
//! real HTTP client (reqwest) and, where a polite client cannot send the request, a
//! raw TCP stream. The cases live in `common/` and run against actix-web too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::common;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use common::{Kind, MyEvent, Seen, Server};
use nexio_webhooks::axum::NexioWebhook;
use nexio_webhooks::{RawBody, Receiver};

/// Each route's state: its receiver (found through `FromRef`), what handlers saw,
/// and the route's path.
#[derive(Clone)]
struct AppState {
    receiver: Receiver,
    seen: Seen,
    path: String,
}

impl FromRef<AppState> for Receiver {
    fn from_ref(state: &AppState) -> Receiver {
        state.receiver.clone()
    }
}

async fn on_event(State(s): State<AppState>, hook: NexioWebhook) -> &'static str {
    s.seen.event(&s.path, &hook);
    hook.complete().await.unwrap();
    "ok"
}

async fn on_raw(State(s): State<AppState>, hook: NexioWebhook<RawBody>) -> &'static str {
    s.seen.raw(&s.path, &hook);
    hook.complete().await.unwrap();
    "ok"
}

async fn on_custom(State(s): State<AppState>, hook: NexioWebhook<MyEvent>) -> &'static str {
    s.seen.custom(&s.path, &hook);
    hook.complete().await.unwrap();
    "ok"
}

async fn on_flaky(State(s): State<AppState>, hook: NexioWebhook) -> (StatusCode, &'static str) {
    match s.seen.flaky(&s.path, hook).await {
        200 => (StatusCode::OK, "ok"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "failed"),
    }
}

async fn start() -> Server {
    let (routes, guard, counting) = common::routes();
    let seen = Seen::default();
    let mut app = Router::new();
    for route in routes {
        let state = AppState {
            receiver: route.receiver,
            seen: seen.clone(),
            path: route.path.clone(),
        };
        let method = match route.kind {
            Kind::Event => post(on_event),
            Kind::Raw => post(on_raw),
            Kind::Custom => post(on_custom),
            Kind::Flaky => post(on_flaky),
        };
        app = app.route(&route.path, method.with_state(state));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        addr,
        seen,
        guard,
        counting,
    }
}

/// The receiver can also be the router's whole state.
#[tokio::test]
async fn receiver_as_the_whole_state() {
    use nexio_webhooks::{Secret, Signer, Verifier, sample};
    async fn handler(hook: NexioWebhook) -> String {
        hook.event.id().to_owned()
    }
    let secret = Secret::new(common::SECRET).unwrap();
    let app = Router::new()
        .route("/webhooks", post(handler))
        .with_state(Receiver::new(Verifier::new(secret.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let d = Signer::new(secret).delivery(sample::RUN_COMPLETED).build();
    let mut req = common::client().post(format!("http://{addr}/webhooks"));
    for (n, v) in d.headers() {
        req = req.header(*n, v.as_str());
    }
    let res = req.body(d.body().to_vec()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "evt_01JQ7R2M4X9K3T5V8B6N1C0D2E");
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let server = start().await;
            common::$name(&server).await;
        }
    )*};
}

cases!(
    valid_run_completed,
    valid_run_failed,
    rotation_header,
    tampered_body,
    wrong_secret,
    stale,
    future,
    missing_signature,
    malformed_signature,
    oversized_content_length,
    oversized_chunked,
    body_limit_boundary,
    headers_checked_before_body,
    keep_alive_after_early_rejection,
    invalid_json,
    unsupported_version,
    duplicate_with_guard,
    failed_handler_releases_the_key,
    guard_full,
    bearer_token,
    custom_type_and_async_guard,
    known_answer_vectors,
);
