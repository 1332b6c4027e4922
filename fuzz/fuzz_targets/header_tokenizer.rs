//! (a) The `X-Nexio-Signature` tokenizer on arbitrary bytes: never panics, and what it
//! accepts obeys the grammar's bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexio_webhooks::{MAX_HEADER_LEN, MAX_SIGNATURES, SignatureHeader, SignatureHeaderError};

fuzz_target!(|data: &[u8]| {
    match SignatureHeader::parse(data) {
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
