//! The handler, invoked with API Gateway HTTP API and function URL event documents
//! (`events/*.json`) signed now, each turned into a request by `lambda_http`'s own
//! deserialization: the path the Lambda runtime takes.

// The tests index `serde_json::Value`s of the event documents they ship, whose shape
// they know: a document that lost its shape fails the test, which is the point.
#![allow(clippy::indexing_slicing)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::{Body, Request, Response};
use nexio_webhooks::{InMemoryReplayGuard, Receiver, Secret, Signer, Verifier, unix_now};
use nexio_webhooks_lambda::{body_bytes, handle};
use serde_json::Value;

const SECRET: &str = "whsec_abc123def456";
const SOURCES: [&str; 2] = ["http_api", "function_url"];

fn receiver() -> Result<Receiver, Box<dyn std::error::Error>> {
    Ok(Receiver::new(Verifier::new(Secret::new(SECRET)?))
        .with_replay_guard(InMemoryReplayGuard::new(100)))
}

fn template(source: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let path = format!("{}/events/{source}.json", env!("CARGO_MANIFEST_DIR"));
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn template_body(source: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let event = template(source)?;
    let body = event["body"].as_str().ok_or("template has no body")?;
    Ok(body.as_bytes().to_vec())
}

/// The event document carrying `body` (as text, or base64 with `isBase64Encoded`),
/// with `signature` (none: the header is removed) and `timestamp`.
fn event(
    source: &str,
    body: &[u8],
    base64: bool,
    signature: Option<&str>,
    timestamp: i64,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut event = template(source)?;
    if base64 {
        event["body"] = Value::from(STANDARD.encode(body));
    } else {
        event["body"] = Value::from(std::str::from_utf8(body)?);
    }
    event["isBase64Encoded"] = Value::from(base64);
    let headers = event["headers"]
        .as_object_mut()
        .ok_or("template has no headers")?;
    headers.insert("content-length".into(), Value::from(body.len().to_string()));
    headers.insert(
        "x-nexio-timestamp".into(),
        Value::from(timestamp.to_string()),
    );
    match signature {
        Some(s) => headers.insert("x-nexio-signature".into(), Value::from(s)),
        None => headers.remove("x-nexio-signature"),
    };
    Ok(serde_json::to_string(&event)?)
}

fn request(document: &str) -> Result<Request, Box<dyn std::error::Error>> {
    Ok(lambda_http::request::from_str(document)?)
}

async fn invoke(
    receiver: &Receiver,
    document: &str,
) -> Result<Response<Body>, Box<dyn std::error::Error>> {
    Ok(handle(receiver, request(document)?).await)
}

fn signed(source: &str, base64: bool) -> Result<String, Box<dyn std::error::Error>> {
    let body = template_body(source)?;
    let now = unix_now();
    let signature = Signer::new(Secret::new(SECRET)?).signature_header(now, &body);
    event(source, &body, base64, Some(&signature), now)
}

fn assert_reply(response: &Response<Body>, status: u16, body: &str) {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        std::str::from_utf8(body_bytes(response.body())).ok(),
        Some(body)
    );
}

#[tokio::test]
async fn lambda_http_gives_text_and_decoded_base64_bodies() -> Result<(), Box<dyn std::error::Error>>
{
    for source in SOURCES {
        let body = template_body(source)?;
        let text = request(&signed(source, false)?)?;
        assert!(matches!(text.body(), Body::Text(t) if t.as_bytes() == body.as_slice()));
        let binary = request(&signed(source, true)?)?;
        assert!(matches!(binary.body(), Body::Binary(b) if *b == body));
    }
    Ok(())
}

#[tokio::test]
async fn valid_text_and_base64_are_200_and_a_retry_is_duplicate()
-> Result<(), Box<dyn std::error::Error>> {
    for source in SOURCES {
        for base64 in [false, true] {
            let receiver = receiver()?;
            let document = signed(source, base64)?;
            assert_reply(&invoke(&receiver, &document).await?, 200, "ok");
            let retry = invoke(&receiver, &document).await?;
            assert_reply(&retry, 200, r#"{"status":"duplicate"}"#);
        }
    }
    Ok(())
}

#[tokio::test]
async fn tampered_is_401() -> Result<(), Box<dyn std::error::Error>> {
    for source in SOURCES {
        for base64 in [false, true] {
            let body = template_body(source)?;
            let now = unix_now();
            let signature = Signer::new(Secret::new(SECRET)?).signature_header(now, &body);
            let tampered = String::from_utf8(body)?.replace("0.75", "0.95");
            let document = event(source, tampered.as_bytes(), base64, Some(&signature), now)?;
            let response = invoke(&receiver()?, &document).await?;
            assert_reply(&response, 401, r#"{"error":"signature_mismatch"}"#);
            assert_eq!(
                response.headers().get("content-type").map(|v| v.as_bytes()),
                Some(&b"application/json"[..])
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_signature_is_over_the_decoded_bytes_not_the_base64_text()
-> Result<(), Box<dyn std::error::Error>> {
    for source in SOURCES {
        let body = template_body(source)?;
        let now = unix_now();
        let over_base64 = STANDARD.encode(&body);
        let signature =
            Signer::new(Secret::new(SECRET)?).signature_header(now, over_base64.as_bytes());
        let document = event(source, &body, true, Some(&signature), now)?;
        let response = invoke(&receiver()?, &document).await?;
        assert_reply(&response, 401, r#"{"error":"signature_mismatch"}"#);
    }
    Ok(())
}

#[tokio::test]
async fn stale_is_401() -> Result<(), Box<dyn std::error::Error>> {
    for source in SOURCES {
        let body = template_body(source)?;
        let then = unix_now().saturating_sub(3600);
        let signature = Signer::new(Secret::new(SECRET)?).signature_header(then, &body);
        let document = event(source, &body, false, Some(&signature), then)?;
        let response = invoke(&receiver()?, &document).await?;
        assert_eq!(response.status().as_u16(), 401);
        let reply = std::str::from_utf8(body_bytes(response.body()))?;
        assert!(reply.starts_with(r#"{"error":"timestamp_"#), "{reply}");
    }
    Ok(())
}

#[tokio::test]
async fn oversized_is_413() -> Result<(), Box<dyn std::error::Error>> {
    for source in SOURCES {
        for base64 in [false, true] {
            let receiver = receiver()?;
            let limit = receiver.body_limit();
            let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(limit));
            let now = unix_now();
            let signature =
                Signer::new(Secret::new(SECRET)?).signature_header(now, body.as_bytes());
            let document = event(source, body.as_bytes(), base64, Some(&signature), now)?;
            let response = invoke(&receiver, &document).await?;
            assert_reply(&response, 413, r#"{"error":"payload_too_large"}"#);
        }
    }
    Ok(())
}

#[tokio::test]
async fn missing_signature_is_400() -> Result<(), Box<dyn std::error::Error>> {
    for source in SOURCES {
        let body = template_body(source)?;
        let document = event(source, &body, false, None, unix_now())?;
        let response = invoke(&receiver()?, &document).await?;
        assert_reply(&response, 400, r#"{"error":"missing_signature"}"#);
    }
    Ok(())
}

#[tokio::test]
async fn not_post_is_405() -> Result<(), Box<dyn std::error::Error>> {
    for source in SOURCES {
        let mut event: Value = serde_json::from_str(&signed(source, false)?)?;
        event["requestContext"]["http"]["method"] = Value::from("GET");
        let response = invoke(&receiver()?, &serde_json::to_string(&event)?).await?;
        assert_eq!(response.status().as_u16(), 405);
        assert_eq!(
            response.headers().get("allow").map(|v| v.as_bytes()),
            Some(&b"POST"[..])
        );
    }
    Ok(())
}
