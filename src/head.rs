//! A zero-allocation look at the top-level `id`, `type` and `webhook_version` of a
//! verified body, without parsing the whole event.
//!
//! Comparing `X-Nexio-Event` / `X-Nexio-Webhook-Version` with the signed body and
//! deriving the dedupe key must not cost a full JSON parse (or an allocation) on every
//! delivery. Nexio puts these fields first, so this scanner usually stops after a few
//! dozen bytes. It validates only what it walks over; the full parse in
//! [`crate::event`] remains the judge of whether the body is a valid event.

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::borrow::Cow;

/// The top-level string fields the verifier cares about, as raw JSON string contents
/// (between the quotes, escapes not yet decoded).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head<'a> {
    pub(crate) id: Option<RawStr<'a>>,
    pub(crate) event_type: Option<RawStr<'a>>,
    pub(crate) version: Option<RawStr<'a>>,
}

/// The contents of a JSON string literal, escapes undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawStr<'a>(&'a [u8]);

impl<'a> RawStr<'a> {
    /// The decoded string: borrowed when there is no escape (the usual case),
    /// allocated otherwise. `None` if it is not valid UTF-8 or a valid escape.
    pub(crate) fn decode(&self) -> Option<Cow<'a, str>> {
        if !self.0.contains(&b'\\') {
            return core::str::from_utf8(self.0).ok().map(Cow::Borrowed);
        }
        let mut quoted = Vec::with_capacity(self.0.len().saturating_add(2));
        quoted.push(b'"');
        quoted.extend_from_slice(self.0);
        quoted.push(b'"');
        serde_json::from_slice::<String>(&quoted)
            .ok()
            .map(Cow::Owned)
    }

    /// Whether the decoded string equals `other` byte for byte. Allocation-free when
    /// there is no escape.
    pub(crate) fn eq_bytes(&self, other: &[u8]) -> Option<bool> {
        if !self.0.contains(&b'\\') {
            return Some(self.0 == other);
        }
        self.decode().map(|s| s.as_bytes() == other)
    }
}

/// Scans the top-level object of `body` for `id`, `type` and `webhook_version`.
/// Returns `None` when the body is not a JSON object as far as the scan went.
pub(crate) fn scan(body: &[u8]) -> Option<Head<'_>> {
    let mut s = Scanner { rest: body };
    let mut head = Head::default();
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if s.eat(b'}').is_some() {
        return Some(head);
    }
    loop {
        s.ws();
        let key = s.string()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        let slot = match key {
            b"id" => Some(&mut head.id),
            b"type" => Some(&mut head.event_type),
            b"webhook_version" => Some(&mut head.version),
            _ => None,
        };
        match slot {
            Some(slot) if s.peek() == Some(b'"') => {
                let value = s.string()?;
                if slot.is_some() {
                    // A duplicate key: ambiguous, so no answer at all.
                    return None;
                }
                *slot = Some(RawStr(value));
            }
            _ => s.skip_value()?,
        }
        if head.id.is_some() && head.event_type.is_some() && head.version.is_some() {
            return Some(head);
        }
        s.ws();
        match s.next()? {
            b',' => continue,
            b'}' => return Some(head),
            _ => return None,
        }
    }
}

/// The `data.run.environment` string of a verified body, for comparing with an
/// endpoint's environment: a walk down those three keys (the first occurrence of
/// each), skipping everything else. `None` when the path is not there or is not a
/// string.
pub(crate) fn run_environment(body: &[u8]) -> Option<RawStr<'_>> {
    let mut s = Scanner { rest: body };
    for key in [b"data".as_slice(), b"run", b"environment"] {
        s.field(key)?;
    }
    if s.peek() != Some(b'"') {
        return None;
    }
    s.string().map(RawStr)
}

/// Nesting deeper than this is not walked (serde_json's own limit is 128).
const MAX_DEPTH: usize = 128;

struct Scanner<'a> {
    rest: &'a [u8],
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn next(&mut self) -> Option<u8> {
        let (&c, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(c)
    }

    fn eat(&mut self, want: u8) -> Option<()> {
        (self.peek()? == want).then(|| {
            self.rest = self.rest.get(1..).unwrap_or_default();
        })
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.rest = self.rest.get(1..).unwrap_or_default();
        }
    }

    /// At an object: moves to the value of its first member named `want`.
    fn field(&mut self, want: &[u8]) -> Option<()> {
        self.ws();
        self.eat(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            return None;
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            if key == want {
                return Some(());
            }
            self.skip_value()?;
            self.ws();
            if self.next()? != b',' {
                return None;
            }
        }
    }

    /// A string literal; returns its raw contents.
    ///
    /// Runs of plain bytes are skipped with one `position` search instead of a
    /// byte-at-a-time state machine: this runs on every verified delivery.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.rest;
        let mut i = 0usize;
        loop {
            let run = start
                .get(i..)?
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
            i = i.checked_add(run)?;
            match start.get(i)? {
                b'"' => {
                    self.rest = start.get(i.checked_add(1)?..)?;
                    return start.get(..i);
                }
                b'\\' => {
                    // The escaped byte, whatever it is, belongs to the string.
                    start.get(i.checked_add(1)?)?;
                    i = i.checked_add(2)?;
                }
                _ => return None,
            }
        }
    }

    /// Skips one value of any kind, tracking nesting and strings.
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            self.ws();
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    self.next()?;
                    depth = depth.checked_add(1)?;
                    if depth > MAX_DEPTH {
                        return None;
                    }
                    continue;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.next()?;
                }
                _ => {
                    // A scalar (number, true, false, null): up to a delimiter.
                    let n = self
                        .rest
                        .iter()
                        .position(|c| {
                            matches!(c, b',' | b'}' | b']' | b':' | b' ' | b'\t' | b'\n' | b'\r')
                        })
                        .unwrap_or(self.rest.len());
                    if n == 0 {
                        return None;
                    }
                    self.rest = self.rest.get(n..).unwrap_or_default();
                }
            }
            if depth == 0 {
                return Some(());
            }
            // Inside a container: a separator, or the end handled by the next iteration.
            self.ws();
            match self.peek()? {
                b',' | b':' => {
                    self.next()?;
                }
                b'}' | b']' => {}
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(h: &Option<RawStr<'_>>) -> Option<String> {
        h.and_then(|r| r.decode()).map(|c| c.into_owned())
    }

    #[test]
    fn finds_top_level_fields_anywhere() {
        let body = br#" { "data": {"run": {"id": "nested", "type": [1, {"a": "}"}], "x": null}},
            "type": "run.completed", "n": -1.5e3, "ok": true,
            "id": "evt_1", "webhook_version": "2026-03-22", "later": {"#;
        let h = scan(body).unwrap();
        assert_eq!(field(&h.id).as_deref(), Some("evt_1"));
        assert_eq!(field(&h.event_type).as_deref(), Some("run.completed"));
        assert_eq!(field(&h.version).as_deref(), Some("2026-03-22"));
    }

    #[test]
    fn escapes_are_decoded() {
        let h = scan(br#"{"id":"evt_\u0031\"","type":"run.completed"}"#).unwrap();
        assert_eq!(field(&h.id).as_deref(), Some("evt_1\""));
        assert_eq!(h.event_type.unwrap().eq_bytes(b"run.completed"), Some(true));
        assert_eq!(h.id.unwrap().eq_bytes(b"evt_1\""), Some(true));
        assert!(h.version.is_none());
    }

    #[test]
    fn strings_refuse_control_characters_but_not_spaces() {
        let h = scan(br#"{"id":"a b","type":"~"}"#).unwrap();
        assert_eq!(field(&h.id).as_deref(), Some("a b"));
        assert_eq!(field(&h.event_type).as_deref(), Some("~"));
        for c in [0x00u8, 0x01, 0x0a, 0x1f] {
            let body = [br#"{"id":"a"#.as_slice(), &[c], br#"b"}"#].concat();
            assert!(scan(&body).is_none(), "control {c:#x}");
        }
    }

    #[test]
    fn nesting_limit_is_exact() {
        let at = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert!(scan(at.as_bytes()).is_some());
        let past = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert!(scan(past.as_bytes()).is_none());
    }

    #[test]
    fn run_environment_path() {
        let body = br#"{"id":"e","data":{"x":[1,{"environment":"no"}],"run":{"run_id":"r","environment":"staging_eu"}},"environment":"top"}"#;
        assert_eq!(
            run_environment(body).and_then(|r| r.decode()).as_deref(),
            Some("staging_eu")
        );
        assert!(run_environment(br#"{"data":{"run":{"environment":5}}}"#).is_none());
        assert!(run_environment(br#"{"data":{"run":{}}}"#).is_none());
        assert!(run_environment(br#"{"data":[]}"#).is_none());
        assert!(run_environment(b"").is_none());
    }

    #[test]
    fn not_an_object_or_ambiguous() {
        assert!(scan(b"").is_none());
        assert!(scan(b"[1]").is_none());
        assert!(scan(b"\xff\xfe").is_none());
        assert!(scan(br#"{"id":"a","id":"b"}"#).is_none());
        assert!(scan(br#"{"id" "a"}"#).is_none());
        assert!(scan(b"{\"id\":\"a\nb\"}").is_none());
        assert!(scan(b"{\"id\":\"ab\\").is_none());
        assert!(scan(b"{\"id\":\"ab").is_none());
        assert_eq!(scan(b"{}"), Some(Head::default()));
        // A non-string id is simply not a string id.
        assert!(scan(br#"{"id":5}"#).unwrap().id.is_none());
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(scan(deep.as_bytes()).is_none());
    }
}
