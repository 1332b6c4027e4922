//! Shared pieces of the fuzz targets: the byte framing of a delivery (so seeds can be
//! written from the known-answer vectors by `seed.py`), the verifier configurations,
//! and a deliberately simple reference implementation of the rules in
//! `docs/verification.md` for the differential target.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use nexio_webhooks::{BearerToken, Secret, Verifier};

/// The two secrets of the known-answer vectors.
pub const SECRET_A: &str = "whsec_abc123def456";
/// The second secret (the "old" one in rotation vectors).
pub const SECRET_B: &str = "whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG";
/// The bearer token configured when flag bit 3 is set.
pub const TOKEN: &str = "tok-123";
/// Expiry of secret A in secret set 3 (the known-answer vectors' `t`).
pub const A_EXPIRES_AT: i64 = 1_774_180_800;

/// A delivery decoded from fuzzer bytes.
///
/// ```text
/// byte 0       flags
///   bits 0-1   secrets: 0 [A], 1 [B], 2 [A, B], 3 [B, A expiring at 1774180800]
///   bit 2      strict mode
///   bit 3      bearer token "tok-123" configured
///   bits 4-5   tolerance (past/future s): 0 300/300, 1 0/0, 2 60/5, 3 unbounded
///   bit 6      also call verify_signature_at with the same header
///   bit 7      no X-Nexio-Signature header at all
/// bytes 1-8    now, i64 little-endian
/// bytes 9-10   N, u16 little-endian (clamped to what remains)
/// N bytes      the X-Nexio-Signature value
/// 2 bytes      M, u16 little-endian (clamped)
/// M bytes      extra headers, split on '\n': first byte picks the name (mod 6:
///              authorization, x-nexio-timestamp, x-nexio-event,
///              x-nexio-webhook-version, x-nexio-delivery, x-nexio-signature), the
///              rest is the value
/// the rest     the body
/// ```
#[derive(Debug, Clone)]
pub struct Framed<'a> {
    pub flags: u8,
    pub now: i64,
    pub signature: Option<&'a [u8]>,
    pub headers: Vec<(&'static str, &'a [u8])>,
    pub body: &'a [u8],
}

const EXTRA_NAMES: [&str; 6] = [
    "authorization",
    "x-nexio-timestamp",
    "x-nexio-event",
    "x-nexio-webhook-version",
    "x-nexio-delivery",
    "x-nexio-signature",
];

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(data.len());
    let (head, rest) = data.split_at(n);
    *data = rest;
    head
}

fn take_u16(data: &mut &[u8]) -> usize {
    let b = take(data, 2);
    let mut w = [0u8; 2];
    w[..b.len()].copy_from_slice(b);
    usize::from(u16::from_le_bytes(w))
}

impl<'a> Framed<'a> {
    /// Decodes the framing; short inputs are padded with zeros.
    pub fn parse(mut data: &'a [u8]) -> Self {
        let flags = take(&mut data, 1).first().copied().unwrap_or(0);
        let now_bytes = take(&mut data, 8);
        let mut w = [0u8; 8];
        w[..now_bytes.len()].copy_from_slice(now_bytes);
        let now = i64::from_le_bytes(w);
        let n = take_u16(&mut data);
        let signature = take(&mut data, n);
        let m = take_u16(&mut data);
        let extras = take(&mut data, m);
        let mut headers = Vec::new();
        let signature = if flags & 0x80 == 0 {
            headers.push(("X-Nexio-Signature", signature));
            Some(signature)
        } else {
            None
        };
        if !extras.is_empty() {
            for line in extras.split(|&b| b == b'\n') {
                if let Some((&sel, value)) = line.split_first() {
                    headers.push((EXTRA_NAMES[usize::from(sel) % EXTRA_NAMES.len()], value));
                }
            }
        }
        Framed {
            flags,
            now,
            signature,
            headers,
            body: data,
        }
    }

    /// Encodes a delivery (for tests of the framing; seeds are written by seed.py).
    pub fn encode(flags: u8, now: i64, signature: &[u8], extras: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = vec![flags];
        out.extend_from_slice(&now.to_le_bytes());
        out.extend_from_slice(&(signature.len() as u16).to_le_bytes());
        out.extend_from_slice(signature);
        out.extend_from_slice(&(extras.len() as u16).to_le_bytes());
        out.extend_from_slice(extras);
        out.extend_from_slice(body);
        out
    }

    pub fn config(&self) -> Config {
        let secrets = match self.flags & 3 {
            0 => vec![(SECRET_A, None)],
            1 => vec![(SECRET_B, None)],
            2 => vec![(SECRET_A, None), (SECRET_B, None)],
            _ => vec![(SECRET_B, None), (SECRET_A, Some(A_EXPIRES_AT))],
        };
        let (max_age, max_future) = match (self.flags >> 4) & 3 {
            0 => (300, 300),
            1 => (0, 0),
            2 => (60, 5),
            _ => (u64::MAX, u64::MAX),
        };
        Config {
            secrets,
            strict: self.flags & 4 != 0,
            bearer: (self.flags & 8 != 0).then_some(TOKEN),
            max_age,
            max_future,
        }
    }
}

/// A verifier configuration, given to both implementations.
#[derive(Debug, Clone)]
pub struct Config {
    pub secrets: Vec<(&'static str, Option<i64>)>,
    pub strict: bool,
    pub bearer: Option<&'static str>,
    pub max_age: u64,
    pub max_future: u64,
}

impl Config {
    pub fn verifier(&self) -> Verifier {
        let mut it = self.secrets.iter();
        let (first, _) = it.next().unwrap();
        let mut v = Verifier::new(Secret::new(first).unwrap());
        for (s, exp) in it {
            let s = Secret::new(s).unwrap();
            v = match exp {
                Some(e) => v.with_secret_expiring(s, *e),
                None => v.with_secret(s),
            };
        }
        if let Some(t) = self.bearer {
            v = v.with_bearer_token(BearerToken::new(t).unwrap());
        }
        v.with_strict(self.strict)
            .with_max_age(Duration::from_secs(self.max_age))
            .with_max_future(Duration::from_secs(self.max_future))
    }
}

/// What the reference decides, in classes coarse enough not to depend on the order
/// in which a header's grammar errors are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; the index of the secret that matched.
    Accept(usize),
    MissingSignature,
    /// Any grammar or bound error of the signature header (or a repeated header).
    BadHeader,
    TooOld,
    TooNew,
    MissingBearer,
    BearerMismatch,
    Mismatch,
}

impl Outcome {
    /// The class of one of the crate's error codes.
    pub fn of_code(code: &str) -> Outcome {
        match code {
            "missing_signature" => Outcome::MissingSignature,
            "malformed_signature" | "signature_header_too_large" | "too_many_signatures" => {
                Outcome::BadHeader
            }
            "timestamp_too_old" => Outcome::TooOld,
            "timestamp_too_new" => Outcome::TooNew,
            "missing_bearer_token" => Outcome::MissingBearer,
            "bearer_token_mismatch" => Outcome::BearerMismatch,
            "signature_mismatch" => Outcome::Mismatch,
            other => panic!("code {other} has no reference class"),
        }
    }
}

/// The rules of `docs/verification.md` (signature, header, window, rotation, bearer
/// token) written the obvious way: split strings, allocate, compare hex
/// text. Slow and simple on purpose; strict mode is not modelled.
pub mod reference {
    use super::{Config, Outcome};
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;

    fn trim(s: &[u8]) -> Vec<u8> {
        let mut v = s.to_vec();
        while v.first().is_some_and(|c| *c == b' ' || *c == b'\t') {
            v.remove(0);
        }
        while v.last().is_some_and(|c| *c == b' ' || *c == b'\t') {
            v.pop();
        }
        v
    }

    pub fn verify(cfg: &Config, headers: &[(&str, &[u8])], body: &[u8], now: i64) -> Outcome {
        let named = |name: &str| -> Vec<Vec<u8>> {
            headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_vec())
                .collect()
        };
        // The signature header.
        let sigs = named("x-nexio-signature");
        let header = match sigs.len() {
            0 => return Outcome::MissingSignature,
            1 => sigs[0].clone(),
            _ => return Outcome::BadHeader,
        };
        if header.len() > 4096 {
            return Outcome::BadHeader;
        }
        let mut ts: Vec<Vec<u8>> = Vec::new();
        let mut v1s: Vec<Vec<u8>> = Vec::new();
        for element in header.split(|c| *c == b',') {
            let element = trim(element);
            let Some(eq) = element.iter().position(|c| *c == b'=') else {
                return Outcome::BadHeader;
            };
            let key = element[..eq].to_vec();
            let value = element[eq + 1..].to_vec();
            if key == b"t" {
                ts.push(value);
            } else if key == b"v1" {
                v1s.push(value);
            }
        }
        if ts.len() != 1 || v1s.is_empty() || v1s.len() > 16 {
            return Outcome::BadHeader;
        }
        let t_text = String::from_utf8(ts[0].clone()).unwrap_or_default();
        if t_text.is_empty() || t_text.len() > 19 || !t_text.chars().all(|c| c.is_ascii_digit()) {
            return Outcome::BadHeader;
        }
        let Ok(t) = t_text.parse::<i64>() else {
            return Outcome::BadHeader;
        };
        // The window, in i128 so nothing overflows.
        let age = i128::from(now) - i128::from(t);
        if age > i128::from(cfg.max_age) {
            return Outcome::TooOld;
        }
        if -age > i128::from(cfg.max_future) {
            return Outcome::TooNew;
        }
        // The bearer token.
        if let Some(token) = cfg.bearer {
            let auth = named("authorization");
            match auth.len() {
                0 => return Outcome::MissingBearer,
                1 => {
                    let a = &auth[0];
                    let ok = a.len() >= 7
                        && a[..7].eq_ignore_ascii_case(b"bearer ")
                        && &a[7..] == token.as_bytes();
                    if !ok {
                        return Outcome::BearerMismatch;
                    }
                }
                _ => return Outcome::BearerMismatch,
            }
        }
        // Signature and rotation: one HMAC per unexpired secret, hex text compared with every v1.
        let candidates: Vec<String> = v1s
            .iter()
            .filter(|v| v.len() == 64 && v.iter().all(u8::is_ascii_hexdigit))
            .map(|v| String::from_utf8(v.clone()).unwrap().to_ascii_lowercase())
            .collect();
        for (i, (secret, expires)) in cfg.secrets.iter().enumerate() {
            if expires.is_some_and(|e| now > e) {
                continue;
            }
            let mut message = t_text.clone().into_bytes();
            message.push(b'.');
            message.extend_from_slice(body);
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(&message);
            let expected = hex::encode(mac.finalize().into_bytes());
            if candidates.contains(&expected) {
                return Outcome::Accept(i);
            }
        }
        Outcome::Mismatch
    }
}
