//! The adversarial catalogue through both framework adapters, and through the tower
//! layer and the actix-web middleware, over real HTTP: axum and actix-web servers on
//! 127.0.0.1, one route per case (each with the case's own `Receiver` and a clock
//! pinned to the case's `now`), requests written byte for byte on a raw TCP
//! connection. 0 false accepts, 0 panics, every code and HTTP status as expected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::adversarial::{self, Case, Front, Observed, expected_status};
use nexio_webhooks::{DeliveryInfo, NexioWebhook, RawBody, Receiver, VersionPolicy};

/// What an accepting handler answers: the facts the runner checks.
fn accepted_reply(hook: &NexioWebhook<RawBody>) -> String {
    reply_for(hook.event.as_bytes(), &hook.info)
}

fn reply_for(body: &[u8], info: &DeliveryInfo) -> String {
    let event = match nexio_webhooks::dangerous::parse_unverified_event(body, VersionPolicy::Exact)
    {
        // The bytes came out of the extractor or the layer, so they are verified.
        Ok(_) => "ok".to_owned(),
        Err(e) => e.code().to_owned(),
    };
    let m = info.mismatches;
    let mut mismatches = Vec::new();
    if m.timestamp() {
        mismatches.push("timestamp");
    }
    if m.event() {
        mismatches.push("event");
    }
    if m.version() {
        mismatches.push("version");
    }
    serde_json::json!({
        "accepted": true,
        "key_id": info.key_id.to_string(),
        "event": event,
        "mismatches": mismatches,
    })
    .to_string()
}

/// One receiver per case; `None` where the configuration itself is refused.
fn receivers(cases: &[Case]) -> Vec<Option<Receiver>> {
    cases
        .iter()
        .map(|c| {
            let now = c.now;
            c.verifier()
                .ok()
                .map(|v| Receiver::new(v).with_clock(move || now))
        })
        .collect()
}

mod axum_server {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use nexio_webhooks::axum::NexioWebhook;

    async fn handle(hook: NexioWebhook<RawBody>) -> String {
        accepted_reply(&hook)
    }

    pub async fn start(receivers: Vec<Option<Receiver>>) -> SocketAddr {
        let mut app = Router::new();
        for (i, r) in receivers.into_iter().enumerate() {
            if let Some(r) = r {
                app = app.route(&format!("/case/{i}"), post(handle).with_state(r));
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }
}

mod actix_server {
    use super::*;
    use actix_web::{App, HttpServer, web};
    use nexio_webhooks::actix::NexioWebhook;

    async fn handle(hook: NexioWebhook<RawBody>) -> String {
        accepted_reply(&hook)
    }

    /// Runs the server on its own thread and system; returns its address.
    pub fn start(receivers: Vec<Option<Receiver>>) -> SocketAddr {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let receivers = receivers.clone();
                let server = HttpServer::new(move || {
                    let mut app = App::new();
                    for (i, r) in receivers.iter().enumerate() {
                        if let Some(r) = r {
                            app = app.service(
                                web::resource(format!("/case/{i}"))
                                    .app_data(r.clone())
                                    .route(web::post().to(handle)),
                            );
                        }
                    }
                    app
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .unwrap();
                tx.send(server.addrs()[0]).unwrap();
                server.run().await.unwrap();
            });
        });
        rx.recv().unwrap()
    }
}

mod layer_servers {
    use super::*;
    use actix_web::{App, HttpServer, web};
    use axum::Router;
    use axum::routing::post;
    use nexio_webhooks::VerifiedDelivery;
    use nexio_webhooks::actix::NexioWebhookMiddleware;
    use nexio_webhooks::tower::NexioWebhookLayer;

    async fn axum_handle(delivery: VerifiedDelivery, body: axum::body::Bytes) -> String {
        reply_for(&body, &delivery.info)
    }

    async fn actix_handle(delivery: VerifiedDelivery, body: web::Bytes) -> String {
        reply_for(&body, &delivery.info)
    }

    pub async fn axum(receivers: Vec<Option<Receiver>>) -> SocketAddr {
        let mut app = Router::new();
        for (i, r) in receivers.into_iter().enumerate() {
            if let Some(r) = r {
                app = app.route(
                    &format!("/case/{i}"),
                    post(axum_handle).route_layer(NexioWebhookLayer::new(r)),
                );
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    pub fn actix(receivers: Vec<Option<Receiver>>) -> SocketAddr {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let mut app = App::new();
                    for (i, r) in receivers.iter().enumerate() {
                        if let Some(r) = r {
                            app = app.service(
                                web::resource(format!("/case/{i}"))
                                    .wrap(NexioWebhookMiddleware::new(r.clone()))
                                    .route(web::post().to(actix_handle)),
                            );
                        }
                    }
                    app
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .unwrap();
                tx.send(server.addrs()[0]).unwrap();
                server.run().await.unwrap();
            });
        });
        rx.recv().unwrap()
    }
}

/// Verified bodies the typed parse refuses but whose envelope (`id`, `type`,
/// `webhook_version`) is usable: the layer hands them to the handler, which parses
/// the payload into its own type.
const ENVELOPE_USABLE: [&str; 2] = ["event: known type without run", "event: deeply nested run"];

/// Through the layer, a verified body without a usable envelope is refused (422)
/// before any handler: the case's accepted outcome, with its event error as the
/// answer.
fn observe_layer(addr: SocketAddr, index: usize, case: &Case) -> Observed {
    let observed = observe(addr, index, case);
    // The event's parse error, from the catalogue or, where it does not say, from the
    // parser itself (the core accepts such a case: it checks no event).
    let event = case.expect_event.clone().or_else(|| {
        nexio_webhooks::dangerous::parse_unverified_event(&case.body, VersionPolicy::Exact)
            .err()
            .map(|e| e.code().to_owned())
    });
    let event = event.filter(|_| !ENVELOPE_USABLE.contains(&case.name.as_str()));
    match (&event, case.expected(Front::Http)) {
        (Some(event), "accept") if event != "ok" => {
            if observed.outcome == *event {
                Observed {
                    outcome: "accept".to_owned(),
                    key_id: case.expected_key_id(),
                    event: Some(event.clone()),
                    mismatches: None,
                }
            } else {
                // It reached the handler (or was refused otherwise): not what the
                // layer must do with a body whose envelope is not usable.
                Observed {
                    outcome: format!("{} where the layer refuses {event}", observed.outcome),
                    ..observed
                }
            }
        }
        _ => observed,
    }
}

/// Writes the case as one HTTP/1.1 request, byte for byte, and reads the reply.
fn exchange(addr: SocketAddr, path: &str, case: &Case) -> (u16, String) {
    let mut req =
        format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").into_bytes();
    for (name, value) in &case.headers {
        req.extend_from_slice(name.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(value);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(format!("Content-Length: {}\r\n\r\n", case.body.len()).as_bytes());
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(&req).unwrap();
    // A server may answer (413, or a header rejection) before the body is sent and
    // close; a failed write of the rest is expected then.
    let _ = stream.write_all(&case.body);
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{}: no HTTP status in {text:?}", case.name));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn observe(addr: SocketAddr, index: usize, case: &Case) -> Observed {
    if let Err(e) = case.verifier() {
        // A refused secret or token never makes a receiver: the service does not start.
        return Observed {
            outcome: e.code().to_owned(),
            ..Observed::default()
        };
    }
    let (status, body) = exchange(addr, &format!("/case/{index}"), case);
    let json: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|_| panic!("{}: reply body is not JSON: {status} {body:?}", case.name));
    if json["accepted"] == true {
        assert_eq!(status, 200, "{}", case.name);
        let key_id = json["key_id"].as_str().unwrap().to_owned();
        let mismatches = json["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect();
        return Observed {
            outcome: "accept".to_owned(),
            key_id: case
                .expected_key_id()
                .filter(|k| k.to_string() == key_id)
                .or_else(|| {
                    // A different key than expected: report a non-matching id.
                    case.secrets().ok().and_then(|s| {
                        s.into_iter()
                            .map(|(s, _)| s.key_id())
                            .find(|k| k.to_string() == key_id)
                    })
                }),
            event: Some(json["event"].as_str().unwrap().to_owned()),
            mismatches: Some(mismatches),
        };
    }
    let code = json["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no error code in {body:?}", case.name))
        .to_owned();
    assert_eq!(
        status,
        expected_status(&code),
        "{}: status for {code}",
        case.name
    );
    Observed {
        outcome: code,
        ..Observed::default()
    }
}

#[test]
fn catalogue_through_axum_and_actix_over_real_http() {
    let cases = adversarial::load();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let axum_addr = rt.block_on(axum_server::start(receivers(&cases)));
    let actix_addr = actix_server::start(receivers(&cases));
    for (name, addr) in [("axum", axum_addr), ("actix-web", actix_addr)] {
        // Case names are unique (checked in tests/adversarial.rs): route by name.
        let routes: std::collections::HashMap<&str, usize> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        let report = adversarial::run_catalogue(&cases, Front::Http, |case| {
            observe(addr, routes[case.name.as_str()], case)
        });
        eprintln!(
            "{name}: {} cases run over HTTP, {} not expressible in HTTP/1.1 skipped",
            report.run, report.skipped
        );
        assert!(report.run >= 200, "{name}: only {} cases ran", report.run);
        report.assert_clean();
    }
}

#[test]
fn catalogue_through_the_tower_layer_and_the_actix_middleware_over_real_http() {
    let cases = adversarial::load();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let axum_addr = rt.block_on(layer_servers::axum(receivers(&cases)));
    let actix_addr = layer_servers::actix(receivers(&cases));
    for (name, addr) in [
        ("tower layer", axum_addr),
        ("actix-web middleware", actix_addr),
    ] {
        let routes: std::collections::HashMap<&str, usize> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        let report = adversarial::run_catalogue(&cases, Front::Http, |case| {
            observe_layer(addr, routes[case.name.as_str()], case)
        });
        eprintln!(
            "{name}: {} cases run over HTTP, {} not expressible in HTTP/1.1 skipped",
            report.run, report.skipped
        );
        assert!(report.run >= 200, "{name}: only {} cases ran", report.run);
        report.assert_clean();
    }
}
