//! The body limit: a buffer that refuses the first byte past it.

use crate::rejection::{Rejection, rejected};

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Never pre-allocate more than this from a `Content-Length` the sender announced:
/// the buffer grows as bytes actually arrive.
const MAX_PREALLOCATION: usize = 64 * 1024;

/// A body being read, bounded by the receiver's limit.
///
/// [`BodyBuffer::push`] refuses the chunk that would take the body past the limit,
/// so an adapter stops reading at the first byte too many.
#[derive(Debug)]
pub struct BodyBuffer {
    bytes: Vec<u8>,
    limit: usize,
}

impl BodyBuffer {
    /// An empty buffer for at most `limit` bytes. The announced `content_length` only
    /// sizes the first allocation (capped at 64 KiB); it is never trusted beyond that.
    pub fn new(limit: usize, content_length: Option<u64>) -> Self {
        let hint = content_length
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
            .min(limit)
            .min(MAX_PREALLOCATION);
        Self {
            bytes: Vec::with_capacity(hint),
            limit,
        }
    }

    /// Appends a chunk, or refuses it with [`Rejection::PayloadTooLarge`] if the body
    /// would then exceed the limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Rejection> {
        let room = self.limit.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            return Err(rejected(
                Rejection::PayloadTooLarge { limit: self.limit },
                None,
            ));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// How many bytes have been read.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing has been read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The body read so far.
    pub fn into_vec(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_buffer_stops_at_the_first_byte_past_the_limit() {
        let mut b = BodyBuffer::new(10, Some(u64::MAX));
        assert!(b.bytes.capacity() <= 10);
        b.push(b"12345").unwrap();
        b.push(b"12345").unwrap();
        assert_eq!(b.push(b"x"), Err(Rejection::PayloadTooLarge { limit: 10 }));
        assert_eq!(b.len(), 10);
        let big = BodyBuffer::new(DEFAULT_BODY_LIMIT, Some(u64::MAX));
        assert!(big.bytes.capacity() <= MAX_PREALLOCATION);
    }
}
