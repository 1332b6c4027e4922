//! A Nexio webhook receiver on AWS Lambda, behind an API Gateway HTTP API or a Lambda
//! function URL (both send the payload format 2.0 event).
//!
//! [`handle`] is the whole receiver, without the runtime: `main.rs` hands it to
//! `lambda_http::run`, the tests call it with real event documents.

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use nexio_webhooks::{BearerToken, Event, InMemoryReplayGuard, Receiver, Secret, Verifier};

/// The exact bytes Nexio signed, whatever form the event carried them in.
///
/// `lambda_http` builds the request body from the event's `body` and
/// `isBase64Encoded`: a text body (`isBase64Encoded: false`) is `Body::Text`, its
/// UTF-8 bytes are the bytes sent; a base64 body (`isBase64Encoded: true`, which API
/// Gateway and function URLs choose for some content types) is decoded into
/// `Body::Binary`; no body at all is `Body::Empty`. The signature is over the bytes
/// sent, so each form is verified as its bytes, never re-encoded.
pub fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes.as_slice(),
        // `Body` is non-exhaustive: a form added later is read through the crate's
        // own byte view of it.
        other => other.as_ref(),
    }
}

/// Verifies one invocation and answers as the library's other adapters do: `200 ok`
/// once processed, `200 {"status":"duplicate"}` for a retry already processed, and
/// every rejection with its status, `{"error":"<code>"}` body and `Retry-After` where
/// one is due.
pub async fn handle(receiver: &Receiver, request: Request) -> Response<Body> {
    if request.method() != Method::POST {
        let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, "");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let now = receiver.now();
    let headers = request.headers();
    let body = body_bytes(request.body());
    // The runtime has already read the whole event, so the length is known: the same
    // checks, in the same order, as the adapters make before reading a body (header,
    // window, token, then the body limit), so an oversized body is 413.
    let length = u64::try_from(body.len()).unwrap_or(u64::MAX);
    if let Err(rejection) = receiver.check_head_at(headers, Some(length), now) {
        return rejection.to_http_response(Body::from);
    }
    let hook = match receiver.accept_at::<Event, _>(headers, body, now).await {
        Ok(hook) => hook,
        Err(rejection) => return rejection.to_http_response(Body::from),
    };
    let event = &hook.event;
    // The event's type and ids only: never the secret, the signature or the payload.
    println!(
        "{} {} key={} delivery={}",
        event.event_type(),
        event.id(),
        hook.info.key_id,
        hook.info.delivery_id.as_deref().unwrap_or("-"),
    );
    // Processed: record it, so Nexio's retries are answered "duplicate". A handler
    // that fails must return before this; dropping the claim releases it and the
    // retry is processed. If the record cannot be written the delivery was still
    // processed, so answer 2xx all the same.
    let _ = hook.complete().await;
    text_response(StatusCode::OK, "ok")
}

fn text_response(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The verifier from `NEXIO_WEBHOOK_SECRET` (and `NEXIO_WEBHOOK_AUTH_TOKEN` when set);
/// a message naming the variable otherwise, never its value.
pub fn verifier_from_env() -> Result<Verifier, String> {
    let secret = std::env::var("NEXIO_WEBHOOK_SECRET").map_err(|_| {
        "NEXIO_WEBHOOK_SECRET is not set: set the endpoint's signing secret \
         (whsec_…) exactly as Nexio returned it"
            .to_owned()
    })?;
    let secret = Secret::new(&secret).map_err(|e| format!("NEXIO_WEBHOOK_SECRET: {e}"))?;
    let mut verifier = Verifier::new(secret);
    if let Ok(token) = std::env::var("NEXIO_WEBHOOK_AUTH_TOKEN") {
        let token =
            BearerToken::new(&token).map_err(|e| format!("NEXIO_WEBHOOK_AUTH_TOKEN: {e}"))?;
        verifier = verifier.with_bearer_token(token);
    }
    Ok(verifier)
}

/// The receiver from the environment.
///
/// Lambda instances share no memory, so the in-memory guard only recognises a retry
/// that reaches the same warm instance. With `NEXIO_REDIS_URL` (and the `redis`
/// feature) every instance claims and completes each delivery in Redis: exactly-once
/// across instances.
pub async fn receiver_from_env() -> Result<Receiver, String> {
    let receiver = Receiver::new(verifier_from_env()?);
    match std::env::var("NEXIO_REDIS_URL") {
        Ok(url) => with_redis(receiver, &url).await,
        Err(_) => Ok(receiver.with_replay_guard(InMemoryReplayGuard::new(10_000))),
    }
}

#[cfg(feature = "redis")]
async fn with_redis(receiver: Receiver, url: &str) -> Result<Receiver, String> {
    // The URL may carry a password: the message names the variable, not the value.
    let guard = nexio_webhooks::redis::RedisReplayGuard::connect(url)
        .await
        .map_err(|e| format!("cannot connect to Redis at NEXIO_REDIS_URL: {}", e.code()))?;
    Ok(receiver.with_replay_guard(guard))
}

#[cfg(not(feature = "redis"))]
async fn with_redis(_receiver: Receiver, _url: &str) -> Result<Receiver, String> {
    Err("NEXIO_REDIS_URL is set but this build has no Redis guard: \
         build with --features redis"
        .to_owned())
}
