//! The in-memory guard against a model of the claim protocol, on random sequences of
//! claims, completions, releases (by current and stale owners) and clock moves:
//! every answer as the model says, so no interleaving processes a key twice within
//! its retention or loses one.
#![cfg(feature = "std")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::HashMap;
use std::time::Duration;

use nexio_webhooks::{ClaimOutcome, InMemoryReplayGuard, ReplayGuard, ReplayGuardError, Ticket};
use proptest::prelude::*;

const LEASE: i64 = 5;
const RETENTION: i64 = 50;
const WINDOW: i64 = 20;

#[derive(Debug, Clone)]
enum Op {
    Claim(usize),
    /// Complete the n-th ticket handed out so far (maybe stale).
    Complete(usize),
    Release(usize),
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize).prop_map(Op::Claim),
        (0..8usize).prop_map(Op::Complete),
        (0..8usize).prop_map(Op::Release),
        (0..12i64).prop_map(Op::Advance),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Claimed { owner: usize, until: i64 },
    Done { owner: usize, until: i64 },
}

/// The protocol as the documentation states it, with room for every key.
#[derive(Default)]
struct Model {
    keys: HashMap<String, State>,
}

impl Model {
    fn live(&mut self, key: &str, now: i64) -> Option<State> {
        let state = *self.keys.get(key)?;
        let until = match state {
            State::Claimed { until, .. } | State::Done { until, .. } => until,
        };
        if until < now {
            self.keys.remove(key);
            return None;
        }
        Some(state)
    }

    fn claim(&mut self, key: &str, owner: usize, now: i64) -> ClaimOutcome {
        match self.live(key, now) {
            Some(State::Done { .. }) => ClaimOutcome::Done,
            Some(State::Claimed { until, .. }) => ClaimOutcome::InProgress {
                retry_after_secs: u64::try_from(until - now + 1).unwrap(),
            },
            None => {
                self.keys.insert(
                    key.to_owned(),
                    State::Claimed {
                        owner,
                        until: now + LEASE,
                    },
                );
                // The ticket itself is compared by the caller.
                ClaimOutcome::InProgress {
                    retry_after_secs: 0,
                }
            }
        }
    }

    fn complete(
        &mut self,
        key: &str,
        owner: usize,
        replayable_until: i64,
        now: i64,
    ) -> Result<(), ReplayGuardError> {
        match self.live(key, now) {
            Some(State::Claimed { owner: o, .. } | State::Done { owner: o, .. }) if o != owner => {
                Err(ReplayGuardError::LeaseLost)
            }
            Some(State::Done { .. }) => Ok(()),
            _ => {
                let until = (now + RETENTION).max(replayable_until);
                self.keys
                    .insert(key.to_owned(), State::Done { owner, until });
                Ok(())
            }
        }
    }

    /// `None` where either answer is right: release takes no clock, so a stale ticket
    /// meeting another owner's *expired* entry may be told `LeaseLost` (the entry is
    /// still stored) or `Ok` (it was already dropped); neither changes anything.
    fn release(
        &mut self,
        key: &str,
        owner: usize,
        now: i64,
    ) -> Option<Result<(), ReplayGuardError>> {
        if let Some(State::Claimed { owner: o, until } | State::Done { owner: o, until }) =
            self.keys.get(key).copied()
            && o != owner
            && until < now
        {
            return None;
        }
        // Release takes no clock, so the guard drops nothing expired here: the model
        // must not either, or a later stale release meets an entry only the guard
        // still holds.
        let live = self.keys.get(key).copied().filter(|state| match state {
            State::Claimed { until, .. } | State::Done { until, .. } => *until >= now,
        });
        Some(match live {
            None => Ok(()),
            Some(State::Claimed { owner: o, .. } | State::Done { owner: o, .. }) if o != owner => {
                Err(ReplayGuardError::LeaseLost)
            }
            Some(State::Done { .. }) => Ok(()),
            Some(State::Claimed { .. }) => {
                self.keys.remove(key);
                Ok(())
            }
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_in_memory_guard_follows_the_protocol(ops in proptest::collection::vec(op(), 1..60)) {
        let guard = InMemoryReplayGuard::new(1_000)
            .with_lease(Duration::from_secs(LEASE as u64))
            .with_retention(Duration::from_secs(RETENTION as u64));
        let mut model = Model::default();
        let mut now = 1_000i64;
        let mut tickets: Vec<(Ticket, usize)> = Vec::new();
        // When each (key, owner) first completed.
        let mut completed: HashMap<(String, usize), i64> = HashMap::new();
        for op in ops {
            match op {
                Op::Claim(k) => {
                    let key = format!("evt_{k}");
                    let owner = tickets.len();
                    let want = model.claim(&key, owner, now);
                    let got = guard.claim(&key, now + WINDOW, now).unwrap();
                    match got {
                        ClaimOutcome::Claimed(ticket) => {
                            // Nothing twice: no claim on a key completed within the
                            // retention.
                            for ((k, o), at) in &completed {
                                prop_assert!(
                                    *k != key || now > at + RETENTION,
                                    "{key} claimed at {now}, completed by {o} at {at}"
                                );
                            }
                            prop_assert_eq!(want, ClaimOutcome::InProgress { retry_after_secs: 0 });
                            prop_assert_eq!(ticket.lease_until(), now + LEASE);
                            tickets.push((ticket, owner));
                        }
                        other => prop_assert_eq!(other, want),
                    }
                }
                Op::Complete(i) => {
                    if let Some((ticket, owner)) = tickets.get(i) {
                        let want = model.complete(ticket.key(), *owner, ticket.replayable_until(), now);
                        let got = guard.complete(ticket, now);
                        prop_assert_eq!(got, want);
                        if got.is_ok() {
                            completed
                                .entry((ticket.key().to_owned(), *owner))
                                .or_insert(now);
                        }
                    }
                }
                Op::Release(i) => {
                    if let Some((ticket, owner)) = tickets.get(i) {
                        let got = guard.release(ticket);
                        match model.release(ticket.key(), *owner, now) {
                            Some(want) => prop_assert_eq!(got, want),
                            None => prop_assert!(
                                matches!(got, Ok(()) | Err(ReplayGuardError::LeaseLost)),
                                "{got:?}"
                            ),
                        }
                    }
                }
                Op::Advance(secs) => now += secs,
            }
        }
    }
}
