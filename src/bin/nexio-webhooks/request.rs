//! Reading a captured delivery: a raw HTTP/1.x request as it crossed the wire.
//!
//! Request line, header lines, a blank line, then the body byte for byte. Lines in
//! the head may end in `\r\n` or `\n`. Everything is bounded: the head may be at most
//! [`MAX_HEAD`] bytes and [`MAX_HEADERS`] headers, and nothing here can panic on any
//! input.

use std::fmt;

/// The longest head (request line and headers) accepted.
pub const MAX_HEAD: usize = 64 * 1024;

/// The most header lines accepted.
pub const MAX_HEADERS: usize = 256;

/// A parsed request, borrowing from the file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub headers: Vec<(&'a str, &'a [u8])>,
    pub body: &'a [u8],
}

/// Why a file is not a well-formed HTTP request (reported as `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    Empty,
    HeadTooLarge,
    NoBlankLine,
    BadRequestLine,
    BadHeaderLine {
        line: usize,
    },
    TooManyHeaders,
    TransferEncoding,
    BadContentLength,
    ContentLengthMismatch {
        declared: u64,
        actual: usize,
    },
    /// The body (announced by `Content-Length`, or found after the head) is longer
    /// than the limit: `payload_too_large`, as a receiver answers 413.
    BodyTooLarge {
        limit: usize,
    },
}

impl RequestError {
    pub const CODE: &'static str = "invalid_request";

    /// The error code reported: `payload_too_large` for a body over the limit, as
    /// the receivers answer it; `invalid_request` for everything else.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "payload_too_large",
            _ => Self::CODE,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the file is empty"),
            Self::HeadTooLarge => write!(
                f,
                "no blank line within the first {MAX_HEAD} bytes: not an HTTP request head"
            ),
            Self::NoBlankLine => {
                f.write_str("no blank line after the headers: not a complete HTTP request")
            }
            Self::BadRequestLine => f.write_str(
                "the first line is not an HTTP request line (METHOD target HTTP/1.1)",
            ),
            Self::BadHeaderLine { line } => {
                write!(f, "line {line} is not a header line (Name: value)")
            }
            Self::TooManyHeaders => write!(f, "more than {MAX_HEADERS} headers"),
            Self::TransferEncoding => f.write_str(
                "Transfer-Encoding is not supported: save the decoded body, with a Content-Length or none",
            ),
            Self::BadContentLength => {
                f.write_str("Content-Length is not a single decimal number")
            }
            Self::ContentLengthMismatch { declared, actual } => write!(
                f,
                "Content-Length says {declared} bytes but {actual} follow the blank line (was the file edited?)"
            ),
            Self::BodyTooLarge { limit } => write!(
                f,
                "the body is larger than {limit} bytes, the limit a receiver applies (see --max-body)"
            ),
        }
    }
}

/// Parses a whole file, of any body length.
#[cfg(test)]
pub fn parse(bytes: &[u8]) -> Result<Request<'_>, RequestError> {
    parse_with_limit(bytes, usize::MAX)
}

/// Parses a file whose body may be at most `max_body` bytes: a longer body, or a
/// `Content-Length` announcing one, is [`RequestError::BodyTooLarge`] (decided before
/// the length is compared with what follows, so a file cut off after
/// [`MAX_HEAD`]` + max_body + 1` bytes is refused as too large, not as edited).
pub fn parse_with_limit(bytes: &[u8], max_body: usize) -> Result<Request<'_>, RequestError> {
    if bytes.is_empty() {
        return Err(RequestError::Empty);
    }
    let mut lines = Lines {
        rest: bytes,
        consumed: 0,
    };
    // RFC 9112 §2.2: ignore empty lines before the request line.
    let request_line = loop {
        match lines.next_line()? {
            Some(b"") => {}
            Some(line) => break line,
            None => return Err(RequestError::NoBlankLine),
        }
    };
    let (method, target) = parse_request_line(request_line)?;
    let mut headers = Vec::new();
    let mut line_no: usize = 1;
    loop {
        line_no = line_no.saturating_add(1);
        let line = lines.next_line()?.ok_or(RequestError::NoBlankLine)?;
        if line.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(RequestError::TooManyHeaders);
        }
        headers.push(parse_header_line(line).ok_or(RequestError::BadHeaderLine { line: line_no })?);
    }
    let body = lines.rest;
    check_framing(&headers, body.len(), max_body)?;
    Ok(Request {
        method,
        target,
        headers,
        body,
    })
}

struct Lines<'a> {
    rest: &'a [u8],
    consumed: usize,
}

impl<'a> Lines<'a> {
    /// The next line without its `\n` / `\r\n`; `None` at the end of the input
    /// (an unterminated last line counts as no line: the head never ended).
    fn next_line(&mut self) -> Result<Option<&'a [u8]>, RequestError> {
        let window = self
            .rest
            .get(..MAX_HEAD.saturating_sub(self.consumed).min(self.rest.len()))
            .unwrap_or_default();
        let Some(nl) = window.iter().position(|&b| b == b'\n') else {
            return Err(if self.rest.len() > window.len() {
                RequestError::HeadTooLarge
            } else {
                RequestError::NoBlankLine
            });
        };
        let (line, rest) = self
            .rest
            .split_at_checked(nl)
            .ok_or(RequestError::NoBlankLine)?;
        self.rest = rest.get(1..).unwrap_or_default();
        self.consumed = self.consumed.saturating_add(nl).saturating_add(1);
        Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn parse_request_line(line: &[u8]) -> Result<(&str, &str), RequestError> {
    let bad = RequestError::BadRequestLine;
    let text = std::str::from_utf8(line).map_err(|_| bad)?;
    let mut parts = text.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad);
    };
    let version_ok = version
        .strip_prefix("HTTP/")
        .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    if method.is_empty()
        || !method.bytes().all(is_tchar)
        || target.is_empty()
        || !target.bytes().all(|b| b.is_ascii_graphic())
        || !version_ok
    {
        return Err(bad);
    }
    Ok((method, target))
}

/// `Name: value`, the value without surrounding spaces and tabs — only those, as
/// httparse (hyper) and actix-http strip them (RFC 9110 §5.5 OWS): a form feed or
/// vertical tab next to a value is a control byte, refused as those servers refuse
/// it. Refused: an empty name or one with non-token bytes (including whitespace
/// before the colon, RFC 9112 §5.1), obsolete line folding, and control bytes in the
/// value.
fn parse_header_line(line: &[u8]) -> Option<(&str, &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = line.split_at_checked(colon)?;
    let value = value.get(1..)?;
    if name.is_empty() || !name.iter().copied().all(is_tchar) {
        return None;
    }
    let value = trim_ows(value);
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return None;
    }
    Some((std::str::from_utf8(name).ok()?, value))
}

/// `value` without leading and trailing SP and HTAB (and nothing else).
fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i.saturating_add(1));
    value.get(start..end).unwrap_or_default()
}

fn check_framing(
    headers: &[(&str, &[u8])],
    body_len: usize,
    max_body: usize,
) -> Result<(), RequestError> {
    if headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
    {
        return Err(RequestError::TransferEncoding);
    }
    let mut lengths = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| *v);
    let too_large = RequestError::BodyTooLarge { limit: max_body };
    match (lengths.next(), lengths.next()) {
        (None, _) if body_len > max_body => Err(too_large),
        (None, _) => Ok(()),
        (Some(v), None) => {
            let declared = std::str::from_utf8(v)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(RequestError::BadContentLength)?;
            if u64::try_from(max_body).is_ok_and(|max| declared > max) || body_len > max_body {
                Err(too_large)
            } else if u64::try_from(body_len).ok() == Some(declared) {
                Ok(())
            } else {
                Err(RequestError::ContentLengthMismatch {
                    declared,
                    actual: body_len,
                })
            }
        }
        (Some(_), Some(_)) => Err(RequestError::BadContentLength),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_lf_heads_and_exact_body() {
        for raw in [
            &b"POST /webhooks HTTP/1.1\r\nHost: x\r\nX-A:  1 \r\n\r\nbody\r\n\r\n"[..],
            b"POST /webhooks HTTP/1.1\nHost: x\nX-A:1\n\nbody\r\n\r\n",
            b"\r\nPOST /webhooks HTTP/1.1\r\nHost: x\nX-A: 1\r\n\nbody\r\n\r\n",
        ] {
            let r = parse(raw).unwrap();
            assert_eq!((r.method, r.target), ("POST", "/webhooks"));
            assert_eq!(r.headers, vec![("Host", &b"x"[..]), ("X-A", b"1")]);
            assert_eq!(r.body, b"body\r\n\r\n");
        }
    }

    #[test]
    fn empty_body_and_content_length() {
        let r = parse(b"POST / HTTP/1.1\r\n\r\n").unwrap();
        assert!(r.headers.is_empty() && r.body.is_empty());
        let r = parse(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").unwrap();
        assert_eq!(r.body, b"abc");
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\n"),
            Err(RequestError::ContentLengthMismatch {
                declared: 3,
                actual: 4
            })
        );
        for cl in ["-1", "", "3, 3", "99999999999999999999999", "0x3"] {
            let raw = format!("POST / HTTP/1.1\r\nContent-Length: {cl}\r\n\r\nabc");
            assert_eq!(
                parse(raw.as_bytes()),
                Err(RequestError::BadContentLength),
                "{cl}"
            );
        }
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc"),
            Err(RequestError::BadContentLength)
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
            Err(RequestError::TransferEncoding)
        );
    }

    #[test]
    fn malformed_inputs() {
        let cases: &[(&[u8], RequestError)] = &[
            (b"", RequestError::Empty),
            (b"\n\n\n", RequestError::NoBlankLine),
            (b"POST / HTTP/1.1", RequestError::NoBlankLine),
            (b"POST / HTTP/1.1\r\nHost: x\r\n", RequestError::NoBlankLine),
            (b"POST / HTTP/1.1\r\nHost: x", RequestError::NoBlankLine),
            (b"{\"id\":1}\n\nbody", RequestError::BadRequestLine),
            (b"POST  / HTTP/1.1\n\n", RequestError::BadRequestLine),
            (b"POST / HTTP/1.1 x\n\n", RequestError::BadRequestLine),
            (b"POST / FTP/1\n\n", RequestError::BadRequestLine),
            (b"P\xffST / HTTP/1.1\n\n", RequestError::BadRequestLine),
            (
                b"POST / HTTP/1.1\nHost x\n\n",
                RequestError::BadHeaderLine { line: 2 },
            ),
            (
                b"POST / HTTP/1.1\nA: 1\nHost : x\n\n",
                RequestError::BadHeaderLine { line: 3 },
            ),
            (
                b"POST / HTTP/1.1\nA: 1\n folded\n\n",
                RequestError::BadHeaderLine { line: 3 },
            ),
            (
                b"POST / HTTP/1.1\n: x\n\n",
                RequestError::BadHeaderLine { line: 2 },
            ),
            (
                b"POST / HTTP/1.1\nA: x\0y\n\n",
                RequestError::BadHeaderLine { line: 2 },
            ),
            (
                b"POST / HTTP/1.1\nA: x\ry\n\n",
                RequestError::BadHeaderLine { line: 2 },
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(parse(raw), Err(*want), "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn only_spaces_and_tabs_around_values_as_hyper_and_actix() {
        let r = parse(b"POST / HTTP/1.1\r\nX-A: \t 1 \t\r\nX-B:\r\nX-C: \t \r\n\r\n").unwrap();
        assert_eq!(
            r.headers,
            vec![("X-A", &b"1"[..]), ("X-B", b""), ("X-C", b"")]
        );
        // Inner spaces and tabs are part of the value.
        let r = parse(b"POST / HTTP/1.1\r\nX-A: a \t b\r\n\r\n").unwrap();
        assert_eq!(r.headers, vec![("X-A", &b"a \t b"[..])]);
        // A form feed or vertical tab is not whitespace to httparse or actix-http:
        // refused wherever it stands, never trimmed.
        for value in [
            &b"\x0cv1"[..],
            b"v1\x0c",
            b" \x0c v1",
            b"\x0bv1",
            b"v1\x0b ",
            b"v\x0c1",
        ] {
            let mut raw = b"POST / HTTP/1.1\r\nX-Nexio-Signature: ".to_vec();
            raw.extend_from_slice(value);
            raw.extend_from_slice(b"\r\n\r\n");
            assert_eq!(
                parse(&raw),
                Err(RequestError::BadHeaderLine { line: 2 }),
                "{value:?}"
            );
        }
    }

    #[test]
    fn body_limit_from_content_length_and_from_the_bytes() {
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd";
        assert_eq!(parse_with_limit(raw, 4).unwrap().body, b"abcd");
        let too_large = Err(RequestError::BodyTooLarge { limit: 3 });
        assert_eq!(parse_with_limit(raw, 3), too_large);
        // Announced too large, even if fewer bytes follow (a file cut off on reading).
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\nabcd";
        assert_eq!(parse_with_limit(raw, 3), too_large);
        // No Content-Length: the bytes after the head count.
        assert_eq!(
            parse_with_limit(b"POST / HTTP/1.1\r\n\r\nabcd", 3),
            too_large
        );
        assert_eq!(
            parse_with_limit(b"POST / HTTP/1.1\r\n\r\nabc", 3)
                .unwrap()
                .body,
            b"abc"
        );
        // A malformed Content-Length stays invalid_request.
        let raw = b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\nabcd";
        assert_eq!(
            parse_with_limit(raw, 3),
            Err(RequestError::BadContentLength)
        );
        assert_eq!(
            RequestError::BodyTooLarge { limit: 3 }.code(),
            "payload_too_large"
        );
        assert_eq!(RequestError::Empty.code(), "invalid_request");
    }

    #[test]
    fn bounds() {
        let mut big = b"POST / HTTP/1.1\r\nX-Big: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEAD));
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse(&big), Err(RequestError::HeadTooLarge));
        let mut many = b"POST / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse(&many), Err(RequestError::TooManyHeaders));
        // A large body after a small head is fine.
        let mut large = b"POST / HTTP/1.1\r\n\r\n".to_vec();
        large.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        assert_eq!(parse(&large).unwrap().body.len(), 10 * 1024 * 1024);
        // 10 MB without a line break, or with line breaks but no blank line.
        assert_eq!(
            parse(&vec![b'x'; 10 * 1024 * 1024]),
            Err(RequestError::HeadTooLarge)
        );
        let mut lines = b"POST / HTTP/1.1\n".to_vec();
        lines.extend(
            format!("X-A: {}\n", "a".repeat(1000))
                .repeat(10_000)
                .bytes(),
        );
        assert_eq!(parse(&lines), Err(RequestError::HeadTooLarge));
    }

    #[test]
    fn never_panics_on_arbitrary_prefixes() {
        let raw = b"POST /w HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}";
        for end in 0..=raw.len() {
            let _ = parse(&raw[..end]);
        }
        for b in 0..=255u8 {
            let mut r = raw.to_vec();
            r[20] = b;
            let _ = parse(&r);
        }
    }
}
