//! The `nexio-webhooks` command-line tool, run as a user runs it: the built binary
//! (`CARGO_BIN_EXE_nexio-webhooks`) against files, a fake Nexio API, a real app
//! behind `listen --forward-to` and a real Redis. One test binary, linked once.
#![cfg(feature = "cli")]

#[path = "../common/mod.rs"]
mod common;
#[path = "../support_redis/mod.rs"]
mod support_redis;

mod adversarial;
mod commands;
mod diagnose;
mod endpoint;
mod endpoint_file;
mod limits;
mod listen_exactly_once;
