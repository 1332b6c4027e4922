//! The `2026-03-22` events (`docs/verification.md`, *Events*), typed, versioned, with
//! open enums.
//!
//! Parsing is reachable only from a [`Verified`](crate::Verified) delivery (or,
//! explicitly, from [`crate::dangerous`]). The envelope head is parsed first, then
//! `data.run` for the event types this crate knows — no internally tagged serde enum,
//! which would buffer the whole object.

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt;
#[cfg(feature = "std")]
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::Deserializer;
use serde_json::value::RawValue;

use crate::error::{InvalidEventReason, ParseError};

/// The payload version this crate implements.
pub const WEBHOOK_VERSION: &str = "2026-03-22";

/// What to do with a `webhook_version` other than `2026-03-22`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionPolicy {
    /// Refuse it with [`ParseError::UnsupportedVersion`] (the default).
    #[default]
    Exact,
    /// Parse it best-effort with the `2026-03-22` types; [`Event::webhook_version`]
    /// tells what came.
    AcceptOther,
}

/// A Nexio webhook event.
///
/// ```
/// use nexio_webhooks::{Event, EventKind};
/// # fn handle(event: Event) {
/// match event.kind() {
///     EventKind::RunCompleted => { /* event.run() is Some */ }
///     EventKind::RunFailed => { /* event.run().and_then(|r| r.error.as_deref()) */ }
///     _ => { /* unknown: event.event_type() and event.raw() */ }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Event {
    id: String,
    event_type: String,
    kind: EventKind,
    webhook_version: Option<String>,
    created_at: Option<DateTime<Utc>>,
    run: Option<Run>,
    /// The event's JSON text, exactly as signed (validated by the parse).
    json: Box<str>,
    /// `json` as a `RawValue`, made on the first call to [`Event::raw`]: building it
    /// needs another full scan of the text, which most handlers never ask for.
    /// Without `std` there is no `OnceLock`, and `raw` borrows a fresh scan of `json`.
    #[cfg(feature = "std")]
    raw: OnceLock<Box<RawValue>>,
}

/// The kinds of event this crate knows, plus `Unknown`.
///
/// `evaluation.completed` / `evaluation.failed` (shown on an older page of Nexio's
/// docs under the same version) are accepted as aliases of `run.completed` /
/// `run.failed`. An unknown type is not an error: a new Nexio event never breaks a
/// receiver.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `run.completed` (or `evaluation.completed`): a run finished successfully.
    RunCompleted,
    /// `run.failed` (or `evaluation.failed`): a run ended with an error.
    RunFailed,
    /// Any other type; see [`Event::event_type`] and [`Event::raw`].
    Unknown,
}

impl EventKind {
    /// Classifies a `type` string.
    pub fn from_type(event_type: &str) -> Self {
        match event_type {
            "run.completed" | "evaluation.completed" => Self::RunCompleted,
            "run.failed" | "evaluation.failed" => Self::RunFailed,
            _ => Self::Unknown,
        }
    }
}

impl Event {
    /// The event id (`evt_…`): signed, and the dedupe key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `type` exactly as sent, e.g. `run.completed` or `evaluation.completed`.
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// What kind of event this is.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The body's `webhook_version`, if it had one.
    pub fn webhook_version(&self) -> Option<&str> {
        self.webhook_version.as_deref()
    }

    /// The envelope's `created_at`, if present.
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        self.created_at
    }

    /// The run, for `run.completed` and `run.failed`.
    pub fn run(&self) -> Option<&Run> {
        self.run.as_ref()
    }

    /// The whole event as raw JSON, exactly as signed.
    ///
    /// Made on the first call (a scan and a copy of the text), then kept; without the
    /// `std` feature, a scan on each call (no copy).
    #[cfg(feature = "std")]
    pub fn raw(&self) -> &RawValue {
        self.raw.get_or_init(|| {
            // The text already parsed as one JSON value, which is all `from_string`
            // checks, so the fallback is unreachable; it keeps this free of panics.
            RawValue::from_string(self.json.to_string())
                .unwrap_or_else(|_| RawValue::NULL.to_owned())
        })
    }

    /// The whole event as raw JSON, exactly as signed.
    ///
    /// Made on the first call (a scan and a copy of the text), then kept; without the
    /// `std` feature, a scan on each call (no copy).
    #[cfg(not(feature = "std"))]
    pub fn raw(&self) -> &RawValue {
        // The text already parsed as one JSON value, so the fallback is unreachable;
        // it keeps this free of panics.
        serde_json::from_str::<&RawValue>(&self.json).unwrap_or(RawValue::NULL)
    }

    /// Deserializes the whole event into a type of your own.
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, ParseError> {
        serde_json::from_str(&self.json).map_err(|e| {
            ParseError::from_json(
                &e,
                InvalidEventReason::Schema {
                    line: e.line(),
                    column: e.column(),
                },
            )
        })
    }
}

/// A run as `GET /api/v1/runs/{run_id}` returns it (the `data.run` object).
///
/// Only `run_id` and `created_at` are required; every field the docs do not
/// guarantee is optional, and unknown fields are ignored. Engine-specific parts
/// (`output`, `solutions`, `error_details`) stay raw JSON.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
pub struct Run {
    /// The run's UUID.
    pub run_id: String,
    /// Where the run is in its life.
    #[serde(default)]
    pub status: Option<RunStatus>,
    /// `live`, `test`, or a custom slug.
    #[serde(default)]
    pub environment: Option<Environment>,
    /// When the run was created (RFC 3339, fractional seconds allowed).
    pub created_at: DateTime<Utc>,
    /// When the run finished.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// The engine version, e.g. `1.3`.
    #[serde(default)]
    pub engine_version: Option<String>,
    /// The engine stage, e.g. `EVALUATE`.
    #[serde(default)]
    pub stage: Option<String>,
    /// How long the run took, in milliseconds.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// The run's result; its schema varies by engine.
    #[serde(default)]
    pub output: Option<Box<RawValue>>,
    /// Ranked solutions (`rank`, `cluster_label`, …).
    #[serde(default)]
    pub solutions: Option<Box<RawValue>>,
    /// The error message of a failed run.
    #[serde(default)]
    pub error: Option<String>,
    /// Details of a failed run; schema undocumented.
    #[serde(default)]
    pub error_details: Option<Box<RawValue>>,
}

impl Run {
    /// `output.degradation_reason`, which explains a `degraded` run.
    pub fn degradation_reason(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Reason {
            degradation_reason: Option<String>,
        }
        let output = self.output.as_ref()?;
        serde_json::from_str::<Reason>(output.get())
            .ok()?
            .degradation_reason
    }
}

/// A run's status. Open: a status Nexio adds later arrives as `Other`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// `queued`
    Queued,
    /// `processing`
    Processing,
    /// `completed`
    Completed,
    /// `degraded`: terminal and successful, with a warning in
    /// `output.degradation_reason`.
    Degraded,
    /// `failed`
    Failed,
    /// Any other value, kept as sent.
    Other(String),
}

impl RunStatus {
    /// The status as Nexio spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Degraded => "degraded",
            Self::Failed => "failed",
            Self::Other(s) => s,
        }
    }

    /// Whether the run has finished (`completed`, `degraded` or `failed`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Completed | Self::Degraded | Self::Failed)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RunStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <alloc::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(match &*s {
            "queued" => Self::Queued,
            "processing" => Self::Processing,
            "completed" => Self::Completed,
            "degraded" => Self::Degraded,
            "failed" => Self::Failed,
            _ => Self::Other(s.into_owned()),
        })
    }
}

/// The environment a run ran in. Open: custom slugs arrive as `Other`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Environment {
    /// `live`
    Live,
    /// `test`
    Test,
    /// A custom slug (Nexio uses 1–16 of `a-z0-9_`), kept as sent.
    Other(String),
}

impl Environment {
    /// The environment as Nexio spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Environment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <alloc::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(match &*s {
            "live" => Self::Live,
            "test" => Self::Test,
            _ => Self::Other(s.into_owned()),
        })
    }
}

/// The envelope's head: everything but `data`, which stays raw until the type is
/// known.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(deserialize_with = "string")]
    id: String,
    #[serde(rename = "type", deserialize_with = "string")]
    event_type: String,
    #[serde(default)]
    webhook_version: Option<String>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d)
}

#[derive(Deserialize)]
struct RunData {
    run: Run,
}

/// Parses an event from bytes that have already been verified.
///
/// One walk over the body in the usual case: the envelope is read field by field, and
/// when `data` arrives after a `type` naming a run (and after an acceptable
/// `webhook_version`), as Nexio orders them, `data.run` is deserialized right there.
/// Anything else (another order, an unknown type) keeps `data` as borrowed raw JSON
/// and parses it afterwards. If that walk fails for any reason, the body is parsed
/// again by the step-by-step rule ([`parse_stepwise`]), which alone decides which
/// error to report, so the fast walk can never change a result.
pub(crate) fn parse(body: &[u8], policy: VersionPolicy) -> Result<Event, ParseError> {
    if let Ok(text) = core::str::from_utf8(body)
        && let Ok(walk) = serde_json::from_str::<OneWalk<'_>>(text)
        && let Some(event) = walk.finish(text, policy)
    {
        return Ok(event);
    }
    #[cfg(test)]
    tests::STEPWISE.with(|n| n.set(n.get().wrapping_add(1)));
    parse_stepwise(body, policy)
}

/// The envelope read in one walk, with `data.run` typed when the fields before it
/// allowed (see [`parse`]).
struct OneWalk<'a> {
    id: String,
    event_type: String,
    webhook_version: Option<String>,
    created_at: Option<DateTime<Utc>>,
    /// `data.run`, when it was deserialized during the walk.
    run: Option<Run>,
    /// `data`, when it was not.
    data: Option<&'a RawValue>,
}

impl OneWalk<'_> {
    /// The event, or `None` when the step-by-step rule must decide (an error, or a
    /// policy refusal, which it reports).
    fn finish(self, text: &str, policy: VersionPolicy) -> Option<Event> {
        let version_ok = self.webhook_version.as_deref() == Some(WEBHOOK_VERSION);
        if !version_ok && policy == VersionPolicy::Exact {
            return None;
        }
        let kind = EventKind::from_type(&self.event_type);
        let run = match (kind, self.run, self.data) {
            (EventKind::Unknown, _, _) => None,
            (_, Some(run), _) => Some(run),
            (_, None, Some(data)) => Some(serde_json::from_str::<RunData>(data.get()).ok()?.run),
            (_, None, None) => return None,
        };
        Some(Event {
            id: self.id,
            event_type: self.event_type,
            kind,
            webhook_version: self.webhook_version,
            created_at: self.created_at,
            run,
            json: text.into(),
            #[cfg(feature = "std")]
            raw: OnceLock::new(),
        })
    }
}

/// The envelope's keys.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum EnvelopeField {
    Id,
    #[serde(rename = "type")]
    Type,
    WebhookVersion,
    CreatedAt,
    Data,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for OneWalk<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(OneWalkVisitor)
    }
}

struct OneWalkVisitor;

impl<'de> serde::de::Visitor<'de> for OneWalkVisitor {
    type Value = OneWalk<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Nexio event object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut id: Option<String> = None;
        let mut event_type: Option<String> = None;
        let mut webhook_version: Option<Option<String>> = None;
        let mut created_at: Option<Option<DateTime<Utc>>> = None;
        let mut run: Option<Run> = None;
        let mut data: Option<&'de RawValue> = None;
        let mut seen_data = false;
        while let Some(key) = map.next_key::<EnvelopeField>()? {
            match key {
                EnvelopeField::Id if id.is_none() => id = Some(map.next_value()?),
                EnvelopeField::Type if event_type.is_none() => {
                    event_type = Some(map.next_value()?);
                }
                EnvelopeField::WebhookVersion if webhook_version.is_none() => {
                    webhook_version = Some(map.next_value()?);
                }
                EnvelopeField::CreatedAt if created_at.is_none() => {
                    created_at = Some(map.next_value()?);
                }
                EnvelopeField::Data if !seen_data => {
                    seen_data = true;
                    let is_run = event_type
                        .as_deref()
                        .is_some_and(|t| EventKind::from_type(t) != EventKind::Unknown);
                    // Only when the version is already known to be the one these types
                    // describe: otherwise a policy refusal must win over a run error.
                    let version_known_ok = matches!(
                        &webhook_version,
                        Some(Some(v)) if v == WEBHOOK_VERSION
                    );
                    if is_run && version_known_ok {
                        run = Some(map.next_value::<RunData>()?.run);
                    } else {
                        data = Some(map.next_value()?);
                    }
                }
                EnvelopeField::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                // A repeated key: the step-by-step rule reports it.
                _ => return Err(A::Error::custom("duplicate field")),
            }
        }
        Ok(OneWalk {
            id: id.ok_or_else(|| A::Error::missing_field("id"))?,
            event_type: event_type.ok_or_else(|| A::Error::missing_field("type"))?,
            webhook_version: webhook_version.flatten(),
            created_at: created_at.flatten(),
            run,
            data,
        })
    }
}

/// The step-by-step parse: the whole body as raw JSON (syntax errors), then the
/// envelope with `data` kept raw (envelope errors), the version policy, then
/// `data.run` (run errors). Each error is classified by the step that found it.
fn parse_stepwise(body: &[u8], policy: VersionPolicy) -> Result<Event, ParseError> {
    let raw: &RawValue = serde_json::from_slice(body)
        .map_err(|e| ParseError::from_json(&e, InvalidEventReason::Envelope))?;
    // Re-map data errors of the envelope to "invalid event", syntax errors were
    // caught above.
    let env: Envelope<'_> = serde_json::from_str(raw.get()).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ParseError::InvalidEvent {
            reason: InvalidEventReason::Envelope,
        },
        _ => ParseError::from_json(&e, InvalidEventReason::Envelope),
    })?;
    let version_ok = env.webhook_version.as_deref() == Some(WEBHOOK_VERSION);
    if !version_ok && policy == VersionPolicy::Exact {
        return Err(ParseError::UnsupportedVersion);
    }
    let kind = EventKind::from_type(&env.event_type);
    let run = match kind {
        EventKind::RunCompleted | EventKind::RunFailed => {
            let data = env.data.ok_or(ParseError::InvalidEvent {
                reason: InvalidEventReason::Run,
            })?;
            let data: RunData =
                serde_json::from_str(data.get()).map_err(|_| ParseError::InvalidEvent {
                    reason: InvalidEventReason::Run,
                })?;
            Some(data.run)
        }
        EventKind::Unknown => None,
    };
    let owned = raw.to_owned();
    Ok(Event {
        id: env.id,
        event_type: env.event_type,
        kind,
        webhook_version: env.webhook_version,
        created_at: env.created_at,
        run,
        json: owned.get().into(),
        #[cfg(feature = "std")]
        raw: OnceLock::from(owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    std::thread_local! {
        /// How many times `parse` fell back to the step-by-step parse on this thread.
        pub(super) static STEPWISE: Cell<usize> = const { Cell::new(0) };
    }

    /// Whether parsing `body` took the step-by-step fallback.
    fn fell_back(body: &str, policy: VersionPolicy) -> bool {
        let before = STEPWISE.with(Cell::get);
        let _ = parse(body.as_bytes(), policy);
        STEPWISE.with(Cell::get) != before
    }

    #[test]
    fn one_walk_takes_the_fast_path_where_it_should() {
        let v = r#""webhook_version":"2026-03-22""#;
        let run = MINIMAL_RUN;
        let exact = VersionPolicy::Exact;
        let other = VersionPolicy::AcceptOther;
        // Nexio's order, another order, unknown types and keys: one walk, no fallback.
        for (body, policy) in [
            (run_body("run.completed", run), exact),
            (run_body("run.failed", run), other),
            (run_body("run.queued", r#"{"anything":[1,2]}"#), exact),
            (
                format!(r#"{{"data":{{"run":{run}}},"id":"e","type":"run.completed",{v}}}"#),
                exact,
            ),
            (
                format!(r#"{{"id":"e","type":"run.completed","data":{{"run":{run}}},{v}}}"#),
                exact,
            ),
            (
                format!(
                    r#"{{"id":"e","type":"x",{v},"data":{{"y":1}},"extra":[{{}}],"more":null}}"#
                ),
                exact,
            ),
            (
                format!(
                    r#"{{"id":"e","type":"run.completed","webhook_version":"2027-01-01","data":{{"run":{run}}}}}"#
                ),
                other,
            ),
        ] {
            assert!(!fell_back(&body, policy), "{body}");
            assert!(parse(body.as_bytes(), policy).is_ok(), "{body}");
        }
        // Errors and refusals: decided by the step-by-step parse.
        for (body, policy) in [
            (format!(r#"{{"id":"e","id":"f","type":"x",{v}}}"#), exact),
            (run_body("run.completed", r#"{"run_id":"r"}"#), exact),
            (
                format!(
                    r#"{{"id":"e","type":"run.completed","webhook_version":"2027-01-01","data":{{"run":{run}}}}}"#
                ),
                exact,
            ),
            ("[1]".to_string(), exact),
        ] {
            assert!(fell_back(&body, policy), "{body}");
            assert!(parse(body.as_bytes(), policy).is_err(), "{body}");
        }
    }

    fn run_body(event_type: &str, run: &str) -> String {
        format!(
            r#"{{"id":"evt_1","type":"{event_type}","webhook_version":"2026-03-22","created_at":"2026-03-22T10:00:00Z","data":{{"run":{run}}}}}"#
        )
    }

    const MINIMAL_RUN: &str = r#"{"run_id":"8c1d7a52-4b0e-4c8e-9a51-0f2b8c6d9e10","created_at":"2026-03-22T10:00:00.123Z"}"#;

    /// What the one-walk parse returns must be what the step-by-step one returns,
    /// value for value and error for error.
    fn same_as_stepwise(body: &str) {
        for policy in [VersionPolicy::Exact, VersionPolicy::AcceptOther] {
            let fast = parse(body.as_bytes(), policy);
            let slow = parse_stepwise(body.as_bytes(), policy);
            match (&fast, &slow) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.id(), b.id(), "{body}");
                    assert_eq!(a.event_type(), b.event_type(), "{body}");
                    assert_eq!(a.kind(), b.kind(), "{body}");
                    assert_eq!(a.webhook_version(), b.webhook_version(), "{body}");
                    assert_eq!(a.created_at(), b.created_at(), "{body}");
                    assert_eq!(format!("{:?}", a.run()), format!("{:?}", b.run()), "{body}");
                    assert_eq!(a.raw().get(), b.raw().get(), "{body}");
                    let va: Result<serde_json::Value, _> = a.deserialize();
                    let vb: Result<serde_json::Value, _> = b.deserialize();
                    assert_eq!(va, vb, "{body}");
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "{body}"),
                _ => panic!("{body}: {fast:?} vs {slow:?}"),
            }
        }
    }

    #[test]
    fn one_walk_agrees_with_the_stepwise_parse() {
        let v = r#""webhook_version":"2026-03-22""#;
        let run = MINIMAL_RUN;
        let bodies = vec![
            run_body("run.completed", run),
            run_body(
                "run.failed",
                r#"{"run_id":"r","created_at":"2026-03-22T10:00:00Z","error":"boom","error_details":{"a":[1]}}"#,
            ),
            run_body("evaluation.completed", run),
            run_body("run.queued", run),
            run_body("run.completed", r#"{"run_id":"r"}"#),
            run_body(
                "run.completed",
                r#"{"run_id":1,"created_at":"2026-03-22T10:00:00Z"}"#,
            ),
            run_body("run.completed", "null"),
            run_body(
                "run.completed",
                r#"{"run_id":"r","created_at":"2026-03-22T10:00:00Z","status":7}"#,
            ),
            // Another order: data first, version last, type after data.
            format!(r#"{{"data":{{"run":{run}}},"id":"e","type":"run.completed",{v}}}"#),
            format!(r#"{{"id":"e","data":{{"run":{run}}},"type":"run.failed",{v}}}"#),
            format!(r#"{{"id":"e","type":"run.completed","data":{{"run":{run}}},{v}}}"#),
            format!(r#"{{"id":"e","type":"run.completed","data":{{"run":{{"run_id":"r"}}}},{v}}}"#),
            // Versions: other, missing, null, not a string.
            format!(
                r#"{{"id":"e","type":"run.completed","webhook_version":"2027-01-01","data":{{"run":{run}}}}}"#
            ),
            format!(r#"{{"id":"e","type":"run.completed","data":{{"run":{run}}}}}"#),
            format!(
                r#"{{"id":"e","type":"run.completed","webhook_version":null,"data":{{"run":{run}}}}}"#
            ),
            format!(
                r#"{{"id":"e","type":"run.completed","webhook_version":5,"data":{{"run":{run}}}}}"#
            ),
            // Envelope problems, before and after data.
            format!(r#"{{"type":"run.completed",{v},"data":{{"run":{run}}}}}"#),
            format!(r#"{{"id":"e",{v},"data":{{"run":{run}}}}}"#),
            format!(r#"{{"id":7,"type":"run.completed",{v},"data":{{"run":{run}}}}}"#),
            format!(
                r#"{{"id":"e","type":"run.completed",{v},"data":{{"run":{{"run_id":"r"}}}},"id":"f"}}"#
            ),
            format!(
                r#"{{"id":"e","type":"run.completed",{v},"data":{{"run":{run}}},"created_at":"noon"}}"#
            ),
            format!(r#"{{"id":"e","id":"f","type":"x",{v}}}"#),
            format!(r#"{{"id":"e","type":"x","type":"y",{v}}}"#),
            format!(r#"{{"id":"e","type":"x",{v},{v}}}"#),
            format!(r#"{{"id":"e","type":"x",{v},"created_at":null,"created_at":null}}"#),
            format!(
                r#"{{"id":"e","type":"run.completed",{v},"data":{{"run":{run}}},"data":{{"run":{run}}}}}"#
            ),
            format!(r#"{{"id":"e","type":"x",{v},"data":1,"data":2}}"#),
            format!(
                r#"{{"id":"e","type":"run.completed",{v},"created_at":null,"data":{{"run":{run}}},"extra":[{{}}]}}"#
            ),
            format!(r#"{{"i\u0064":"e","type":"run.completed",{v},"data":{{"run":{run}}}}}"#),
            // Syntax: bad JSON inside data, trailing garbage, whitespace, not an object.
            format!(
                r#"{{"id":"e","type":"run.completed",{v},"data":{{"run":{{"run_id":"r",}}}}}}"#
            ),
            format!(r#"{{"id":"e","type":"x",{v}}} x"#),
            format!(" \n {{\"id\":\"e\",\"type\":\"x\",{v}}} \n "),
            "[1,2]".into(),
            "\"text\"".into(),
            "".into(),
            "{".into(),
            format!("{{\"id\":\"e\",\"type\":\"x\",{v},\"other\":\"\\ud800\"}}"),
        ];
        for body in &bodies {
            same_as_stepwise(body);
        }
        // Invalid UTF-8 inside an ignored string.
        let mut bytes = format!(r#"{{"id":"e","type":"x",{v},"other":"??"}}"#).into_bytes();
        let at = bytes.len() - 4;
        bytes[at] = 0xff;
        assert_eq!(
            parse(&bytes, VersionPolicy::Exact).unwrap_err(),
            parse_stepwise(&bytes, VersionPolicy::Exact).unwrap_err()
        );
    }

    #[test]
    fn run_completed_minimal() {
        let e = parse(
            run_body("run.completed", MINIMAL_RUN).as_bytes(),
            VersionPolicy::Exact,
        )
        .unwrap();
        assert_eq!(e.kind(), EventKind::RunCompleted);
        assert_eq!(e.id(), "evt_1");
        let run = e.run().unwrap();
        assert_eq!(run.run_id, "8c1d7a52-4b0e-4c8e-9a51-0f2b8c6d9e10");
        assert_eq!(run.created_at.timestamp_subsec_millis(), 123);
        assert!(run.status.is_none() && run.output.is_none() && run.error.is_none());
    }

    #[test]
    fn aliases_and_unknown() {
        let e = parse(
            run_body("evaluation.failed", MINIMAL_RUN).as_bytes(),
            VersionPolicy::Exact,
        )
        .unwrap();
        assert_eq!(e.kind(), EventKind::RunFailed);
        assert_eq!(e.event_type(), "evaluation.failed");
        let body = r#"{"id":"evt_2","type":"run.queued","webhook_version":"2026-03-22","data":{"anything":[1,2]}}"#;
        let e = parse(body.as_bytes(), VersionPolicy::Exact).unwrap();
        assert_eq!(e.kind(), EventKind::Unknown);
        assert_eq!(e.event_type(), "run.queued");
        assert_eq!(e.raw().get(), body);
        assert!(e.run().is_none());
    }

    #[test]
    fn open_enums_and_extra_fields() {
        let run = r#"{"run_id":"r","created_at":"2026-03-22T10:00:00+02:00","status":"degraded","environment":"staging_eu","extra":{"x":1},"output":{"degradation_reason":"partial data"},"duration_ms":42}"#;
        let e = parse(
            run_body("run.completed", run).as_bytes(),
            VersionPolicy::Exact,
        )
        .unwrap();
        let r = e.run().unwrap();
        assert_eq!(r.status, Some(RunStatus::Degraded));
        assert!(r.status.as_ref().unwrap().is_terminal());
        assert_eq!(r.environment, Some(Environment::Other("staging_eu".into())));
        assert_eq!(r.degradation_reason().as_deref(), Some("partial data"));
        assert_eq!(r.created_at.to_rfc3339(), "2026-03-22T08:00:00+00:00");
        let run = r#"{"run_id":"r","created_at":"2026-03-22T10:00:00Z","status":"paused","environment":"live"}"#;
        let e = parse(
            run_body("run.completed", run).as_bytes(),
            VersionPolicy::Exact,
        )
        .unwrap();
        assert_eq!(
            e.run().unwrap().status,
            Some(RunStatus::Other("paused".into()))
        );
        assert_eq!(e.run().unwrap().environment, Some(Environment::Live));
    }

    #[test]
    fn version_policy() {
        let body = run_body("run.completed", MINIMAL_RUN).replace("2026-03-22\"", "2027-01-01\"");
        assert_eq!(
            parse(body.as_bytes(), VersionPolicy::Exact).err(),
            Some(ParseError::UnsupportedVersion)
        );
        let e = parse(body.as_bytes(), VersionPolicy::AcceptOther).unwrap();
        assert_eq!(e.webhook_version(), Some("2027-01-01"));
        let missing = r#"{"id":"evt_1","type":"x.y"}"#;
        assert_eq!(
            parse(missing.as_bytes(), VersionPolicy::Exact).err(),
            Some(ParseError::UnsupportedVersion)
        );
        assert!(parse(missing.as_bytes(), VersionPolicy::AcceptOther).is_ok());
    }

    #[test]
    fn errors_are_classified() {
        let e = parse(b"{not json", VersionPolicy::Exact).unwrap_err();
        assert_eq!(e.code(), "invalid_json");
        let e = parse(b"\xff\xfe", VersionPolicy::Exact).unwrap_err();
        assert_eq!(e.code(), "invalid_json");
        let e = parse(b"[1,2]", VersionPolicy::Exact).unwrap_err();
        assert_eq!(e.code(), "invalid_event");
        let e = parse(
            br#"{"type":"run.completed","webhook_version":"2026-03-22"}"#,
            VersionPolicy::Exact,
        )
        .unwrap_err();
        assert_eq!(e.code(), "invalid_event");
        let e = parse(
            br#"{"id":"e","type":"run.completed","webhook_version":"2026-03-22"}"#,
            VersionPolicy::Exact,
        )
        .unwrap_err();
        assert_eq!(
            e,
            ParseError::InvalidEvent {
                reason: InvalidEventReason::Run
            }
        );
        let bad_run = run_body("run.failed", r#"{"run_id":"r","created_at":"yesterday"}"#);
        assert_eq!(
            parse(bad_run.as_bytes(), VersionPolicy::Exact)
                .unwrap_err()
                .code(),
            "invalid_event"
        );
        // The message never quotes the payload.
        let secretish = run_body(
            "run.failed",
            r#"{"run_id":"r","created_at":"SENSITIVE-VALUE"}"#,
        );
        let msg = parse(secretish.as_bytes(), VersionPolicy::Exact)
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("SENSITIVE"), "{msg}");
    }
}
