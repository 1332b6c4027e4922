//! nexio-webhooks against real servers on 127.0.0.1: the axum and actix-web
//! extractors, the tower layer and the actix-web middleware, the adversarial catalogue
//! over HTTP, endpoint configuration through the adapters, the flood limits, and the
//! Redis and PostgreSQL replay guards with servers of their own (installed and started
//! by `.ci/test`).
//!
//! Run with `cargo test -p nexio-webhooks-http-tests` from the repository's root.
#![cfg(test)]

mod common;
mod support_postgres;
#[path = "../support_redis/mod.rs"]
mod support_redis;

mod actix_adapter;
mod adversarial_http;
mod axum_adapter;
mod endpoint;
mod flood;
mod layer;
mod postgres;
mod redis_axum;
mod redis_guard;
