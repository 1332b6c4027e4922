//! Sign the bundled sample deliveries and verify them with a fixed `now`, printing
//! what a receiver would see — then show what a tampered, a stale and a forged
//! delivery get back.
//!
//! Run: `cargo run --example quickstart`

use std::io::Write as _;

use nexio_webhooks::{Secret, Signer, Verifier, sample};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The endpoint's signing secret, exactly as Nexio returns it.
    let secret = Secret::new("whsec_abc123def456")?;
    let verifier = Verifier::new(secret.clone());
    // Write through a handle so a closed pipe (`| head`) ends the program with an
    // error instead of a panic.
    let mut out = std::io::stdout().lock();

    // What Nexio would send at 2026-03-22T12:00:00Z.
    let t = 1_774_180_800;
    let signer = Signer::new(secret);
    for body in [sample::RUN_COMPLETED, sample::RUN_FAILED] {
        let delivery = signer.delivery(body).timestamp(t).build();

        // The receiver: raw headers + raw body + now.
        let verified = verifier.verify_at(&delivery, delivery.body(), t + 2)?;
        let event = verified.event()?;
        let run = event.run().ok_or("run events carry a run")?;
        writeln!(
            out,
            "ok   {} {} run={} status={} key={} skew={}s dedupe_key={}",
            event.event_type(),
            event.id(),
            run.run_id,
            run.status.as_ref().map_or("-", |s| s.as_str()),
            verified.key_id(),
            verified.skew(),
            verified.dedupe_key()?,
        )?;
    }

    // What bad deliveries get back: a typed error with a code and an HTTP status.
    let delivery = signer.delivery(sample::RUN_COMPLETED).timestamp(t).build();
    let mut tampered = delivery.body().to_vec();
    if let Some(b) = tampered.get_mut(40) {
        *b ^= 1;
    }
    let stale_now = t + 301;
    let other = Signer::new(Secret::new("whsec_not_the_endpoint_secret")?)
        .delivery(sample::RUN_COMPLETED)
        .timestamp(t)
        .build();
    for (what, result) in [
        (
            "tampered body",
            verifier.verify_at(&delivery, &tampered, t).map(|_| ()),
        ),
        (
            "301 s old",
            verifier
                .verify_at(&delivery, delivery.body(), stale_now)
                .map(|_| ()),
        ),
        (
            "wrong secret",
            verifier.verify_at(&other, other.body(), t).map(|_| ()),
        ),
    ] {
        match result {
            Ok(()) => return Err(format!("{what} was accepted").into()),
            Err(e) => println!(
                "rejected {what}: {} ({}) -> HTTP {}",
                e.code(),
                e,
                e.status().as_u16()
            ),
        }
    }
    Ok(())
}
