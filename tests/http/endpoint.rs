//! A verifier built from Nexio's endpoint answer: the answer parsed, the bearer token
//! required at construction, two endpoints (test and live) on one receiver with each
//! delivery attributed to the one that signed it, and the checks against the signed
//! body — reported by default, refused under strict — in the core and through the
//! axum and actix-web adapters over real HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use nexio_webhooks::{
    BearerToken, Delivery, Endpoint, EndpointError, Environment, Secret, Signer, Verifier,
    VerifyError, sample,
};

const LIVE_SECRET: &str = "whsec_live_Zt9mQ2vX8pL4nR7sK1wE5yU3";
const TEST_SECRET: &str = "whsec_test_abc123def456ghi789";
const T: i64 = 1_774_180_800;

/// The documented answer to `POST /api/v1/webhooks`, with fields this crate does not
/// know about.
const CREATED: &str = r#"{
    "id": "wh_01JQ8ZK3",
    "url": "https://hooks.example.com/nexio",
    "environment": "test",
    "events": ["run.completed", "run.failed"],
    "active": true,
    "auth_token_configured": false,
    "webhook_version": "2026-03-22",
    "secret": "whsec_test_abc123def456ghi789",
    "created_at": "2026-03-22T12:00:00Z",
    "description": null,
    "something_new": {"nested": [1, 2]}
}"#;

fn live() -> Endpoint {
    Endpoint::new("wh_live")
        .with_environment(Environment::Live)
        .with_events(["run.completed"])
        .with_secret(Secret::new(LIVE_SECRET).unwrap())
}

fn test_endpoint() -> Endpoint {
    serde_json::from_str(CREATED).unwrap()
}

/// `RUN_COMPLETED` (a live run) with its run's environment set to `test`.
fn completed_test_run() -> String {
    sample::RUN_COMPLETED.replace(r#""environment":"live""#, r#""environment":"test""#)
}

/// `RUN_FAILED` (a test run) with its run's environment set to `live`.
fn failed_live_run() -> String {
    sample::RUN_FAILED.replace(r#""environment":"test""#, r#""environment":"live""#)
}

fn signed(secret: &str, body: &str, t: i64) -> Delivery {
    Signer::new(Secret::new(secret).unwrap())
        .delivery(body)
        .timestamp(t)
        .build()
}

#[test]
fn the_documented_answer_parses() {
    let e = test_endpoint();
    assert_eq!(e.id(), "wh_01JQ8ZK3");
    assert_eq!(e.url(), Some("https://hooks.example.com/nexio"));
    assert_eq!(e.environment(), Some(&Environment::Test));
    assert_eq!(
        e.events(),
        Some(&["run.completed".to_owned(), "run.failed".to_owned()][..])
    );
    assert_eq!(e.active(), Some(true));
    assert!(!e.auth_token_configured());
    assert_eq!(e.webhook_version(), Some("2026-03-22"));
    assert_eq!(
        e.secret().map(Secret::key_id),
        Some(Secret::new(TEST_SECRET).unwrap().key_id())
    );
    let shown = format!("{e:?}");
    assert!(!shown.contains("abc123"), "{shown}");
    assert!(shown.contains(Secret::new(TEST_SECRET).unwrap().key_id().as_str()));

    // Wrapped in `data`, and the get answer (no secret).
    let wrapped: Endpoint = serde_json::from_str(&format!(r#"{{"data":{CREATED}}}"#)).unwrap();
    assert_eq!(wrapped.id(), "wh_01JQ8ZK3");
    let got: Endpoint =
        serde_json::from_str(r#"{"id":"wh_1","environment":"staging_eu"}"#).unwrap();
    assert!(got.secret().is_none());
    assert_eq!(
        got.environment(),
        Some(&Environment::Other("staging_eu".into()))
    );
    assert_eq!(
        Verifier::for_endpoint(&got).err(),
        Some(EndpointError::MissingSecret)
    );
    let v = Verifier::for_endpoint_with_secret(&got, Secret::new(LIVE_SECRET).unwrap()).unwrap();
    let d = signed(LIVE_SECRET, sample::RUN_COMPLETED, T);
    assert_eq!(
        v.verify_at(&d, d.body(), T).unwrap().endpoint_id(),
        Some("wh_1")
    );
}

#[test]
fn a_configured_token_is_required_at_construction() {
    let answer = CREATED.replace(
        r#""auth_token_configured": false"#,
        r#""auth_token_configured": true"#,
    );
    let e: Endpoint = serde_json::from_str(&answer).unwrap();
    let err = Verifier::for_endpoint(&e).unwrap_err();
    assert_eq!(err, EndpointError::BearerTokenRequired);
    assert_eq!(err.code(), "bearer_token_required");
    assert_eq!(err.status().as_u16(), 500);

    let token = BearerToken::new("tok-endpoint-1").unwrap();
    let v = Verifier::for_endpoint(&e.clone().with_bearer_token(token)).unwrap();
    let d = signed(TEST_SECRET, sample::RUN_FAILED, T);
    assert_eq!(
        v.verify_at(&d, d.body(), T).unwrap_err(),
        VerifyError::MissingBearerToken
    );
    let d = Signer::new(Secret::new(TEST_SECRET).unwrap())
        .delivery(sample::RUN_FAILED)
        .timestamp(T)
        .bearer_token("tok-endpoint-1")
        .build();
    assert!(v.verify_at(&d, d.body(), T).is_ok());
}

#[test]
fn errors_are_pinned() {
    let cases = [
        (
            EndpointError::MissingSecret,
            "missing_secret",
            "the endpoint has no secret: give the one Nexio showed",
        ),
        (
            EndpointError::BearerTokenRequired,
            "bearer_token_required",
            "the endpoint has auth_token_configured: true, and no bearer token was given",
        ),
        (
            EndpointError::BearerTokensDiffer,
            "bearer_tokens_differ",
            "the endpoints do not all have the same bearer token",
        ),
        (
            EndpointError::SharedSecret,
            "shared_secret",
            "two endpoints have the same secret",
        ),
        (
            EndpointError::NoEndpoints,
            "no_endpoints",
            "no endpoint was given",
        ),
    ];
    for (e, code, msg) in cases {
        assert_eq!(e.code(), code);
        assert_eq!(e.to_string(), msg);
        assert_eq!(e.status().as_u16(), 500);
    }
    for (e, code, msg) in [
        (
            VerifyError::EventNotSubscribed,
            "event_not_subscribed",
            "the signed event type is not one the endpoint subscribed to",
        ),
        (
            VerifyError::EnvironmentMismatch,
            "environment_mismatch",
            "the signed run's environment is not the endpoint's",
        ),
    ] {
        assert_eq!(e.code(), code);
        assert_eq!(e.to_string(), msg);
        assert_eq!(e.status().as_u16(), 422);
        assert!(!e.is_authentication_failure());
    }
}

#[test]
fn construction_refusals_for_several_endpoints() {
    assert_eq!(
        Verifier::for_endpoints(&[]).err(),
        Some(EndpointError::NoEndpoints)
    );
    let twin = Endpoint::new("wh_twin").with_secret(Secret::new(LIVE_SECRET).unwrap());
    assert_eq!(
        Verifier::for_endpoints(&[live(), twin]).err(),
        Some(EndpointError::SharedSecret)
    );
    let token = BearerToken::new("tok-a").unwrap();
    let with_token = test_endpoint()
        .with_auth_token_configured(true)
        .with_bearer_token(token.clone());
    assert_eq!(
        Verifier::for_endpoints(&[live(), with_token.clone()]).err(),
        Some(EndpointError::BearerTokensDiffer)
    );
    let other = live().with_bearer_token(BearerToken::new("tok-b").unwrap());
    assert_eq!(
        Verifier::for_endpoints(&[other, with_token.clone()]).err(),
        Some(EndpointError::BearerTokensDiffer)
    );
    let same = live().with_bearer_token(token);
    assert!(Verifier::for_endpoints(&[same, with_token]).is_ok());
}

#[test]
fn two_endpoints_on_one_receiver_each_delivery_attributed() {
    let v = Verifier::for_endpoints(&[live(), test_endpoint()]).unwrap();
    let d = signed(LIVE_SECRET, sample::RUN_COMPLETED, T);
    let ok = v.verify_at(&d, d.body(), T).unwrap();
    assert_eq!(ok.endpoint_id(), Some("wh_live"));
    assert_eq!(ok.endpoint_environment(), Some(&Environment::Live));
    assert_eq!(ok.key_id(), Secret::new(LIVE_SECRET).unwrap().key_id());
    assert!(ok.mismatches().is_empty());

    let d = signed(TEST_SECRET, sample::RUN_FAILED, T);
    let ok = v.verify_at(&d, d.body(), T).unwrap();
    assert_eq!(ok.endpoint_id(), Some("wh_01JQ8ZK3"));
    assert_eq!(ok.endpoint_environment(), Some(&Environment::Test));
    assert!(ok.mismatches().is_empty());
    let info = ok.info();
    assert_eq!(info.endpoint_id.as_deref(), Some("wh_01JQ8ZK3"));
    assert_eq!(info.endpoint_environment, Some(Environment::Test));

    // A verifier not built from endpoints reports none.
    let plain = Verifier::new(Secret::new(LIVE_SECRET).unwrap());
    let d = signed(LIVE_SECRET, &completed_test_run(), T);
    let ok = plain.verify_at(&d, d.body(), T).unwrap();
    assert_eq!(ok.endpoint_id(), None);
    assert!(ok.mismatches().is_empty());
}

#[test]
fn a_test_run_signed_by_live_and_an_unsubscribed_event() {
    let lenient = Verifier::for_endpoints(&[live(), test_endpoint()]).unwrap();
    let strict = lenient.clone().with_strict(true);

    let d = signed(LIVE_SECRET, &completed_test_run(), T);
    let v = lenient.verify_at(&d, d.body(), T).unwrap();
    let m = v.mismatches();
    assert!(
        m.environment_mismatch() && !m.event_not_subscribed(),
        "{m:?}"
    );
    assert_eq!(
        m.errors().collect::<Vec<_>>(),
        [VerifyError::EnvironmentMismatch]
    );
    assert_eq!(v.info().mismatches, m);
    assert_eq!(
        strict.verify_at(&d, d.body(), T).unwrap_err(),
        VerifyError::EnvironmentMismatch
    );

    let d = signed(LIVE_SECRET, &failed_live_run(), T);
    let m = lenient.verify_at(&d, d.body(), T).unwrap().mismatches();
    assert!(
        m.event_not_subscribed() && !m.environment_mismatch(),
        "{m:?}"
    );
    assert_eq!(
        strict.verify_at(&d, d.body(), T).unwrap_err(),
        VerifyError::EventNotSubscribed
    );

    // The same test run is fine when the test endpoint signed it.
    let d = signed(TEST_SECRET, &completed_test_run(), T);
    let v = strict.verify_at(&d, d.body(), T).unwrap();
    assert_eq!(v.endpoint_id(), Some("wh_01JQ8ZK3"));
    assert!(v.mismatches().is_empty());

    // An aliased type is its event; an unknown type listed is subscribed.
    let aliased = sample::RUN_COMPLETED.replace("run.completed", "evaluation.completed");
    let d = signed(LIVE_SECRET, &aliased, T);
    assert!(strict.verify_at(&d, d.body(), T).is_ok());
    let open = Verifier::for_endpoint(&live().with_events(["thing.happened"]))
        .unwrap()
        .with_strict(true);
    let d = signed(
        LIVE_SECRET,
        r#"{"id":"evt_1","type":"thing.happened","webhook_version":"2026-03-22","data":{}}"#,
        T,
    );
    assert!(open.verify_at(&d, d.body(), T).is_ok());
}

#[test]
fn a_custom_slug_is_compared_exactly() {
    let e = Endpoint::new("wh_eu")
        .with_environment(Environment::Other("staging_eu".into()))
        .with_secret(Secret::new(LIVE_SECRET).unwrap());
    let v = Verifier::for_endpoint(&e).unwrap().with_strict(true);
    for (env, ok) in [
        ("staging_eu", true),
        ("staging_e", false),
        ("STAGING_EU", false),
    ] {
        let body = sample::RUN_COMPLETED.replace(
            r#""environment":"live""#,
            &format!(r#""environment":"{env}""#),
        );
        let d = signed(LIVE_SECRET, &body, T);
        assert_eq!(v.verify_at(&d, d.body(), T).is_ok(), ok, "{env}");
    }
}

#[test]
fn rotation_secrets_belong_to_the_endpoint() {
    let old = "whsec_old_secret_value";
    let v = Verifier::for_endpoint(&live())
        .unwrap()
        .with_secret_expiring(Secret::new(old).unwrap(), T + 3600)
        .with_strict(true);
    let d = signed(old, sample::RUN_COMPLETED, T);
    let ok = v.verify_at(&d, d.body(), T).unwrap();
    assert_eq!(ok.endpoint_id(), Some("wh_live"));
    let d = signed(old, &completed_test_run(), T);
    assert_eq!(
        v.verify_at(&d, d.body(), T).unwrap_err(),
        VerifyError::EnvironmentMismatch
    );
}

#[test]
fn verify_signature_at_reports_but_never_refuses() {
    let v = Verifier::for_endpoint(&live()).unwrap().with_strict(true);
    let d = signed(LIVE_SECRET, &completed_test_run(), T);
    let header = d.header("x-nexio-signature").unwrap();
    let ok = v
        .verify_signature_at(header.as_bytes(), d.body(), T)
        .unwrap();
    assert!(ok.mismatches().environment_mismatch());
}

/// A handler's answer: the endpoint that signed, its environment, and the reported
/// mismatches' codes.
fn describe(info: &nexio_webhooks::DeliveryInfo) -> String {
    let codes: Vec<&str> = info.mismatches.errors().map(|e| e.code()).collect();
    format!(
        "{} {} [{}]",
        info.endpoint_id.as_deref().unwrap_or("-"),
        info.endpoint_environment
            .as_ref()
            .map_or("-", Environment::as_str),
        codes.join(",")
    )
}

async fn post(url: &str, d: &Delivery) -> (u16, String) {
    let mut req = reqwest::Client::new().post(url).body(d.body().to_vec());
    for (n, v) in d.headers() {
        req = req.header(*n, v.as_str());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// The cases every adapter must answer alike: `/lenient` and `/strict` on `base`.
async fn adapter_cases(base: &str) {
    let now = nexio_webhooks::unix_now();
    let lenient = format!("{base}/lenient");
    let strict = format!("{base}/strict");

    let d = signed(LIVE_SECRET, sample::RUN_COMPLETED, now);
    assert_eq!(post(&lenient, &d).await, (200, "wh_live live []".into()));
    let d = signed(TEST_SECRET, sample::RUN_FAILED, now);
    assert_eq!(post(&strict, &d).await, (200, "wh_01JQ8ZK3 test []".into()));

    let d = signed(LIVE_SECRET, &completed_test_run(), now);
    assert_eq!(
        post(&lenient, &d).await,
        (200, "wh_live live [environment_mismatch]".into())
    );
    assert_eq!(
        post(&strict, &d).await,
        (422, r#"{"error":"environment_mismatch"}"#.into())
    );

    let d = signed(LIVE_SECRET, &failed_live_run(), now);
    assert_eq!(
        post(&lenient, &d).await,
        (200, "wh_live live [event_not_subscribed]".into())
    );
    assert_eq!(
        post(&strict, &d).await,
        (422, r#"{"error":"event_not_subscribed"}"#.into())
    );
}

fn receivers() -> (nexio_webhooks::Receiver, nexio_webhooks::Receiver) {
    let v = Verifier::for_endpoints(&[live(), test_endpoint()]).unwrap();
    (
        nexio_webhooks::Receiver::new(v.clone()),
        nexio_webhooks::Receiver::new(v.with_strict(true)),
    )
}

#[tokio::test]
async fn through_axum() {
    use axum::Router;
    use axum::routing::post;
    use nexio_webhooks::axum::NexioWebhook;

    async fn handler(hook: NexioWebhook) -> String {
        let answer = describe(&hook.info);
        hook.complete().await.unwrap();
        answer
    }
    let (lenient, strict) = receivers();
    let app = Router::new()
        .route("/lenient", post(handler).with_state(lenient))
        .route("/strict", post(handler).with_state(strict));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    adapter_cases(&format!("http://{addr}")).await;
}

#[actix_web::test]
async fn through_actix_web() {
    use actix_web::{App, HttpServer, web};
    use nexio_webhooks::actix::NexioWebhook;

    async fn handler(hook: NexioWebhook) -> String {
        let answer = describe(&hook.info);
        hook.complete().await.unwrap();
        answer
    }
    let (lenient, strict) = receivers();
    let server = HttpServer::new(move || {
        App::new()
            .service(
                web::resource("/lenient")
                    .app_data(web::Data::new(lenient.clone()))
                    .route(web::post().to(handler)),
            )
            .service(
                web::resource("/strict")
                    .app_data(web::Data::new(strict.clone()))
                    .route(web::post().to(handler)),
            )
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(0)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    adapter_cases(&format!("http://{addr}")).await;
    handle.stop(false).await;
}

#[test]
fn send_sync_and_debug() {
    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_send_sync::<Endpoint>();
    assert_send_sync::<EndpointError>();
    let v = Verifier::for_endpoint(&live()).unwrap();
    let d = signed(LIVE_SECRET, sample::RUN_COMPLETED, T);
    let shown = format!("{:?}", v.verify_at(&d, d.body(), T).unwrap());
    assert!(shown.ends_with(r#"endpoint_id: "wh_live" }"#), "{shown}");
    let e = live().with_bearer_token(BearerToken::new("tok-secret-value").unwrap());
    let shown = format!("{e:?}");
    assert!(
        !shown.contains("tok-secret") && !shown.contains("Zt9mQ2"),
        "{shown}"
    );
}
