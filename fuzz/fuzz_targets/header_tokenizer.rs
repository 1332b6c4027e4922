//! (a) The `X-Nexio-Signature` tokenizer on arbitrary bytes: never panics, what it
//! accepts obeys the grammar's bounds, and it agrees with a plain reference model of
//! the grammar (split on `,`, trim, split at the first `=`) written here without any of
//! the tokenizer's shortcuts: value for value and error for error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexio_webhooks::{MAX_HEADER_LEN, MAX_SIGNATURES, SignatureHeader, SignatureHeaderError};

/// What the reference model reads: timestamp, `v1` count, decoded well-formed digests.
type Model = (i64, usize, Vec<[u8; 32]>);

fn reference(data: &[u8]) -> Result<Model, SignatureHeaderError> {
    use SignatureHeaderError as E;
    if data.len() > MAX_HEADER_LEN {
        return Err(E::TooLarge);
    }
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    if data.iter().all(is_space) {
        return Err(E::Empty);
    }
    let mut timestamp = None;
    let mut count = 0;
    let mut digests = Vec::new();
    for element in data.split(|&b| b == b',') {
        let start = element.iter().position(|b| !is_space(b)).unwrap_or(element.len());
        let end = element.iter().rposition(|b| !is_space(b)).map_or(start, |i| i + 1);
        let element = &element[start..end.max(start)];
        let Some(eq) = element.iter().position(|&b| b == b'=') else {
            return Err(E::ElementWithoutEquals);
        };
        let (key, value) = (&element[..eq], &element[eq + 1..]);
        match key {
            b"t" => {
                if timestamp.is_some() {
                    return Err(E::DuplicateTimestamp);
                }
                let ok = (1..=19).contains(&value.len()) && value.iter().all(u8::is_ascii_digit);
                let parsed = ok
                    .then(|| std::str::from_utf8(value).ok()?.parse::<i64>().ok())
                    .flatten()
                    .ok_or(E::InvalidTimestamp)?;
                timestamp = Some(parsed);
            }
            b"v1" => {
                count += 1;
                if count > MAX_SIGNATURES {
                    return Err(E::TooManySignatures);
                }
                let mut digest = [0u8; 32];
                if hex::decode_to_slice(value, &mut digest).is_ok() {
                    digests.push(digest);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(E::MissingTimestamp)?;
    if count == 0 {
        return Err(E::MissingSignature);
    }
    Ok((timestamp, count, digests))
}

fuzz_target!(|data: &[u8]| {
    let parsed = SignatureHeader::parse(data);
    let model = parsed
        .as_ref()
        .map(|h| (h.timestamp(), h.signature_count(), h.digests().collect::<Vec<_>>()))
        .map_err(|e| *e);
    assert_eq!(model, reference(data), "{:?}", String::from_utf8_lossy(data));
    match parsed {
        Ok(h) => {
            assert!(data.len() <= MAX_HEADER_LEN);
            assert!(h.timestamp() >= 0);
            let text = h.timestamp_text();
            assert!((1..=19).contains(&text.len()));
            assert!(text.iter().all(u8::is_ascii_digit));
            assert_eq!(
                std::str::from_utf8(text).unwrap().parse::<i64>().unwrap(),
                h.timestamp()
            );
            assert!(h.signature_count() >= 1 && h.signature_count() <= MAX_SIGNATURES);
            assert!(h.digests().count() <= h.signature_count());
        }
        Err(SignatureHeaderError::TooLarge) => assert!(data.len() > MAX_HEADER_LEN),
        Err(e) => {
            assert!(data.len() <= MAX_HEADER_LEN);
            // Every error has a message (and the message never echoes the input).
            assert!(!e.to_string().is_empty());
        }
    }
});
