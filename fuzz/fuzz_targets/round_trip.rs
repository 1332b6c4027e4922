//! (c) sign → verify round trip on structured input (`arbitrary`): a delivery signed
//! with the signer always verifies, reporting the right key; any mutation of the body,
//! the timestamp, the signature or the secret is rejected.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nexio_webhooks::{Secret, SignatureHeader, Signer, Verifier, VerifyError};

#[derive(Arbitrary, Debug)]
struct Input {
    secret: Vec<u8>,
    raw_key: bool,
    second: Option<Vec<u8>>,
    body: Vec<u8>,
    t: u64,
    skew: i16,
    mutation: Mutation,
}

#[derive(Arbitrary, Debug)]
enum Mutation {
    BodyXor { index: usize, xor: u8 },
    BodyAppend(u8),
    BodyTruncate(usize),
    HeaderByte { index: usize, value: u8 },
    HeaderTruncate(usize),
    Timestamp(i64),
    WrongSecret(Vec<u8>),
    LeadingZero,
}

/// A `whsec_` secret from arbitrary bytes (only characters a secret may carry), or a
/// raw key.
fn secret(bytes: &[u8], raw: bool) -> Option<Secret> {
    if raw {
        return Secret::from_raw_key(bytes).ok();
    }
    let suffix: String = bytes
        .iter()
        .map(|b| {
            let c = char::from(b % 94 + 33); // printable, no space
            c
        })
        .collect();
    Secret::new(&format!("whsec_{suffix}")).ok()
}

fn verifier(s: &Secret) -> Verifier {
    Verifier::new(s.clone())
}

fuzz_target!(|input: Input| {
    let Some(s) = secret(&input.secret, input.raw_key) else {
        return;
    };
    let t = i64::try_from(input.t % (i64::MAX as u64)).unwrap();
    let skew = i64::from(input.skew).clamp(-300, 300);
    let now = t.saturating_add(skew);
    let mut signer = Signer::new(s.clone());
    let second = input.second.as_deref().and_then(|b| secret(b, false));
    if let Some(second) = &second {
        signer = signer.with_secret(second.clone());
    }
    let header = signer.signature_header(t, &input.body);
    let v = verifier(&s);

    // The round trip: must verify, with the right key and skew.
    let ok = v
        .verify_signature_at(header.as_bytes(), &input.body, now)
        .unwrap_or_else(|e| panic!("round trip failed: {e:?} for {header}"));
    assert_eq!(ok.key_id(), s.key_id());
    assert_eq!(ok.timestamp(), t);
    assert_eq!(ok.skew(), now - t);
    let pairs = [("x-nexio-signature", header.as_str())];
    assert!(v.verify_at(&pairs, &input.body, now).is_ok());
    // Rotation: the second secret alone verifies the same header.
    if let Some(second) = &second {
        let r = verifier(second)
            .verify_signature_at(header.as_bytes(), &input.body, now)
            .unwrap();
        assert!(r.key_id() == second.key_id() || r.key_id() == s.key_id());
    }

    // Only the first secret's signature from here on.
    let header = Signer::new(s.clone()).signature_header(t, &input.body);
    let wide = verifier(&s)
        .with_max_age(Duration::MAX)
        .with_max_future(Duration::MAX);
    match input.mutation {
        Mutation::BodyXor { index, xor } => {
            if input.body.is_empty() || xor == 0 {
                return;
            }
            let mut body = input.body.clone();
            let i = index % body.len();
            body[i] ^= xor;
            assert_eq!(
                v.verify_signature_at(header.as_bytes(), &body, now).err(),
                Some(VerifyError::SignatureMismatch)
            );
        }
        Mutation::BodyAppend(b) => {
            let mut body = input.body.clone();
            body.push(b);
            assert_eq!(
                v.verify_signature_at(header.as_bytes(), &body, now).err(),
                Some(VerifyError::SignatureMismatch)
            );
        }
        Mutation::BodyTruncate(n) => {
            if input.body.is_empty() {
                return;
            }
            let body = &input.body[..n % input.body.len()];
            assert_eq!(
                v.verify_signature_at(header.as_bytes(), body, now).err(),
                Some(VerifyError::SignatureMismatch)
            );
        }
        Mutation::HeaderByte { index, value } => {
            let mut bytes = header.clone().into_bytes();
            let i = index % bytes.len();
            if bytes[i] == value {
                return;
            }
            bytes[i] = value;
            if wide.verify_signature_at(&bytes, &input.body, now).is_ok() {
                // Only a change that keeps the signed timestamp text and the digest
                // (hex case, spacing) may still verify.
                let before = SignatureHeader::parse(header.as_bytes()).unwrap();
                let after = SignatureHeader::parse(&bytes).unwrap();
                assert_eq!(after.timestamp_text(), before.timestamp_text());
                let first = before.digests().next().unwrap();
                assert!(after.digests().any(|d| d == first));
            }
        }
        Mutation::HeaderTruncate(n) => {
            let bytes = &header.as_bytes()[..n % header.len()];
            assert!(wide.verify_signature_at(bytes, &input.body, now).is_err());
        }
        Mutation::Timestamp(delta) => {
            if delta == 0 {
                return;
            }
            let Some(t2) = t.checked_add(delta).filter(|t2| *t2 >= 0) else {
                return;
            };
            let sig = &header[header.find(",v1=").unwrap()..];
            let forged = format!("t={t2}{sig}");
            assert!(
                wide.verify_signature_at(forged.as_bytes(), &input.body, now)
                    .is_err()
            );
        }
        Mutation::WrongSecret(bytes) => {
            let Some(other) = secret(&bytes, false) else {
                return;
            };
            if other.key_id() == s.key_id() {
                return; // the same key (or a 32-bit fingerprint collision)
            }
            assert_eq!(
                verifier(&other)
                    .verify_signature_at(header.as_bytes(), &input.body, now)
                    .err(),
                Some(VerifyError::SignatureMismatch)
            );
        }
        Mutation::LeadingZero => {
            // `t=0<digits>` is the same number but a different signed message.
            let forged = header.replacen("t=", "t=0", 1);
            let r = wide.verify_signature_at(forged.as_bytes(), &input.body, now);
            assert!(r.is_err(), "{forged}");
        }
    }
});
