//! The actix-web adapter against a real actix-web server on 127.0.0.1 (ephemeral
//! port), with a real HTTP client (reqwest) and, where a polite client cannot send the
//! request, a raw TCP stream. The cases live in `common/` and run against axum too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::common;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use common::{Kind, MyEvent, Seen, Server};
use nexio_webhooks::actix::NexioWebhook;
use nexio_webhooks::{HeaderSource, RawBody, Receiver, Secret, Signer, Verifier, sample};

fn path_of(req: &HttpRequest) -> String {
    req.path().to_owned()
}

async fn on_event(req: HttpRequest, seen: web::Data<Seen>, hook: NexioWebhook) -> &'static str {
    seen.event(&path_of(&req), &hook);
    hook.complete().await.unwrap();
    "ok"
}

async fn on_raw(
    req: HttpRequest,
    seen: web::Data<Seen>,
    hook: NexioWebhook<RawBody>,
) -> &'static str {
    seen.raw(&path_of(&req), &hook);
    hook.complete().await.unwrap();
    "ok"
}

async fn on_custom(
    req: HttpRequest,
    seen: web::Data<Seen>,
    hook: NexioWebhook<MyEvent>,
) -> &'static str {
    seen.custom(&path_of(&req), &hook);
    hook.complete().await.unwrap();
    "ok"
}

async fn on_flaky(req: HttpRequest, seen: web::Data<Seen>, hook: NexioWebhook) -> HttpResponse {
    match seen.flaky(&path_of(&req), hook).await {
        200 => HttpResponse::Ok().body("ok"),
        _ => HttpResponse::InternalServerError().body("failed"),
    }
}

/// Starts the server inside the test's actix runtime; each route's receiver is its
/// resource's `app_data` (as `web::Data`, except `/small`, registered plain).
fn start() -> Server {
    let (routes, guard, counting) = common::routes();
    let seen = Seen::default();
    let routes: Vec<(String, Receiver, Kind)> = routes
        .into_iter()
        .map(|r| (r.path, r.receiver, r.kind))
        .collect();
    let app_seen = seen.clone();
    let server = HttpServer::new(move || {
        let mut app = App::new().app_data(web::Data::new(app_seen.clone()));
        for (path, receiver, kind) in &routes {
            let route = match kind {
                Kind::Event => web::post().to(on_event),
                Kind::Raw => web::post().to(on_raw),
                Kind::Custom => web::post().to(on_custom),
                Kind::Flaky => web::post().to(on_flaky),
            };
            let resource = web::resource(path.as_str());
            let resource = if path == "/small" {
                resource.app_data(receiver.clone())
            } else {
                resource.app_data(web::Data::new(receiver.clone()))
            };
            app = app.service(resource.route(route));
        }
        // No receiver anywhere: a misconfigured route.
        app.service(web::resource("/misconfigured").route(web::post().to(on_event)))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(0)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    Server {
        addr,
        seen,
        guard,
        counting,
    }
}

#[actix_web::test]
async fn missing_receiver_is_500_receiver_misconfigured() {
    let server = start();
    let d = common::signer().delivery(sample::RUN_COMPLETED).build();
    common::post(&server.url("/misconfigured"), &d)
        .await
        .rejected(500, "receiver_misconfigured");
    assert!(server.seen.all().is_empty());
}

/// actix-web's `HeaderMap` (http 0.2 types) is a `HeaderSource`.
#[test]
fn actix_header_map_is_a_header_source() {
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
    use nexio_webhooks::HeaderLookup;

    let secret = Secret::new(common::SECRET).unwrap();
    let d = Signer::new(secret.clone())
        .delivery(sample::RUN_FAILED)
        .timestamp(1_774_180_800)
        .build();
    let mut map = HeaderMap::new();
    for (n, v) in d.headers() {
        map.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let verified = Verifier::new(secret)
        .verify_at(&map, d.body(), 1_774_180_801)
        .unwrap();
    assert_eq!(verified.delivery_id(), d.header("X-Nexio-Delivery"));
    assert_eq!(map.lookup("x-nexio-nothing"), HeaderLookup::Absent);
    map.append(
        HeaderName::from_static("x-nexio-signature"),
        HeaderValue::from_static("t=1"),
    );
    assert_eq!(map.lookup("x-nexio-signature"), HeaderLookup::Repeated);
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {$(
        #[actix_web::test]
        async fn $name() {
            let server = start();
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
