//! Calls that skip verification. Each is safe only where its documentation says.
//!
//! Named after `jsonwebtoken`'s `dangerous` module: if one of these appears in a
//! request handler, something is wrong.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::error::ParseError;
use crate::event::{self, Event, VersionPolicy};

/// Parses an event from bytes that have **not** been verified.
///
/// For tests, fixtures and offline tooling only. Never call this on a request body:
/// anyone can send one. In a receiver, use [`Verified::event`](crate::Verified::event).
pub fn parse_unverified_event(body: &[u8], policy: VersionPolicy) -> Result<Event, ParseError> {
    event::parse(body, policy)
}
