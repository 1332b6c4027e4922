//! Helpers shared by integration tests (each test crate that needs them declares
//! `mod common;`).
#![allow(dead_code)]

pub mod adversarial;
