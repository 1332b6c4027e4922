//! (b) `verify_at` on arbitrary headers, body and `now` (framing: see `Framed`), under
//! every configuration the flags select: never panics, the headers-only precheck
//! agrees with the full check, and an accepted delivery is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexio_webhooks_fuzz::Framed;

fuzz_target!(|data: &[u8]| {
    let input = Framed::parse(data);
    let cfg = input.config();
    let verifier = cfg.verifier();
    let headers = input.headers.as_slice();
    let result = verifier.verify_at(headers, input.body, input.now);
    let pre = verifier.check_headers_at(headers, input.now);
    match &result {
        Ok(v) => {
            assert_eq!(pre, Ok(()));
            assert_eq!(v.body(), input.body);
            let skew = i128::from(input.now) - i128::from(v.timestamp());
            assert!(skew <= i128::from(cfg.max_age) && -skew <= i128::from(cfg.max_future));
            assert!(verifier.key_ids().any(|k| k == v.key_id()));
            if cfg.strict {
                assert!(v.mismatches().is_empty());
            }
            let _ = v.event();
            let _ = v.dedupe_key();
            let _ = v.info();
        }
        Err(e) => {
            // The precheck sees exactly the header-only failures, in the same way.
            if let Err(p) = pre {
                assert_eq!(p, *e);
            }
            assert!(!e.code().is_empty());
            let _ = e.to_string();
        }
    }
    if input.flags & 0x40 != 0
        && let Some(sig) = input.signature
    {
        let low = verifier.verify_signature_at(sig, input.body, input.now);
        // Without a bearer token or strict mode, the lowest-level call decides the same.
        if cfg.bearer.is_none() && !cfg.strict && headers.len() == 1 {
            assert_eq!(low.is_ok(), result.is_ok());
        }
    }
});
