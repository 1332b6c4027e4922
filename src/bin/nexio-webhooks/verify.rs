//! `verify`: check captured deliveries (raw HTTP request files).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::path::Path;

use nexio_webhooks::{Verifier, unix_now};
use serde::Serialize;

use crate::args::{VerifyArgs, VerifyFormat};
use crate::fail::{Outcome, UsageError};
use crate::request::{self, RequestError};
use crate::secrets;

/// The verdict on one captured delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `None` when it verified and parsed; else the error code.
    pub code: Option<&'static str>,
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    /// Which secret matched, when the signature verified (even if parsing failed).
    pub key_id: Option<String>,
    /// What went wrong, for humans, where the code alone does not say what to fix.
    pub detail: Option<String>,
    /// Unsigned headers that disagreed with the signed data (non-strict mode).
    pub warnings: Vec<String>,
    /// `now - t` when the signature header could be read (positive: that old).
    pub skew: Option<i64>,
    /// Why a rejected delivery failed: `(code, message)`, from `Verifier::diagnose`.
    pub hints: Vec<(&'static str, String)>,
    /// The codes of `warnings`, e.g. `environment_mismatch`.
    pub mismatches: Vec<&'static str>,
    /// With --endpoint-file: the endpoint that signed, and its environment.
    pub endpoint_id: Option<String>,
    pub environment: Option<String>,
}

impl Report {
    fn rejected(code: &'static str, detail: Option<String>) -> Self {
        Self {
            code: Some(code),
            event_type: None,
            event_id: None,
            key_id: None,
            detail,
            warnings: Vec::new(),
            skew: None,
            hints: Vec::new(),
            mismatches: Vec::new(),
            endpoint_id: None,
            environment: None,
        }
    }

    pub fn ok(&self) -> bool {
        self.code.is_none()
    }
}

/// Verifies and parses one raw HTTP request at `now`, whose body may be at most
/// `max_body` bytes (longer: `payload_too_large`).
pub fn check(verifier: &Verifier, raw: &[u8], max_body: usize, now: i64) -> Report {
    let req = match request::parse_with_limit(raw, max_body) {
        Ok(req) => req,
        Err(e) => return Report::rejected(e.code(), Some(e.to_string())),
    };
    let verified = match verifier.verify_at(&req.headers, req.body, now) {
        Ok(v) => v,
        Err(e) => {
            // A rejection is rare and worth the diagnosis's bounded extra HMACs: it
            // gives the age or skew always, and the hints for --explain.
            let diagnosis = verifier.diagnose(&req.headers, req.body, now);
            return Report {
                skew: diagnosis.skew(),
                hints: diagnosis
                    .hints()
                    .iter()
                    .map(|h| (h.code(), h.message()))
                    .collect(),
                ..Report::rejected(e.code(), None)
            };
        }
    };
    let mismatches = verified.mismatches();
    let warnings = mismatches
        .errors()
        .map(|e| format!("{e} (rejected with --strict)"))
        .collect();
    let mismatches = mismatches.errors().map(|e| e.code()).collect::<Vec<_>>();
    let endpoint_id = verified.endpoint_id().map(str::to_owned);
    let environment = verified
        .endpoint_environment()
        .map(|e| e.as_str().to_owned());
    let key_id = Some(verified.key_id().to_string());
    match verified.event() {
        Ok(event) => Report {
            code: None,
            event_type: Some(event.event_type().to_owned()),
            event_id: Some(event.id().to_owned()),
            key_id,
            detail: None,
            warnings,
            skew: Some(verified.skew()),
            hints: Vec::new(),
            mismatches,
            endpoint_id,
            environment,
        },
        Err(e) => Report {
            key_id,
            warnings,
            mismatches,
            endpoint_id,
            environment,
            ..Report::rejected(e.code(), Some(format!("signature verified, but: {e}")))
        },
    }
}

#[derive(Serialize)]
struct JsonLine<'a> {
    file: &'a str,
    ok: bool,
    code: Option<&'a str>,
    event_type: Option<&'a str>,
    event_id: Option<&'a str>,
    key_id: Option<&'a str>,
    /// Unsigned headers and endpoint expectations the signed data broke (not
    /// refused without --strict); only when there are some, or with --endpoint-file.
    #[serde(skip_serializing_if = "Option::is_none")]
    mismatches: Option<&'a [&'a str]>,
    /// Only with --endpoint-file: the endpoint that signed, and its environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint_id: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<Option<&'a str>>,
    /// Only with --explain, so the plain JSON lines keep their fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    skew_secs: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hints: Option<Vec<JsonHint<'a>>>,
}

#[derive(Serialize)]
struct JsonHint<'a> {
    code: &'a str,
    message: &'a str,
}

/// "signed 412 s ago" / "signed 30 s in the future".
pub fn describe_skew(skew: i64) -> String {
    if skew >= 0 {
        format!("signed {skew} s ago")
    } else {
        format!("signed {} s in the future", skew.unsigned_abs())
    }
}

/// Reads a captured delivery whose body may be at most `max_body` bytes: never more
/// than a head's worth ([`request::MAX_HEAD`]) plus `max_body` plus one byte, so a
/// larger file is read only as far as it takes to tell it is too large.
pub fn read_capture(path: &Path, max_body: usize) -> std::io::Result<Vec<u8>> {
    let cap = u64::try_from(request::MAX_HEAD.saturating_add(max_body))
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    read_at_most(path, cap)
}

fn read_at_most(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin().lock().take(cap).read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(path)?
            .take(cap)
            .read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

/// Is `c` unsafe to print raw: a control character (C0, DEL, C1 — the escape
/// sequences of a terminal start with ESC or CSI), or a bidirectional override or
/// isolate, which reorders what follows it on screen.
fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` for a terminal: every control character (and bidirectional control) written
/// as a Rust-style escape (`\x1b`, `\u{9b}`), everything else as is. A file name or
/// header value can then never move the cursor, recolour, or retitle the terminal.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unprintable) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().saturating_add(8));
    for c in s.chars() {
        if !is_unprintable(c) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

/// A JSON text with what serde_json leaves raw in strings (DEL, C1 controls,
/// bidirectional controls) written as `\uXXXX` too: the same JSON value, but nothing
/// a terminal would act on. Those characters only occur inside strings.
fn json_printable(json: String) -> String {
    if !json.chars().any(is_unprintable) {
        return json;
    }
    let mut out = String::with_capacity(json.len().saturating_add(8));
    for c in json.chars() {
        if is_unprintable(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

pub fn run(args: &VerifyArgs) -> Result<Outcome, UsageError> {
    let verifier = secrets::verifier(&args.policy)?;
    let with_endpoint = args.policy.endpoint_file.is_some();
    let now = args.now.unwrap_or_else(unix_now);
    let mut outcome = Outcome::Success;
    let mut unreadable = 0usize;
    let mut stdout = std::io::stdout().lock();
    for path in &args.files {
        let lossy = path.to_string_lossy();
        let name = printable(&lossy);
        let bytes = match read_capture(path, args.max_body) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("error: cannot read {name}: {e}");
                unreadable = unreadable.saturating_add(1);
                continue;
            }
        };
        let report = check(&verifier, &bytes, args.max_body, now);
        if !report.ok() {
            outcome = Outcome::Rejected;
        }
        for warning in &report.warnings {
            eprintln!("warning: {name}: {}", printable(warning));
        }
        if let Some(detail) = &report.detail {
            eprintln!("{name}: {}", printable(detail));
        }
        if !report.ok()
            && let Some(skew) = report.skew
        {
            eprintln!(
                "{name}: {} (window: {} s past, {} s future)",
                describe_skew(skew),
                args.policy.max_age,
                args.policy.max_future
            );
        }
        let line = match args.format {
            VerifyFormat::Text => match (&report.code, &report.event_type, &report.event_id) {
                (None, Some(t), Some(id)) => {
                    let mut line = format!(
                        "{name}: ok {} {} key={}",
                        printable(t),
                        printable(id),
                        printable(report.key_id.as_deref().unwrap_or("-"))
                    );
                    if let Some(endpoint) = &report.endpoint_id {
                        line.push_str(&format!(
                            " endpoint={} environment={}",
                            printable(endpoint),
                            printable(report.environment.as_deref().unwrap_or("-"))
                        ));
                    }
                    line
                }
                (code, _, _) => {
                    let mut line = format!("{name}: rejected {}", code.unwrap_or("unknown"));
                    if args.explain {
                        for (code, message) in &report.hints {
                            line.push_str(&format!("\n  hint {code}: {}", printable(message)));
                        }
                        if report.hints.is_empty() && report.code != Some(RequestError::CODE) {
                            line.push_str("\n  (no hint: the error code says it all)");
                        }
                    }
                    line
                }
            },
            VerifyFormat::Json => serde_json::to_string(&JsonLine {
                file: &lossy,
                ok: report.ok(),
                code: report.code,
                event_type: report.event_type.as_deref(),
                event_id: report.event_id.as_deref(),
                key_id: report.key_id.as_deref(),
                mismatches: (with_endpoint || !report.mismatches.is_empty())
                    .then_some(report.mismatches.as_slice()),
                endpoint_id: with_endpoint.then_some(report.endpoint_id.as_deref()),
                environment: with_endpoint.then_some(report.environment.as_deref()),
                skew_secs: args.explain.then_some(report.skew),
                hints: args.explain.then(|| {
                    report
                        .hints
                        .iter()
                        .map(|(code, message)| JsonHint { code, message })
                        .collect()
                }),
            })
            .map(json_printable)
            .map_err(|e| UsageError::new(format!("cannot write JSON: {e}")))?,
        };
        if let Err(e) = writeln!(stdout, "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                break;
            }
            return Err(UsageError::new(format!("cannot write to stdout: {e}")));
        }
    }
    let _ = stdout.flush();
    if unreadable > 0 {
        return Err(UsageError::new(format!(
            "{unreadable} of {} file(s) could not be read",
            args.files.len()
        )));
    }
    Ok(outcome)
}
