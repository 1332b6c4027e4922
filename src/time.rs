//! The replay window (`docs/verification.md`, *The replay window*): separate past and
//! future bounds, checked arithmetic, a `now` parameter for every check.

#[allow(unused_imports)]
use crate::prelude::*;

use core::time::Duration;

/// Default bound on a delivery's age: 300 s, as Nexio documents.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// Default allowance for a timestamp ahead of the receiver's clock: 300 s.
pub const DEFAULT_MAX_FUTURE: Duration = Duration::from_secs(300);

/// How far a signed timestamp may be from `now`, in the past and in the future.
///
/// Both bounds are whole seconds (sub-second parts are ignored) and inclusive: a
/// delivery exactly `max_age` old, or exactly `max_future` ahead, is accepted.
///
/// ```
/// use std::time::Duration;
/// use nexio_webhooks::Tolerance;
///
/// let t = Tolerance::default().with_max_future(Duration::from_secs(30));
/// assert_eq!(t.max_age(), Duration::from_secs(300));
/// assert_eq!(t.max_future(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tolerance {
    max_age: u64,
    max_future: u64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            max_age: DEFAULT_MAX_AGE.as_secs(),
            max_future: DEFAULT_MAX_FUTURE.as_secs(),
        }
    }
}

impl Tolerance {
    /// Sets how old a delivery may be.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age.as_secs();
        self
    }

    /// Sets how far ahead of `now` a delivery's timestamp may be.
    #[must_use]
    pub fn with_max_future(mut self, max_future: Duration) -> Self {
        self.max_future = max_future.as_secs();
        self
    }

    /// How old a delivery may be.
    pub fn max_age(&self) -> Duration {
        Duration::from_secs(self.max_age)
    }

    /// How far ahead of `now` a delivery's timestamp may be.
    pub fn max_future(&self) -> Duration {
        Duration::from_secs(self.max_future)
    }

    /// Checks `timestamp` against `now` (both Unix seconds, any `i64`).
    ///
    /// Returns the skew `now - timestamp` (positive: the delivery is that old) on
    /// success. The arithmetic is done in `i128`, so `t=0`, `t=i64::MAX` and clocks
    /// before 1970 are ordinary answers, never an overflow.
    pub fn check(&self, timestamp: i64, now: i64) -> Result<i64, WindowError> {
        let skew = i128::from(now).saturating_sub(i128::from(timestamp));
        if skew > i128::from(self.max_age) {
            return Err(WindowError::TooOld {
                age_secs: saturate_u64(skew),
            });
        }
        if skew.saturating_neg() > i128::from(self.max_future) {
            return Err(WindowError::TooNew {
                ahead_secs: saturate_u64(skew.saturating_neg()),
            });
        }
        // Within the window, |skew| <= a u64 bound; clamp to i64 for reporting.
        Ok(i64::try_from(skew).unwrap_or(if skew < 0 { i64::MIN } else { i64::MAX }))
    }

    /// The Unix second until which a delivery signed at `timestamp` can still be
    /// accepted (`timestamp + max_age`, saturating): how long a replay guard must
    /// remember it.
    pub fn replayable_until(&self, timestamp: i64) -> i64 {
        let end = i128::from(timestamp).saturating_add(i128::from(self.max_age));
        i64::try_from(end).unwrap_or(i64::MAX)
    }
}

fn saturate_u64(v: i128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// A timestamp outside the window, with the skew in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowError {
    /// Older than `max_age`.
    TooOld {
        /// How old the delivery is, in seconds (saturating).
        age_secs: u64,
    },
    /// Further ahead than `max_future`.
    TooNew {
        /// How far ahead of `now` the timestamp is, in seconds (saturating).
        ahead_secs: u64,
    },
}

#[cfg(feature = "std")]
/// The current Unix time in whole seconds, read from the system clock.
///
/// A clock before 1970 gives a negative value (never a panic), which every check
/// handles as an ordinary number.
///
/// `wasm32-unknown-unknown` has no system clock (the standard library's panics
/// there). With the `wasm` feature the time is the host's `Date.now()` (a browser,
/// Node, a Workers runtime); without it, this function and those that read the clock
/// through it ([`Verifier::verify`](crate::Verifier::verify),
/// [`Receiver::now`](crate::Receiver::now)) are not compiled for that target, so a
/// call is a compile error rather than a panic at run time. The `_at` functions,
/// which take `now`, are there on every target.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn unix_now() -> i64 {
    let now = std::time::SystemTime::now();
    match now.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let secs = i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX);
            secs.saturating_neg()
        }
    }
}

/// The current Unix time in whole seconds, read from the host's `Date.now()`.
///
/// A host clock that answers NaN gives 0 and one out of range saturates, so every
/// answer is an ordinary number for the window check, never a panic.
#[cfg(all(target_arch = "wasm32", target_os = "unknown", feature = "wasm"))]
#[cfg_attr(docsrs, doc(cfg(feature = "wasm")))]
pub fn unix_now() -> i64 {
    secs_from_millis(js_sys::Date::now())
}

/// Whole seconds, rounded down, from a count of milliseconds that may be anything a
/// host returns: `as` saturates at the `i64` bounds and maps NaN to 0.
#[cfg(any(
    test,
    all(target_arch = "wasm32", target_os = "unknown", feature = "wasm")
))]
fn secs_from_millis(ms: f64) -> i64 {
    let secs = ms / 1000.0;
    let whole = secs as i64;
    // `as` truncates toward zero: one second earlier for a negative fraction.
    if (whole as f64) > secs {
        whole.saturating_sub(1)
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_774_180_800;

    #[test]
    fn boundaries_are_inclusive() {
        let w = Tolerance::default();
        assert_eq!(w.check(T, T), Ok(0));
        assert_eq!(w.check(T, T + 1), Ok(1));
        assert_eq!(w.check(T, T - 1), Ok(-1));
        assert_eq!(w.check(T, T + 300), Ok(300));
        assert_eq!(
            w.check(T, T + 301),
            Err(WindowError::TooOld { age_secs: 301 })
        );
        assert_eq!(w.check(T, T - 300), Ok(-300));
        assert_eq!(
            w.check(T, T - 301),
            Err(WindowError::TooNew { ahead_secs: 301 })
        );
    }

    #[test]
    fn separate_bounds() {
        let w = Tolerance::default()
            .with_max_age(Duration::from_secs(10))
            .with_max_future(Duration::from_millis(2999));
        assert_eq!(w.max_future(), Duration::from_secs(2));
        assert_eq!(w.check(T, T + 10), Ok(10));
        assert!(w.check(T, T + 11).is_err());
        assert_eq!(w.check(T, T - 2), Ok(-2));
        assert_eq!(
            w.check(T, T - 3),
            Err(WindowError::TooNew { ahead_secs: 3 })
        );
        let zero = Tolerance::default()
            .with_max_age(Duration::ZERO)
            .with_max_future(Duration::ZERO);
        assert_eq!(zero.check(T, T), Ok(0));
        assert!(zero.check(T, T + 1).is_err());
        assert!(zero.check(T, T - 1).is_err());
    }

    #[test]
    fn extremes_do_not_overflow() {
        let w = Tolerance::default();
        assert_eq!(
            w.check(i64::MAX, T),
            Err(WindowError::TooNew {
                ahead_secs: (i64::MAX - T) as u64
            })
        );
        assert_eq!(
            w.check(0, T),
            Err(WindowError::TooOld { age_secs: T as u64 })
        );
        assert_eq!(
            w.check(i64::MAX, i64::MIN),
            Err(WindowError::TooNew {
                ahead_secs: u64::MAX
            })
        );
        assert_eq!(
            w.check(0, i64::MAX),
            Err(WindowError::TooOld {
                age_secs: i64::MAX as u64
            })
        );
        // A clock before 1970.
        assert_eq!(
            w.check(T, -5),
            Err(WindowError::TooNew {
                ahead_secs: (T + 5) as u64
            })
        );
        assert_eq!(w.check(0, -300), Ok(-300));
        let huge = Tolerance::default()
            .with_max_age(Duration::MAX)
            .with_max_future(Duration::MAX);
        assert_eq!(huge.check(i64::MIN, i64::MAX), Ok(i64::MAX));
        assert_eq!(huge.check(i64::MAX, i64::MIN), Ok(i64::MIN));
        assert_eq!(huge.check(0, i64::MAX), Ok(i64::MAX));
        assert_eq!(huge.replayable_until(i64::MAX), i64::MAX);
        assert_eq!(w.replayable_until(T), T + 300);
    }

    #[test]
    fn host_milliseconds_to_seconds() {
        assert_eq!(secs_from_millis(1_774_180_800_999.0), 1_774_180_800);
        assert_eq!(secs_from_millis(1_774_180_800_000.0), 1_774_180_800);
        assert_eq!(secs_from_millis(0.0), 0);
        assert_eq!(secs_from_millis(-0.5), -1);
        assert_eq!(secs_from_millis(-1000.0), -1);
        assert_eq!(secs_from_millis(-1001.0), -2);
        assert_eq!(secs_from_millis(f64::NAN), 0);
        assert_eq!(secs_from_millis(f64::INFINITY), i64::MAX);
        assert_eq!(secs_from_millis(f64::NEG_INFINITY), i64::MIN);
        assert_eq!(secs_from_millis(1e300), i64::MAX);
        assert_eq!(secs_from_millis(-1e300), i64::MIN);
    }

    #[cfg(feature = "std")]
    #[test]
    fn clock_reads_something_plausible() {
        assert!(unix_now() > 1_700_000_000);
    }
}
