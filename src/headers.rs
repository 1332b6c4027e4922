//! Looking headers up by name, for any HTTP stack (`docs/verification.md`, *What
//! arrives*).

/// `X-Nexio-Signature`, lowercase as HTTP/2 and `http::HeaderName` spell it.
pub const SIGNATURE: &str = "x-nexio-signature";
/// `X-Nexio-Timestamp`: unsigned; `t=` in the signature header is authoritative.
pub const TIMESTAMP: &str = "x-nexio-timestamp";
/// `X-Nexio-Event`: unsigned copy of the body's `type`.
pub const EVENT: &str = "x-nexio-event";
/// `X-Nexio-Delivery`: delivery UUID, the same across retries; **not signed**.
pub const DELIVERY: &str = "x-nexio-delivery";
/// `X-Nexio-Webhook-Version`: unsigned copy of the body's `webhook_version`.
pub const WEBHOOK_VERSION: &str = "x-nexio-webhook-version";
/// `Authorization`: `Bearer <auth_token>` when the endpoint has one.
pub const AUTHORIZATION: &str = "authorization";

/// The headers [`Verifier::verify_at`](crate::Verifier::verify_at) reads, in the order
/// it destructures them (which is also [`known_index`]'s); `Authorization` last, so it
/// can be left out when no bearer token is configured. A `static`, so that
/// `http::HeaderMap` can recognize this exact list by its address.
pub(crate) static VERIFY_HEADERS: [&str; 6] = [
    SIGNATURE,
    TIMESTAMP,
    EVENT,
    WEBHOOK_VERSION,
    DELIVERY,
    AUTHORIZATION,
];

/// What a header lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderLookup<'a> {
    /// The header is not there.
    Absent,
    /// The header is there exactly once, with this raw value.
    One(&'a [u8]),
    /// The header is there more than once. For the headers this crate reads, a
    /// repeated header is ambiguous and is treated as malformed.
    Repeated,
}

impl<'a> HeaderLookup<'a> {
    /// Builds the answer from every value of one header, in any order.
    ///
    /// ```
    /// use nexio_webhooks::HeaderLookup;
    ///
    /// assert_eq!(HeaderLookup::from_values(Vec::<&[u8]>::new()), HeaderLookup::Absent);
    /// assert_eq!(HeaderLookup::from_values([&b"a"[..]]), HeaderLookup::One(b"a"));
    /// assert_eq!(HeaderLookup::from_values([&b"a"[..], b"b"]), HeaderLookup::Repeated);
    /// ```
    pub fn from_values<I>(values: I) -> Self
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut values = values.into_iter();
        match (values.next(), values.next()) {
            (None, _) => Self::Absent,
            (Some(one), None) => Self::One(one),
            (Some(_), Some(_)) => Self::Repeated,
        }
    }
}

/// Anything that can look a request header up by name.
///
/// Implemented for [`http::HeaderMap`] (1.x, as used by axum and hyper; with the
/// `std` feature), and for slices, arrays and vectors of `(name, value)` pairs (names
/// compared ASCII case-insensitively). For another HTTP stack — for example actix-web's `http` 0.2
/// map — one method is enough:
///
/// ```
/// use nexio_webhooks::{HeaderLookup, HeaderSource};
///
/// struct MyHeaders(Vec<(String, Vec<u8>)>);
///
/// impl HeaderSource for MyHeaders {
///     fn lookup(&self, name: &str) -> HeaderLookup<'_> {
///         HeaderLookup::from_values(
///             self.0.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice()),
///         )
///     }
/// }
/// ```
pub trait HeaderSource {
    /// Looks up the header `name` (given in lowercase ASCII), case-insensitively.
    fn lookup(&self, name: &str) -> HeaderLookup<'_>;

    /// Looks up several headers at once: `found[i]` receives what
    /// [`lookup`](HeaderSource::lookup)`(names[i])` would answer (pairs beyond the
    /// shorter of the two slices are left alone).
    ///
    /// The verifier asks for every header it reads in one call. The default makes one
    /// `lookup` per name; sources that can answer in a single pass over their headers
    /// (`http::HeaderMap`, pair slices) override it.
    ///
    /// ```
    /// use nexio_webhooks::{HeaderLookup, HeaderSource};
    ///
    /// let headers = [("X-Nexio-Event", "run.completed")];
    /// let mut found = [HeaderLookup::Absent; 2];
    /// headers.lookup_many(&["x-nexio-event", "x-nexio-delivery"], &mut found);
    /// assert_eq!(found, [HeaderLookup::One(b"run.completed"), HeaderLookup::Absent]);
    /// ```
    fn lookup_many<'s>(&'s self, names: &[&str], found: &mut [HeaderLookup<'s>]) {
        for (name, slot) in names.iter().zip(found.iter_mut()) {
            *slot = self.lookup(name);
        }
    }
}

impl<T: HeaderSource + ?Sized> HeaderSource for &T {
    fn lookup(&self, name: &str) -> HeaderLookup<'_> {
        (**self).lookup(name)
    }

    fn lookup_many<'s>(&'s self, names: &[&str], found: &mut [HeaderLookup<'s>]) {
        (**self).lookup_many(names, found);
    }
}

/// Records one more value of a header: absent, then one, then repeated.
#[inline]
fn add_value<'a>(slot: &mut HeaderLookup<'a>, value: &'a [u8]) {
    *slot = match *slot {
        HeaderLookup::Absent => HeaderLookup::One(value),
        HeaderLookup::One(_) | HeaderLookup::Repeated => HeaderLookup::Repeated,
    };
}

/// One pass over `(name, value)` pairs, answering every name in `names`.
#[inline]
pub(crate) fn scan_pairs<'a, I>(pairs: I, names: &[&str], found: &mut [HeaderLookup<'a>])
where
    I: Iterator<Item = (&'a str, &'a [u8])>,
{
    for slot in found.iter_mut() {
        *slot = HeaderLookup::Absent;
    }
    for (name, value) in pairs {
        for (want, slot) in names.iter().zip(found.iter_mut()) {
            // Lengths first (rejects almost every pair), then the exact bytes (the
            // usual hit: `http` stores names in lowercase, as they are asked for),
            // then the case-insensitive rule.
            if want.len() == name.len()
                && (want.as_bytes() == name.as_bytes() || want.eq_ignore_ascii_case(name))
            {
                add_value(slot, value);
            }
        }
    }
}

#[cfg(feature = "std")]
/// Up to this many header values, [`http::HeaderMap`] answers
/// [`HeaderSource::lookup_many`] with one pass over its entries; above it, with
/// hashed lookups (whose cost does not grow with the request's header count).
pub(crate) const HEADER_MAP_SCAN_MAX: usize = 16;

#[cfg(feature = "std")]
impl HeaderSource for http::HeaderMap {
    /// One pass over the entries for a map of up to 16 values (a webhook delivery
    /// has about eight): comparing lengths first rejects almost every name at once,
    /// where each hashed lookup hashes the name byte by byte (callgrind, complete
    /// delivery: five hashed lookups ~1380 instructions, one pass ~990). Larger maps
    /// use hashed lookups.
    fn lookup_many<'s>(&'s self, names: &[&str], found: &mut [HeaderLookup<'s>]) {
        if self.len() <= HEADER_MAP_SCAN_MAX && scan_known(self, names, found) {
            return;
        }
        if self.len() <= HEADER_MAP_SCAN_MAX {
            scan_pairs(
                self.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
                names,
                found,
            );
        } else {
            for (name, slot) in names.iter().zip(found.iter_mut()) {
                *slot = self.lookup(name);
            }
        }
    }

    fn lookup(&self, name: &str) -> HeaderLookup<'_> {
        // The names the verifier asks for are looked up by a prepared `HeaderName`:
        // a `&str` key is re-validated and lower-cased by `http` on every call, which
        // cost more than the rest of the lookup (measured with callgrind). A linear
        // scan of the names was tried too: no faster with a real delivery's seven
        // headers, and it would grow with the request's header count.
        let values = match known_name(name) {
            Some(known) => self.get_all(known),
            None => self.get_all(name),
        };
        HeaderLookup::from_values(values.iter().map(http::HeaderValue::as_bytes))
    }
}

#[cfg(feature = "std")]
/// The one pass over a small `http::HeaderMap` when every name asked for is one this
/// crate reads (always, from the verifier): each entry's name is classified by its
/// length and a comparison with constants, which the compiler turns into a few word
/// loads, instead of being compared with every name asked for. Returns `false`, having
/// written nothing, when some name is not one of those or is asked twice.
#[inline]
fn scan_known<'s>(
    map: &'s http::HeaderMap,
    names: &[&str],
    found: &mut [HeaderLookup<'s>],
) -> bool {
    if core::ptr::eq(names.as_ptr(), VERIFY_HEADERS.as_ptr()) {
        // The verifier's own list (a prefix of it): `found` is in known_index's
        // order, so an entry's class is its slot, with nothing to translate.
        for slot in found.iter_mut() {
            *slot = HeaderLookup::Absent;
        }
        let wanted = names.len().min(found.len());
        for (name, value) in map {
            if let Some(k) = known_index(name.as_str().as_bytes())
                && k < wanted
                && let Some(slot) = found.get_mut(k)
            {
                add_value(slot, value.as_bytes());
            }
        }
        return true;
    }
    // For each known name, where the caller wants it (`found` index), if at all.
    let mut slot_of = [usize::MAX; KNOWN_NAMES];
    {
        for (i, name) in names.iter().enumerate() {
            match (known_index(name.as_bytes()), found.get(i)) {
                (Some(k), Some(_)) => match slot_of.get_mut(k) {
                    Some(slot) if *slot == usize::MAX => *slot = i,
                    // A name asked twice: the plain scan answers both.
                    _ => return false,
                },
                (Some(_), None) => {}
                (None, _) => return false,
            }
        }
    }
    for slot in found.iter_mut() {
        *slot = HeaderLookup::Absent;
    }
    for (name, value) in map {
        if let Some(k) = known_index(name.as_str().as_bytes())
            && let Some(&i) = slot_of.get(k)
            && let Some(slot) = found.get_mut(i)
        {
            add_value(slot, value.as_bytes());
        }
    }
    true
}

#[cfg(feature = "std")]
/// How many header names [`known_index`] recognizes.
const KNOWN_NAMES: usize = 6;

#[cfg(feature = "std")]
/// Which of the headers this crate reads `name` is (lowercase, as `http` stores
/// names), by length first.
///
/// Every request header goes through this, so it decides with as few loads as it can:
/// the length and one byte pick the only name it could be, and one comparison of
/// fixed length settles it (`x-nexio-signature` and `x-nexio-timestamp` share a
/// length; their ninth bytes differ). The comparison is between arrays of known
/// size, which compile to a few word loads: comparing slices calls `memcmp`, which
/// took 45% of a seven-header walk (perf, AMD EPYC).
#[inline(always)]
fn known_index(name: &[u8]) -> Option<usize> {
    fn is<const N: usize>(name: &[u8], known: &str) -> bool {
        match (name.first_chunk::<N>(), known.as_bytes().first_chunk::<N>()) {
            (Some(name), Some(known)) => name == known,
            _ => false,
        }
    }
    let (index, matches) = match (name.len(), name.get(8)) {
        (17, Some(b's')) => (0, is::<17>(name, SIGNATURE)),
        (17, Some(b't')) => (1, is::<17>(name, TIMESTAMP)),
        (13, Some(b'e')) => (2, is::<13>(name, EVENT)),
        (23, _) => (3, is::<23>(name, WEBHOOK_VERSION)),
        (16, _) => (4, is::<16>(name, DELIVERY)),
        (13, Some(b'a')) => (5, is::<13>(name, AUTHORIZATION)),
        _ => return None,
    };
    matches.then_some(index)
}

#[cfg(feature = "std")]
static SIGNATURE_NAME: http::HeaderName = http::HeaderName::from_static(SIGNATURE);
#[cfg(feature = "std")]
static TIMESTAMP_NAME: http::HeaderName = http::HeaderName::from_static(TIMESTAMP);
#[cfg(feature = "std")]
static EVENT_NAME: http::HeaderName = http::HeaderName::from_static(EVENT);
#[cfg(feature = "std")]
static DELIVERY_NAME: http::HeaderName = http::HeaderName::from_static(DELIVERY);
#[cfg(feature = "std")]
static WEBHOOK_VERSION_NAME: http::HeaderName = http::HeaderName::from_static(WEBHOOK_VERSION);
#[cfg(feature = "std")]
static AUTHORIZATION_NAME: http::HeaderName = http::header::AUTHORIZATION;

#[cfg(feature = "std")]
/// The prepared `HeaderName` for each header this crate reads.
fn known_name(name: &str) -> Option<&'static http::HeaderName> {
    match name {
        SIGNATURE => Some(&SIGNATURE_NAME),
        TIMESTAMP => Some(&TIMESTAMP_NAME),
        EVENT => Some(&EVENT_NAME),
        DELIVERY => Some(&DELIVERY_NAME),
        WEBHOOK_VERSION => Some(&WEBHOOK_VERSION_NAME),
        AUTHORIZATION => Some(&AUTHORIZATION_NAME),
        _ => None,
    }
}

impl<N: AsRef<str>, V: AsRef<[u8]>> HeaderSource for [(N, V)] {
    fn lookup(&self, name: &str) -> HeaderLookup<'_> {
        HeaderLookup::from_values(
            self.iter()
                .filter(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_ref()),
        )
    }

    /// One pass over the pairs for all the names.
    fn lookup_many<'s>(&'s self, names: &[&str], found: &mut [HeaderLookup<'s>]) {
        scan_pairs(
            self.iter().map(|(n, v)| (n.as_ref(), v.as_ref())),
            names,
            found,
        );
    }
}

impl<N: AsRef<str>, V: AsRef<[u8]>, const K: usize> HeaderSource for [(N, V); K] {
    fn lookup(&self, name: &str) -> HeaderLookup<'_> {
        self.as_slice().lookup(name)
    }

    fn lookup_many<'s>(&'s self, names: &[&str], found: &mut [HeaderLookup<'s>]) {
        self.as_slice().lookup_many(names, found);
    }
}

impl<N: AsRef<str>, V: AsRef<[u8]>> HeaderSource for alloc::vec::Vec<(N, V)> {
    fn lookup(&self, name: &str) -> HeaderLookup<'_> {
        self.as_slice().lookup(name)
    }

    fn lookup_many<'s>(&'s self, names: &[&str], found: &mut [HeaderLookup<'s>]) {
        self.as_slice().lookup_many(names, found);
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_case_insensitive_and_detect_repeats() {
        let pairs = [
            ("X-Nexio-Signature", "a"),
            ("x-nexio-event", "run.completed"),
        ];
        assert_eq!(pairs.lookup(SIGNATURE), HeaderLookup::One(b"a"));
        assert_eq!(pairs.lookup(EVENT), HeaderLookup::One(b"run.completed"));
        assert_eq!(pairs.lookup(DELIVERY), HeaderLookup::Absent);
        let pairs = vec![("x-nexio-signature", "a"), ("X-NEXIO-SIGNATURE", "b")];
        assert_eq!(pairs.lookup(SIGNATURE), HeaderLookup::Repeated);
    }

    #[test]
    fn known_index_recognizes_exactly_the_names_read() {
        for (i, name) in VERIFY_HEADERS.iter().enumerate() {
            assert_eq!(known_index(name.as_bytes()), Some(i), "{name}");
        }
        // Same length, same distinguishing byte, or one byte off: not ours.
        for other in [
            "x-nexio-signaturx",
            "x-nexio-timestamq",
            "x-nexio-svent",
            "y-nexio-event",
            "x-nexio-webhook-versioN",
            "x-nexio-deliverz",
            "authorizatiom",
            "x-nexio-sxxxxxxxx",
            "x-nexio-a",
            "content-type",
            "",
        ] {
            assert_eq!(known_index(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn header_map() {
        let mut map = http::HeaderMap::new();
        map.insert("x-nexio-signature", http::HeaderValue::from_static("a"));
        assert_eq!(map.lookup(SIGNATURE), HeaderLookup::One(b"a"));
        map.append("x-nexio-signature", http::HeaderValue::from_static("b"));
        assert_eq!(map.lookup(SIGNATURE), HeaderLookup::Repeated);
        assert_eq!(map.lookup(EVENT), HeaderLookup::Absent);
        // Every name, prepared or not, in a small or a large map, finds what `http`
        // itself finds.
        let names = [
            SIGNATURE,
            TIMESTAMP,
            EVENT,
            DELIVERY,
            WEBHOOK_VERSION,
            AUTHORIZATION,
            "x-other",
        ];
        for (name, filler) in names.iter().flat_map(|n| [(*n, 0), (*n, 40)]) {
            let mut map = http::HeaderMap::new();
            for i in 0..filler {
                map.append(
                    http::HeaderName::from_bytes(format!("x-filler-{}", i % 30).as_bytes())
                        .unwrap(),
                    http::HeaderValue::from_static("f"),
                );
            }
            assert_eq!(map.lookup(name), HeaderLookup::Absent, "{name}");
            map.insert(
                http::HeaderName::from_bytes(name.to_uppercase().as_bytes()).unwrap(),
                http::HeaderValue::from_static("v"),
            );
            assert_eq!(map.lookup(name), HeaderLookup::One(b"v"), "{name}");
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_static("w"),
            );
            assert_eq!(map.lookup(name), HeaderLookup::Repeated, "{name}");
        }
    }

    #[test]
    fn classifying_scan_finds_every_known_name_and_no_look_alike() {
        // Each name this crate reads, and a name of the same length that is not it.
        let entries = [
            (SIGNATURE, "s"),
            (TIMESTAMP, "t"),
            (EVENT, "e"),
            (WEBHOOK_VERSION, "v"),
            (DELIVERY, "d"),
            (AUTHORIZATION, "a"),
            ("x-nexio-signaturx", "1"),
            ("x-nexio-timestamq", "2"),
            ("x-nexio-evenz", "3"),
            ("x-nexio-webhook-versioo", "4"),
            ("x-nexio-deliverz", "5"),
            ("authorizatioo", "6"),
            ("content-type", "c"),
        ];
        for with_real in [true, false] {
            let mut map = http::HeaderMap::new();
            for (n, v) in entries
                .iter()
                .filter(|(n, _)| with_real || !VERIFY_HEADERS.contains(n))
            {
                map.append(
                    http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    http::HeaderValue::from_static(v),
                );
            }
            let want: Vec<_> = VERIFY_HEADERS.iter().map(|n| map.lookup(n)).collect();
            let expected: Vec<_> = if with_real {
                ["s", "t", "e", "v", "d", "a"]
                    .iter()
                    .map(|v| HeaderLookup::One(v.as_bytes()))
                    .collect()
            } else {
                vec![HeaderLookup::Absent; 6]
            };
            assert_eq!(want, expected);
            // The verifier's own list (recognized by address), and the same names
            // elsewhere in memory (classified one by one).
            let copy: Vec<&str> = VERIFY_HEADERS.to_vec();
            for names in [&VERIFY_HEADERS[..], &copy[..]] {
                let mut found = [HeaderLookup::One(b"stale"); 6];
                assert!(scan_known(&map, names, &mut found));
                assert_eq!(found.as_slice(), want.as_slice());
            }
            // Not for it: a name it does not know, or one asked twice.
            let mut found = [HeaderLookup::One(b"stale"); 2];
            assert!(!scan_known(&map, &["x-other", EVENT], &mut found));
            assert!(!scan_known(&map, &[EVENT, EVENT], &mut found));
            assert_eq!(found, [HeaderLookup::One(b"stale"); 2]);
        }
    }

    #[test]
    fn lookup_many_answers_as_lookup_does() {
        let names = [
            SIGNATURE,
            TIMESTAMP,
            EVENT,
            DELIVERY,
            WEBHOOK_VERSION,
            "x-other",
        ];
        let pairs: Vec<(String, &str)> = vec![
            ("X-Nexio-Signature".into(), "s"),
            ("x-nexio-event".into(), "e1"),
            ("X-NEXIO-EVENT".into(), "e2"),
            ("x-nexio-delivery".into(), "d"),
            ("content-type".into(), "c"),
        ];
        for filler in [0, 5, 40] {
            let mut pairs = pairs.clone();
            for i in 0..filler {
                pairs.push((format!("x-filler-{}", i % 30), "f"));
            }
            let mut map = http::HeaderMap::new();
            for (n, v) in &pairs {
                map.append(
                    http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    http::HeaderValue::from_static(v),
                );
            }
            let want: Vec<_> = names.iter().map(|n| pairs.lookup(n)).collect();
            assert_eq!(want[0], HeaderLookup::One(b"s"));
            assert_eq!(want[2], HeaderLookup::Repeated);
            assert_eq!(want[4], HeaderLookup::Absent);
            let check = |src: &dyn HeaderSource| {
                let mut found = [HeaderLookup::One(b"stale"); 6];
                src.lookup_many(&names, &mut found);
                assert_eq!(found.as_slice(), want.as_slice(), "{filler}");
                let one: Vec<_> = names.iter().map(|n| src.lookup(n)).collect();
                assert_eq!(one, want, "{filler}");
            };
            check(&map);
            check(&pairs);
            check(&pairs.as_slice());
            // Fewer slots than names: the extra names are not answered.
            let mut short = [HeaderLookup::Absent; 1];
            map.lookup_many(&names, &mut short);
            assert_eq!(short, [HeaderLookup::One(b"s")]);
            // Only names this crate reads, in any order (the map's classifying scan),
            // a name asked twice, and fewer slots than names.
            let known = [
                WEBHOOK_VERSION,
                AUTHORIZATION,
                EVENT,
                SIGNATURE,
                DELIVERY,
                TIMESTAMP,
                EVENT,
            ];
            let want: Vec<_> = known.iter().map(|n| pairs.lookup(n)).collect();
            for slots in [7, 3, 0] {
                let mut from_map = vec![HeaderLookup::One(b"stale"); slots];
                map.lookup_many(&known, &mut from_map);
                assert_eq!(from_map.as_slice(), &want[..slots], "{filler} {slots}");
            }
        }
    }
}
