//! (e) Differential: the verifier against the deliberately simple reference
//! implementation of `docs/verification.md` (`nexio_webhooks_fuzz::reference`) on the same
//! framed delivery. Both must agree on accept/reject, on the class of rejection, and
//! on which secret matched. Strict mode is not modelled by the reference, so it is off.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexio_webhooks::Secret;
use nexio_webhooks_fuzz::{Framed, Outcome, reference};

fuzz_target!(|data: &[u8]| {
    let input = Framed::parse(data);
    let mut cfg = input.config();
    cfg.strict = false;
    let verifier = cfg.verifier();
    let headers = input.headers.as_slice();
    let ours = verifier.verify_at(headers, input.body, input.now);
    let theirs = reference::verify(&cfg, headers, input.body, input.now);
    match (&ours, theirs) {
        (Ok(v), Outcome::Accept(i)) => {
            let want = Secret::new(cfg.secrets[i].0).unwrap().key_id();
            assert_eq!(v.key_id(), want, "matched another secret");
        }
        (Ok(_), other) => panic!("false accept: reference says {other:?}"),
        (Err(e), Outcome::Accept(_)) => panic!("false reject: {e:?}"),
        (Err(e), other) => assert_eq!(Outcome::of_code(e.code()), other, "{e:?}"),
    }
});
