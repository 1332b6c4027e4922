//! What several test targets share: the adversarial catalogue's loader and runner
//! (the core, the CLI and, in `tests/http/`, the adapters run it).
#![allow(dead_code)]

/// The adversarial catalogue: loader and runner shared by the core, adapter and CLI
/// runners.
pub mod adversarial;
