//! Why a delivery failed: [`Verifier::diagnose`] re-runs the verification and then
//! tries the usual ways a correctly signed delivery gets broken on its way — a
//! re-serialized JSON body, changed line endings, a final newline added or lost, a
//! byte order mark, another key convention, the wrong timestamp, a clock off, an old
//! capture, the wrong secret — and reports each one that explains the failure as a
//! typed [`Hint`].
//!
//! This is an operator's tool, off the hot path: it allocates, and it computes more
//! HMACs than [`Verifier::verify_at`] — but a fixed number of them per secret, see
//! [`Verifier::diagnose`]. No hint, and nothing in a [`Diagnosis`], contains a secret,
//! an expected MAC or the body.

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::sync::Arc;
use core::fmt;

use crate::error::VerifyError;
use crate::header::{MAX_SIGNATURES, SignatureHeader, SignatureHeaderError};
use crate::headers::{self, HeaderLookup, HeaderSource};
use crate::mac::{DIGEST_LEN, PreparedKey, matches_any};
use crate::secret::{KeyId, SECRET_PREFIX, Secret};
use crate::time::WindowError;
use crate::verifier::{KeyEntry, Verifier, parse_unix};

/// Outside the window by at most this many seconds: probably a clock; by more: an
/// old capture.
const CLOCK_SKEW_LIMIT: u64 = 600;

/// Bodies up to this size (the receivers' default limit) are tried changed; larger
/// ones are not, which bounds the copies a diagnosis holds at once.
const MAX_CHANGED_BODY: usize = 1024 * 1024;

/// A re-serialized body may grow (indentation) to at most 8 times the body plus this
/// much; a body that would grow more (deep nesting) is not tried in that form.
const REFORMAT_SLACK: usize = 64 * 1024;

/// The most scheme names a `no_v1_entries` hint lists, and the longest name kept.
const MAX_SCHEMES: usize = 8;
const MAX_SCHEME_LEN: usize = 16;

/// The secret under the key conventions other than the crate's (the whole
/// `whsec_…` string): the remainder after `whsec_`, and that remainder
/// base64-decoded. Prepared when the secret is added to a [`Verifier`], so
/// diagnosing never needs the secret's text.
pub(crate) struct Alternates {
    stripped: Option<PreparedKey>,
    decoded: Option<PreparedKey>,
}

impl Alternates {
    pub(crate) fn of(secret: &Secret) -> Arc<Self> {
        let remainder = secret.key_bytes().strip_prefix(SECRET_PREFIX.as_bytes());
        let prepare = |key: &[u8]| Secret::from_raw_key(key).ok().map(|s| PreparedKey::new(&s));
        let stripped = remainder.and_then(prepare);
        let decoded = remainder
            .and_then(|r| decode_base64(r).filter(|d| d.as_slice() != r))
            .and_then(|d| prepare(&zeroize::Zeroizing::new(d)));
        Arc::new(Self { stripped, decoded })
    }
}

/// The verdict on a delivery, and hints at what went wrong when it failed.
///
/// Built by [`Verifier::diagnose`]. A delivery that verifies gets no hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    verdict: Result<KeyId, VerifyError>,
    timestamp: Option<i64>,
    skew: Option<i64>,
    signature_key: Option<KeyId>,
    hints: Vec<Hint>,
    hmacs: usize,
}

impl Diagnosis {
    /// What [`Verifier::verify_at`] answered: the id of the secret that matched, or
    /// the error.
    pub fn verdict(&self) -> Result<KeyId, VerifyError> {
        self.verdict
    }

    /// Whether the delivery verified.
    pub fn is_verified(&self) -> bool {
        self.verdict.is_ok()
    }

    /// What went wrong, most basic first; empty when the delivery verified, and
    /// possibly empty when nothing tried explains a failure (a missing or malformed
    /// header: the verdict says it all).
    pub fn hints(&self) -> &[Hint] {
        &self.hints
    }

    /// The signed `t=` timestamp, when the signature header could be read.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// `now - t` in seconds (positive: the delivery is that old; negative: it is
    /// signed in the future), when the signature header could be read.
    pub fn skew(&self) -> Option<i64> {
        self.skew
    }

    /// The configured secret (expired ones included) whose HMAC of the body as
    /// received matches a `v1` entry, whatever the window, the bearer token or strict
    /// mode said. `Some` with a failed verdict means the signature is fine and
    /// something else is not.
    pub fn signature_key(&self) -> Option<KeyId> {
        self.signature_key
    }

    /// How many HMACs the diagnosis computed (see [`Verifier::diagnose`] for the
    /// bound).
    pub fn hmacs(&self) -> usize {
        self.hmacs
    }
}

/// One explanation of a failed verification, with a stable [`code`](Self::code) and
/// a message an operator can act on.
///
/// | code | the delivery would verify, or fails, because |
/// | --- | --- |
/// | `body_reformatted` | the body re-serialized as JSON (compact, `", "`/`": "` separated, 2- or 4-space indented; keys in received order) verifies |
/// | `line_endings_changed` | the body with CRLF turned into LF, or LF into CRLF, verifies |
/// | `trailing_newline_changed` | the body with one final `\n` / `\r\n` added or removed verifies |
/// | `bom_added` | the body without its leading UTF-8 byte order mark verifies |
/// | `key_convention` | the secret's part after `whsec_`, or its base64 decoding, as the key verifies (see [`Secret::from_raw_key`]) |
/// | `timestamp_header_used` | signing with `X-Nexio-Timestamp` instead of `t=` verifies |
/// | `clock_skew` | outside the window by at most 10 minutes, or in the future: probably a clock |
/// | `old_capture` | older than the window by more than 10 minutes: a stored or replayed request |
/// | `secret_expired` | the signature matches a secret whose expiry has passed |
/// | `no_v1_entries` | the signature header has only other schemes |
/// | `malformed_v1` | no `v1` entry is 64 hex digits |
/// | `empty_body` | the body is empty |
/// | `wrong_secret` | well-formed `v1` entries and nothing above matches; [`keys_tried`](Self::keys_tried) lists the secrets tried |
///
/// Codes are never renamed; new ones may be added. Messages never contain a secret,
/// an expected MAC or the body: only key ids ([`KeyId`]), timestamps and counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    EmptyBody,
    NoV1Entries {
        schemes: Vec<String>,
    },
    MalformedV1 {
        entries: usize,
    },
    ClockSkew(Lateness),
    OldCapture(Lateness),
    SecretExpired {
        key: KeyId,
        expired_at: i64,
    },
    Body {
        change: BodyChange,
        key: KeyId,
    },
    KeyConvention {
        decoded: bool,
        key: KeyId,
    },
    TimestampHeaderUsed {
        header: i64,
        signed: i64,
        key: KeyId,
    },
    WrongSecret {
        tried: Vec<KeyId>,
        /// Whether the body was small enough to be tried changed.
        body_tried: bool,
    },
}

/// How far outside the window a timestamp is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lateness {
    /// `now - t`.
    skew: i64,
    /// Seconds beyond the window's bound.
    beyond: u64,
    /// The bound itself (max age or max future), seconds.
    bound: u64,
    /// Whether the signature matched a secret over the body as received.
    signature_valid: bool,
}

/// A change to the body that would make it verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyChange {
    RemoveFinal(&'static str),
    AddFinal(&'static str),
    StripBom,
    CrlfToLf,
    LfToCrlf,
    Json(JsonForm),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonForm {
    /// No whitespace at all (`JSON.stringify(x)`, `serde_json::to_vec`).
    Compact,
    /// `", "` and `": "` on one line (Python's `json.dumps(x)`).
    Spaced,
    /// Pretty-printed with this many spaces per level.
    Indent(usize),
}

impl Hint {
    /// The stable machine code, e.g. `body_reformatted`.
    pub fn code(&self) -> &'static str {
        match &self.kind {
            Kind::EmptyBody => "empty_body",
            Kind::NoV1Entries { .. } => "no_v1_entries",
            Kind::MalformedV1 { .. } => "malformed_v1",
            Kind::ClockSkew(_) => "clock_skew",
            Kind::OldCapture(_) => "old_capture",
            Kind::SecretExpired { .. } => "secret_expired",
            Kind::Body { change, .. } => match change {
                BodyChange::RemoveFinal(_) | BodyChange::AddFinal(_) => "trailing_newline_changed",
                BodyChange::StripBom => "bom_added",
                BodyChange::CrlfToLf | BodyChange::LfToCrlf => "line_endings_changed",
                BodyChange::Json(_) => "body_reformatted",
            },
            Kind::KeyConvention { .. } => "key_convention",
            Kind::TimestampHeaderUsed { .. } => "timestamp_header_used",
            Kind::WrongSecret { .. } => "wrong_secret",
        }
    }

    /// What happened and what to do, for an operator.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The configured secret this hint is about: the one that would have matched
    /// after the change the hint describes. `None` for hints about no one secret.
    pub fn key_id(&self) -> Option<KeyId> {
        match &self.kind {
            Kind::SecretExpired { key, .. }
            | Kind::Body { key, .. }
            | Kind::KeyConvention { key, .. }
            | Kind::TimestampHeaderUsed { key, .. } => Some(*key),
            _ => None,
        }
    }

    /// For `wrong_secret`: the ids of the secrets tried (the unexpired ones, primary
    /// first). Empty for every other hint.
    pub fn keys_tried(&self) -> &[KeyId] {
        match &self.kind {
            Kind::WrongSecret { tried, .. } => tried,
            _ => &[],
        }
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::EmptyBody => f.write_str(
                "the body is empty: a framework or middleware probably read it before the check \
                 (give the check the raw body), or the capture lost it",
            ),
            Kind::NoV1Entries { schemes } => {
                f.write_str("the signature header has no v1 entry")?;
                if !schemes.is_empty() {
                    write!(f, " (it has: {})", schemes.join(", "))?;
                }
                f.write_str(
                    ": this crate checks v1 (HMAC-SHA256) only; the sender uses another scheme",
                )
            }
            Kind::MalformedV1 { entries } => write!(
                f,
                "none of the {entries} v1 entries is 64 hex digits: the signature header was cut \
                 or altered on the way"
            ),
            Kind::ClockSkew(l) => {
                if l.skew >= 0 {
                    write!(
                        f,
                        "signed {} s ago, {} s beyond the {} s window",
                        l.skew, l.beyond, l.bound
                    )?;
                } else {
                    write!(
                        f,
                        "signed {} s in the future, {} s beyond the {} s allowance",
                        l.skew.unsigned_abs(),
                        l.beyond,
                        l.bound
                    )?;
                }
                if l.signature_valid {
                    f.write_str(" (the signature itself is valid)")?;
                }
                if l.skew < 0 && l.beyond > CLOCK_SKEW_LIMIT {
                    f.write_str(
                        ": a clock is far off (this host's behind or the sender's ahead), or the \
                         timestamp was made up; check both clocks (NTP)",
                    )
                } else {
                    f.write_str(
                        ": probably a clock off on this host or the sender; check both (NTP) \
                         before widening the window",
                    )
                }
            }
            Kind::OldCapture(l) => {
                write!(
                    f,
                    "signed {} s ago, {} s beyond the {} s window",
                    l.skew, l.beyond, l.bound
                )?;
                if l.signature_valid {
                    f.write_str(" (the signature itself is valid)")?;
                }
                f.write_str(
                    ": a stored or replayed request, not a live delivery; for a test, re-sign it \
                     with a fresh timestamp (`nexio-webhooks replay`)",
                )
            }
            Kind::SecretExpired { key, expired_at } => write!(
                f,
                "the signature matches secret {key}, which expired at {expired_at} (Unix): the \
                 sender still signs with the previous secret; extend its expiry or check the \
                 endpoint's rotation"
            ),
            Kind::Body { change, key } => {
                let (what, why) = match change {
                    BodyChange::RemoveFinal(nl) => (
                        format!("with its final {} removed", newline_name(nl)),
                        "a proxy, an editor or a logging step added it; verify the body byte \
                         for byte as received",
                    ),
                    BodyChange::AddFinal(nl) => (
                        format!("with a final {} added", newline_name(nl)),
                        "something stripped it (a trim, a line-based read); verify the body \
                         byte for byte as received",
                    ),
                    BodyChange::StripBom => (
                        "without its leading UTF-8 byte order mark".to_owned(),
                        "something added the mark (a text encoder, an editor); verify the \
                         body byte for byte as received",
                    ),
                    BodyChange::CrlfToLf => (
                        "with its CRLF line endings turned into LF".to_owned(),
                        "something converted the line endings (git autocrlf, a text-mode \
                         read or write); read and store the body as bytes",
                    ),
                    BodyChange::LfToCrlf => (
                        "with its LF line endings turned into CRLF".to_owned(),
                        "something converted the line endings (git autocrlf, a text-mode \
                         read or write); read and store the body as bytes",
                    ),
                    BodyChange::Json(form) => (
                        format!("re-serialized as {}", json_form_name(*form)),
                        "the JSON was parsed and serialized again before the check (a \
                         framework's JSON body parser); verify the raw body bytes, before any \
                         parsing",
                    ),
                };
                write!(f, "the body verifies {what} (secret {key}): {why}")
            }
            Kind::KeyConvention { decoded, key } => {
                let which = if *decoded {
                    "the base64 decoding of the part after `whsec_`"
                } else {
                    "the part after `whsec_`"
                };
                write!(
                    f,
                    "the signature verifies with {which} of secret {key} as the HMAC key: the \
                     sender uses another key convention than this crate (the whole secret \
                     string); if that is Nexio's documented convention, build the secret with \
                     `Secret::from_raw_key`"
                )
            }
            Kind::TimestampHeaderUsed {
                header,
                signed,
                key,
            } => write!(
                f,
                "the signature verifies over X-Nexio-Timestamp ({header}) instead of t= \
                 ({signed}) (secret {key}): the sender signs with the wrong timestamp; t= is \
                 the one that is signed"
            ),
            Kind::WrongSecret { tried, body_tried } => {
                if tried.is_empty() {
                    return f.write_str(
                        "no unexpired secret is configured, and no expired one matches: add the \
                         endpoint's current secret",
                    );
                }
                let ids: Vec<String> = tried.iter().map(ToString::to_string).collect();
                let changes = if *body_tried {
                    "the usual body, key or timestamp changes"
                } else {
                    "the usual key or timestamp changes (the body, over 1 MiB, was not tried \
                     changed)"
                };
                write!(
                    f,
                    "no configured secret signed this delivery (tried {}), nor would any after \
                     {changes}: it is signed with another secret (another endpoint's, or one \
                     rotated away); check which endpoint sent it and use that endpoint's secret",
                    ids.join(", ")
                )
            }
        }
    }
}

fn newline_name(nl: &str) -> &'static str {
    if nl == "\r\n" {
        "\"\\r\\n\""
    } else {
        "\"\\n\""
    }
}

fn json_form_name(form: JsonForm) -> &'static str {
    match form {
        JsonForm::Compact => "compact JSON",
        JsonForm::Spaced => "JSON with \", \" and \": \" separators",
        JsonForm::Indent(2) => "JSON indented by 2 spaces",
        JsonForm::Indent(_) => "JSON indented by 4 spaces",
    }
}

impl Verifier {
    /// Verifies at `now` like [`Verifier::verify_at`] and, when that fails, works out
    /// why: the verdict plus typed [`Hint`]s.
    ///
    /// Off the hot path (it allocates), for operators, logs and the command line's
    /// `verify --explain`. The work is bounded: after the verification itself, at
    /// most **14 HMACs per unexpired secret** (the body as received, up to 4 JSON
    /// forms, 2 line-ending conversions, 3 final-newline changes, a stripped byte
    /// order mark, 2 key conventions and the `X-Nexio-Timestamp` value) and **one per
    /// expired secret**, each over at most 8 times the body plus 64 KiB. Changed
    /// bodies are tried only for bodies up to 1 MiB; the header bounds of
    /// [`Verifier::verify_at`] (4096 bytes, 16 `v1`) apply before any hashing. The
    /// hints never contain a secret, an expected MAC or the body.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// # #[cfg(feature = "std")] {
    /// use nexio_webhooks::{Secret, Signer, Verifier};
    ///
    /// let secret = Secret::new("whsec_abc123def456")?;
    /// let delivery = Signer::new(secret.clone())
    ///     .delivery(r#"{"id":"evt_1","type":"run.completed"}"#)
    ///     .timestamp(1_774_180_800)
    ///     .build();
    /// // A framework parsed the JSON and pretty-printed it again.
    /// let reformatted = "{\n  \"id\": \"evt_1\",\n  \"type\": \"run.completed\"\n}";
    /// let diagnosis = Verifier::new(secret).diagnose(&delivery, reformatted.as_bytes(), 1_774_180_810);
    /// assert!(!diagnosis.is_verified());
    /// assert_eq!(diagnosis.hints()[0].code(), "body_reformatted");
    /// # }
    /// # }
    /// # Ok::<(), nexio_webhooks::SecretError>(())
    /// ```
    pub fn diagnose<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: i64,
    ) -> Diagnosis {
        let verdict = self.verify_at(headers, body, now).map(|v| v.key_id());
        let mut found = [HeaderLookup::Absent; 2];
        headers.lookup_many(&[headers::SIGNATURE, headers::TIMESTAMP], &mut found);
        let [signature, timestamp_header] = found;
        let parsed = match signature {
            HeaderLookup::One(v) => Some(SignatureHeader::parse(v)),
            _ => None,
        };
        let (timestamp, skew) = match &parsed {
            Some(Ok(s)) => (Some(s.timestamp()), Some(now.saturating_sub(s.timestamp()))),
            _ => (None, None),
        };
        let mut d = Diagnosis {
            verdict,
            timestamp,
            skew,
            signature_key: None,
            hints: Vec::new(),
            hmacs: 0,
        };
        if d.verdict.is_ok() {
            return d;
        }
        if body.is_empty() {
            d.push(Kind::EmptyBody);
        }
        let signature = match parsed {
            Some(Ok(s)) => s,
            Some(Err(SignatureHeaderError::MissingSignature)) => {
                if let HeaderLookup::One(v) = signature {
                    d.push(Kind::NoV1Entries {
                        schemes: scheme_names(v),
                    });
                }
                return d;
            }
            _ => return d,
        };
        let mut digests = [[0u8; DIGEST_LEN]; MAX_SIGNATURES];
        let mut count = 0usize;
        for (slot, digest) in digests.iter_mut().zip(signature.digests()) {
            *slot = digest;
            count = count.saturating_add(1);
        }
        let candidates = digests.get(..count).unwrap_or_default();
        let t = signature.timestamp_text();
        let mut run = Run {
            candidates,
            hmacs: 0,
        };

        // The signature over the body as received, every secret, expired or not.
        let signature_key = if candidates.is_empty() {
            None
        } else {
            self.inner
                .keys
                .iter()
                .find(|e| run.matches(&e.key, t, body))
                .map(|e| e.key.id())
        };
        d.signature_key = signature_key;
        self.time_hints(&mut d, signature.timestamp(), now);
        if candidates.is_empty() {
            d.push(Kind::MalformedV1 {
                entries: signature.signature_count(),
            });
            d.hmacs = run.hmacs;
            return d;
        }
        if let Some(key) = signature_key {
            if let Some(entry) = self.inner.keys.iter().find(|e| e.key.id() == key)
                && let Some(expired_at) = entry.expires_at.filter(|&exp| now > exp)
            {
                d.push(Kind::SecretExpired { key, expired_at });
            }
            d.hmacs = run.hmacs;
            return d;
        }

        let live: Vec<&KeyEntry> = self
            .inner
            .keys
            .iter()
            .filter(|e| e.expires_at.is_none_or(|exp| now <= exp))
            .collect();
        let before = d.hints.len();
        for (change, variant) in body_variants(body) {
            if let Some(e) = live.iter().find(|e| run.matches(&e.key, t, &variant)) {
                d.push(Kind::Body {
                    change,
                    key: e.key.id(),
                });
            }
        }
        for e in &live {
            let conventions = [
                (false, &e.alternates.stripped),
                (true, &e.alternates.decoded),
            ];
            for (decoded, alt) in conventions {
                if alt.as_ref().is_some_and(|k| run.matches(k, t, body)) {
                    d.push(Kind::KeyConvention {
                        decoded,
                        key: e.key.id(),
                    });
                }
            }
        }
        if let HeaderLookup::One(v) = timestamp_header
            && let text = v.trim_ascii()
            && let Some(header) = parse_unix(text).filter(|&h| h != signature.timestamp())
            && let Some(e) = live.iter().find(|e| run.matches(&e.key, text, body))
        {
            d.push(Kind::TimestampHeaderUsed {
                header,
                signed: signature.timestamp(),
                key: e.key.id(),
            });
        }
        if d.hints.len() == before {
            d.push(Kind::WrongSecret {
                tried: live.iter().map(|e| e.key.id()).collect(),
                body_tried: body.len() <= MAX_CHANGED_BODY,
            });
        }
        d.hmacs = run.hmacs;
        d
    }

    /// The hints that need no body, for a rejection made before the body was read
    /// (the framework adapters refuse a missing, malformed, stale or future signature
    /// header first): `clock_skew`, `old_capture`, `no_v1_entries` and
    /// `malformed_v1`. No HMAC is computed, so the time hints do not say whether the
    /// signature is valid.
    ///
    /// Calling [`Verifier::diagnose`] with an empty body instead would report
    /// `empty_body` and, the MAC being over the wrong bytes, `wrong_secret`.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// # #[cfg(feature = "std")] {
    /// use nexio_webhooks::{Secret, Signer, Verifier};
    ///
    /// let secret = Secret::new("whsec_abc123def456")?;
    /// let delivery = Signer::new(secret.clone()).delivery("{}").timestamp(1_774_180_800).build();
    /// let hints = Verifier::new(secret).diagnose_headers(&delivery, 1_774_180_800 + 3600);
    /// assert_eq!(hints[0].code(), "old_capture");
    /// # }
    /// # }
    /// # Ok::<(), nexio_webhooks::SecretError>(())
    /// ```
    pub fn diagnose_headers<H: HeaderSource + ?Sized>(&self, headers: &H, now: i64) -> Vec<Hint> {
        let mut d = Diagnosis {
            verdict: Err(VerifyError::MissingSignature),
            timestamp: None,
            skew: None,
            signature_key: None,
            hints: Vec::new(),
            hmacs: 0,
        };
        let HeaderLookup::One(value) = headers.lookup(headers::SIGNATURE) else {
            return d.hints;
        };
        match SignatureHeader::parse(value) {
            Ok(signature) => {
                self.time_hints(&mut d, signature.timestamp(), now);
                if signature.digests().next().is_none() {
                    d.push(Kind::MalformedV1 {
                        entries: signature.signature_count(),
                    });
                }
            }
            Err(SignatureHeaderError::MissingSignature) => d.push(Kind::NoV1Entries {
                schemes: scheme_names(value),
            }),
            Err(_) => {}
        }
        d.hints
    }

    fn time_hints(&self, d: &mut Diagnosis, timestamp: i64, now: i64) {
        let tolerance = self.inner.tolerance;
        let signature_valid = d.signature_key.is_some();
        let skew = now.saturating_sub(timestamp);
        match tolerance.check(timestamp, now) {
            Ok(_) => {}
            Err(WindowError::TooOld { age_secs }) => {
                let bound = tolerance.max_age().as_secs();
                let lateness = Lateness {
                    skew,
                    beyond: age_secs.saturating_sub(bound),
                    bound,
                    signature_valid,
                };
                d.push(if lateness.beyond <= CLOCK_SKEW_LIMIT {
                    Kind::ClockSkew(lateness)
                } else {
                    Kind::OldCapture(lateness)
                });
            }
            Err(WindowError::TooNew { ahead_secs }) => {
                let bound = tolerance.max_future().as_secs();
                d.push(Kind::ClockSkew(Lateness {
                    skew,
                    beyond: ahead_secs.saturating_sub(bound),
                    bound,
                    signature_valid,
                }));
            }
        }
    }
}

impl Diagnosis {
    fn push(&mut self, kind: Kind) {
        self.hints.push(Hint { kind });
    }
}

/// The HMAC trials of one diagnosis, counted.
struct Run<'c> {
    candidates: &'c [[u8; DIGEST_LEN]],
    hmacs: usize,
}

impl Run<'_> {
    fn matches(&mut self, key: &PreparedKey, timestamp: &[u8], body: &[u8]) -> bool {
        self.hmacs = self.hmacs.saturating_add(1);
        matches_any(&key.sign(timestamp, body), self.candidates)
    }
}

/// The keys of a signature header's elements, for a header without `v1`: only
/// short ASCII-alphanumeric names, at most [`MAX_SCHEMES`], never a value.
fn scheme_names(value: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for element in value.split(|&b| b == b',') {
        let Some(key) = element.split(|&b| b == b'=').next() else {
            continue;
        };
        let key = key.trim_ascii();
        let ok = !key.is_empty()
            && key.len() <= MAX_SCHEME_LEN
            && key.iter().all(u8::is_ascii_alphanumeric)
            && key != b"t";
        if ok {
            let name = String::from_utf8_lossy(key).into_owned();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if names.len() >= MAX_SCHEMES {
            break;
        }
    }
    names
}

/// Every changed body worth one HMAC, simplest explanation first, each distinct from
/// the body and from the ones before it; none for a body over [`MAX_CHANGED_BODY`].
fn body_variants(body: &[u8]) -> Vec<(BodyChange, Vec<u8>)> {
    let mut out: Vec<(BodyChange, Vec<u8>)> = Vec::new();
    if body.len() > MAX_CHANGED_BODY {
        return out;
    }
    let mut add = |change: BodyChange, bytes: Vec<u8>| {
        if bytes != body && out.iter().all(|(_, b)| *b != bytes) {
            out.push((change, bytes));
        }
    };
    if let Some(rest) = body.strip_suffix(b"\r\n") {
        add(BodyChange::RemoveFinal("\r\n"), rest.to_vec());
    } else if let Some(rest) = body.strip_suffix(b"\n") {
        add(BodyChange::RemoveFinal("\n"), rest.to_vec());
    }
    for nl in ["\n", "\r\n"] {
        let mut longer = body.to_vec();
        longer.extend_from_slice(nl.as_bytes());
        add(BodyChange::AddFinal(nl), longer);
    }
    if let Some(rest) = body.strip_prefix(b"\xEF\xBB\xBF") {
        add(BodyChange::StripBom, rest.to_vec());
    }
    if body.windows(2).any(|w| w == b"\r\n") {
        add(BodyChange::CrlfToLf, crlf_to_lf(body));
    }
    if has_lone_lf(body) {
        add(BodyChange::LfToCrlf, lf_to_crlf(body));
    }
    if body.len() <= MAX_CHANGED_BODY
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
    {
        let cap = body.len().saturating_mul(8).saturating_add(REFORMAT_SLACK);
        for form in [
            JsonForm::Compact,
            JsonForm::Spaced,
            JsonForm::Indent(2),
            JsonForm::Indent(4),
        ] {
            if let Some(bytes) = reformat_json(body, form, cap) {
                add(BodyChange::Json(form), bytes);
            }
        }
    }
    out
}

fn crlf_to_lf(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'\r' && tail.first() == Some(&b'\n') {
            // The `\n` is pushed on the next turn.
        } else {
            out.push(b);
        }
        rest = tail;
    }
    out
}

fn has_lone_lf(body: &[u8]) -> bool {
    let mut previous = 0u8;
    body.iter().any(|&b| {
        let lone = b == b'\n' && previous != b'\r';
        previous = b;
        lone
    })
}

fn lf_to_crlf(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len().saturating_add(body.len() / 8));
    let mut previous = 0u8;
    for &b in body {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

/// `body` (already known to be valid JSON) written again in `form`, keys and every
/// token as received — strings and numbers are copied, not re-encoded — or `None`
/// if the output would exceed `cap` bytes.
///
/// A token walk rather than `serde_json::Value`, whose maps sort keys (the crate's
/// `serde_json` has no `preserve_order`, and turning it on would change every
/// user's `serde_json` map type).
fn reformat_json(body: &[u8], form: JsonForm, cap: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut depth = 0usize;
    // Just wrote `{` or `[`: the next token decides between `{}` and a new line.
    let mut opened = false;
    let mut rest = body;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        if let JsonForm::Indent(n) = form {
            out.push(b'\n');
            let width = depth.saturating_mul(n);
            out.resize(out.len().saturating_add(width), b' ');
        }
    };
    loop {
        rest = rest.trim_ascii_start();
        let Some((&c, tail)) = rest.split_first() else {
            break;
        };
        match c {
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if !opened {
                    newline(&mut out, depth);
                }
                opened = false;
                out.push(c);
                rest = tail;
            }
            b',' => {
                out.push(b',');
                match form {
                    JsonForm::Compact => {}
                    JsonForm::Spaced => out.push(b' '),
                    JsonForm::Indent(_) => newline(&mut out, depth),
                }
                rest = tail;
            }
            b':' => {
                out.push(b':');
                if form != JsonForm::Compact {
                    out.push(b' ');
                }
                rest = tail;
            }
            _ => {
                if opened {
                    newline(&mut out, depth);
                    opened = false;
                }
                if c == b'{' || c == b'[' {
                    out.push(c);
                    depth = depth.saturating_add(1);
                    opened = true;
                    rest = tail;
                } else {
                    let len = if c == b'"' {
                        string_len(rest)
                    } else {
                        rest.iter()
                            .position(|b| b",:]} \t\r\n".contains(b))
                            .unwrap_or(rest.len())
                    };
                    let (token, after) = rest.split_at_checked(len.max(1))?;
                    out.extend_from_slice(token);
                    rest = after;
                }
            }
        }
        if out.len() > cap {
            return None;
        }
    }
    Some(out)
}

/// The length of the JSON string at the start of `s` (which starts with `"`),
/// closing quote included.
fn string_len(s: &[u8]) -> usize {
    let mut escaped = false;
    for (i, &b) in s.iter().enumerate().skip(1) {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return i.saturating_add(1);
        }
    }
    s.len()
}

/// Standard or URL-safe base64, padded or not; `None` for anything else. Secrets
/// are short and this runs once per secret, at construction: a table-free decoder
/// is enough, and keeps `base64` out of the library's dependencies.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let unpadded = match text {
        [rest @ .., b'=', b'='] | [rest @ .., b'='] => {
            if !text.len().is_multiple_of(4) {
                return None;
            }
            rest
        }
        _ => text,
    };
    if unpadded.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(unpadded.len().saturating_mul(3) / 4);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &c in unpadded {
        let v = match c {
            b'A'..=b'Z' => c.wrapping_sub(b'A'),
            b'a'..=b'z' => c.wrapping_sub(b'a').wrapping_add(26),
            b'0'..=b'9' => c.wrapping_sub(b'0').wrapping_add(52),
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits = bits.wrapping_add(6);
        if bits >= 8 {
            bits = bits.wrapping_sub(8);
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap_or_default());
        }
        acc &= (1u32 << bits).wrapping_sub(1);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn base64_matches_the_base64_crate() {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        for len in 0..80usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len * 11) as u8).collect();
            for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                let text = engine.encode(&bytes);
                assert_eq!(
                    decode_base64(text.as_bytes()),
                    Some(bytes.clone()),
                    "{text}"
                );
            }
        }
        for bad in ["a", "abcde", "ab=c", "a===", "ab!d", "abc=d", "ab c"] {
            assert_eq!(decode_base64(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn json_forms_keep_key_order_and_tokens() {
        let body = br#"  {"z":1,"a":[1, 2,{}],"s":"x\"y, :]","e":[],"n":-1.5e3, "t":true}  "#;
        let cap = 1 << 20;
        assert_eq!(
            reformat_json(body, JsonForm::Compact, cap).unwrap(),
            br#"{"z":1,"a":[1,2,{}],"s":"x\"y, :]","e":[],"n":-1.5e3,"t":true}"#
        );
        assert_eq!(
            reformat_json(body, JsonForm::Spaced, cap).unwrap(),
            br#"{"z": 1, "a": [1, 2, {}], "s": "x\"y, :]", "e": [], "n": -1.5e3, "t": true}"#
        );
        let two = "{\n  \"z\": 1,\n  \"a\": [\n    1,\n    2,\n    {}\n  ],\n  \"s\": \"x\\\"y, :]\",\n  \"e\": [],\n  \"n\": -1.5e3,\n  \"t\": true\n}";
        assert_eq!(
            String::from_utf8(reformat_json(body, JsonForm::Indent(2), cap).unwrap()).unwrap(),
            two
        );
        // The same as serde_json's pretty printer on a value whose keys it keeps.
        let v: serde_json::Value = serde_json::from_str(r#"{"a":[1,{"b":null}],"c":{}}"#).unwrap();
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        assert_eq!(
            reformat_json(br#"{"a":[1,{"b":null}],"c":{}}"#, JsonForm::Indent(2), cap).unwrap(),
            pretty.as_bytes()
        );
        // Deep nesting past the cap is not tried.
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(reformat_json(deep.as_bytes(), JsonForm::Indent(4), 1000).is_none());
        assert!(reformat_json(deep.as_bytes(), JsonForm::Compact, 1000).is_some());
    }

    #[test]
    fn line_ending_conversions() {
        assert_eq!(crlf_to_lf(b"a\r\nb\r\rc\n"), b"a\nb\r\rc\n");
        assert_eq!(lf_to_crlf(b"a\nb\r\nc"), b"a\r\nb\r\nc");
        assert!(has_lone_lf(b"a\r\nb\n"));
        assert!(!has_lone_lf(b"a\r\nb\r\n"));
    }

    #[test]
    fn scheme_names_are_bounded_and_value_free() {
        assert_eq!(scheme_names(b"t=1, v0=abc,v2=def,v0=x"), ["v0", "v2"]);
        let many: String = (0..40).map(|i| format!("k{i}=1,")).collect();
        assert_eq!(scheme_names(many.as_bytes()).len(), MAX_SCHEMES);
        assert!(scheme_names(b"t=1,\xff\xfe=1,a b=2,verylongschemename1234=3").is_empty());
    }
}
