//! A fixed-size ring of bytes: the storage behind TCP's receive buffer (the send buffer is in
//! shareable chunks instead, `send_buffer.rs`).
//!
//! The ring holds a window of a byte stream. Bytes are appended at the back and consumed at the
//! front; in between, any byte can be read, and (for the receive side) written at an offset, so
//! that a segment that arrives early is stored where it belongs without an extra copy.
//!
//! ```text
//!            start                      start+len
//!   ┌───────────┬──────────────────────────┬─────────────┐
//!   │   free    │ bytes held (len)         │    free     │   capacity bytes, wrapping
//!   └───────────┴──────────────────────────┴─────────────┘
//! ```
//!
//! The bytes themselves exist only while the ring is in use ([`LazyStorage`]): the first write
//! allocates them, and [`RingBuffer::release_if_empty`] gives them back, so that an idle
//! connection costs no buffer memory.

mod storage;

use storage::LazyStorage;

/// A byte ring buffer of fixed capacity.
#[derive(Debug)]
pub(crate) struct RingBuffer {
    storage: LazyStorage,
    start: usize,
    len: usize,
}

impl RingBuffer {
    /// An empty ring that holds `capacity` bytes (allocated when the first is written).
    pub(crate) fn new(capacity: usize) -> RingBuffer {
        RingBuffer {
            storage: LazyStorage::new(capacity),
            start: 0,
            len: 0,
        }
    }

    /// How many bytes it holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.storage.capacity()
    }

    /// Whether its bytes are allocated now.
    pub(crate) fn is_allocated(&self) -> bool {
        self.storage.is_allocated()
    }

    /// Gives the storage back when the ring holds nothing; the next write allocates it again.
    ///
    /// Only the owner knows whether bytes written beyond the end ([`RingBuffer::write_beyond`])
    /// are still wanted, so the ring never does this by itself: the owner calls it when nothing
    /// is held and nothing beyond the end is either.
    pub(crate) fn release_if_empty(&mut self) {
        if self.len == 0 {
            self.storage.release();
            self.start = 0;
        }
    }

    /// Starts the next bytes at the beginning of the storage again, when the ring holds
    /// nothing. The owner calls it when nothing written beyond the end is wanted either (as for
    /// [`RingBuffer::release_if_empty`]).
    ///
    /// Why: bytes consumed soon after they were written (a receive buffer the application keeps
    /// reading) then cycle through the same few hundred kilobytes, which stay in the CPU's
    /// caches, instead of marching through all of a large ring, whose every line is cold by the
    /// time the writer comes round to it again.
    pub(crate) fn rewind_if_empty(&mut self) {
        if self.len == 0 {
            self.start = 0;
        }
    }

    /// How many bytes it holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many more bytes fit.
    pub(crate) fn free(&self) -> usize {
        self.capacity() - self.len
    }

    /// Appends as much of `data` as fits; returns how much.
    #[cfg(test)]
    pub(crate) fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        let at = self.len;
        self.write_at(at, &data[..n]);
        self.len += n;
        n
    }

    /// Copies `data` into the free space at `offset` bytes past the end of what is held, without
    /// making it part of the held bytes (see [`RingBuffer::extend`]). Returns how much fitted.
    pub(crate) fn write_beyond(&mut self, offset: usize, data: &[u8]) -> usize {
        if offset >= self.free() {
            return 0;
        }
        let n = data.len().min(self.free() - offset);
        let at = self.len + offset;
        self.write_at(at, &data[..n]);
        n
    }

    /// Makes `n` bytes past the end (written by [`RingBuffer::write_beyond`]) part of the held
    /// bytes.
    pub(crate) fn extend(&mut self, n: usize) {
        self.len += n.min(self.free());
    }

    /// Copies held bytes starting `offset` bytes from the front into `out`; returns how many
    /// (fewer than `out.len()` when the held bytes run out).
    pub(crate) fn read_at(&self, offset: usize, out: &mut [u8]) -> usize {
        if offset >= self.len {
            return 0;
        }
        let n = out.len().min(self.len - offset);
        if n == 0 {
            return 0;
        }
        let (first, second) = self.slices(offset, n);
        out[..first.len()].copy_from_slice(first);
        out[first.len()..n].copy_from_slice(second);
        n
    }

    /// Appends `n` held bytes starting `offset` bytes from the front to `out`, with no
    /// zero-fill before the copy; returns how many (fewer when the held bytes run out).
    pub(crate) fn append_to(&self, offset: usize, n: usize, out: &mut Vec<u8>) -> usize {
        let n = n.min(self.len.saturating_sub(offset));
        if n == 0 {
            return 0;
        }
        let (first, second) = self.slices(offset, n);
        out.extend_from_slice(first);
        out.extend_from_slice(second);
        n
    }

    /// Drops `n` bytes from the front (they were read, or acknowledged).
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.start = (self.start + n) % self.capacity().max(1);
        self.len -= n;
        // No realigning when empty: bytes written beyond the end (early segments) keep their
        // places relative to `start`.
    }

    /// The `n` bytes at `offset` from the front, as at most two slices (the ring may wrap).
    fn slices(&self, offset: usize, n: usize) -> (&[u8], &[u8]) {
        let cap = self.capacity();
        let from = (self.start + offset) % cap.max(1);
        let first = n.min(cap - from);
        // Held bytes were written, so the storage exists whenever `n` is more than zero.
        let storage = self.storage.get();
        (&storage[from..from + first], &storage[..n - first])
    }

    /// Writes `data` at position `at` counted from the front, wrapping.
    fn write_at(&mut self, at: usize, data: &[u8]) {
        let cap = self.capacity();
        if data.is_empty() || cap == 0 {
            return;
        }
        let from = (self.start + at) % cap;
        let first = data.len().min(cap - from);
        let storage = self.storage.get_mut();
        storage[from..from + first].copy_from_slice(&data[..first]);
        storage[..data.len() - first].copy_from_slice(&data[first..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn push_read_consume_across_the_wrap() {
        let mut ring = RingBuffer::new(8);
        assert_eq!(ring.push(b"abcdef"), 6);
        ring.consume(4);
        assert_eq!(ring.push(b"ghijklmn"), 6, "only 6 bytes are free");
        let mut out = [0u8; 8];
        assert_eq!(ring.read_at(0, &mut out), 8);
        assert_eq!(&out, b"efghijkl");
        assert_eq!(ring.read_at(5, &mut out[..2]), 2);
        assert_eq!(&out[..2], b"jk");
        assert_eq!(ring.read_at(8, &mut out), 0);
    }

    #[test]
    fn bytes_written_ahead_join_when_extended() {
        let mut ring = RingBuffer::new(10);
        ring.push(b"ab");
        assert_eq!(ring.write_beyond(3, b"fgh"), 3); // "cde" has not arrived yet
        assert_eq!(ring.len(), 2);
        ring.write_beyond(0, b"cde");
        ring.extend(6);
        let mut out = [0u8; 8];
        assert_eq!(ring.read_at(0, &mut out), 8);
        assert_eq!(&out, b"abcdefgh");
        assert_eq!(
            ring.write_beyond(2, b"xyz"),
            0,
            "offset 2 is past the 2 free bytes"
        );
        assert_eq!(ring.write_beyond(1, b"xyz"), 1);
    }

    #[test]
    fn storage_exists_only_while_bytes_are_held() {
        let mut ring = RingBuffer::new(8);
        assert!(!ring.is_allocated(), "a new ring allocates nothing");
        assert_eq!((ring.capacity(), ring.free()), (8, 8));
        assert_eq!(ring.push(b""), 0);
        assert!(!ring.is_allocated(), "an empty write allocates nothing");
        ring.push(b"abcdef");
        assert!(ring.is_allocated());
        ring.consume(4);
        ring.release_if_empty();
        assert!(ring.is_allocated(), "bytes are still held");
        ring.consume(2);
        ring.release_if_empty();
        assert!(!ring.is_allocated());
        assert_eq!((ring.capacity(), ring.free()), (8, 8));
    }

    #[test]
    fn an_emptied_ring_rewinds_to_the_start_of_its_storage() {
        let mut ring = RingBuffer::new(8);
        ring.push(b"abcdef");
        ring.consume(4);
        ring.rewind_if_empty();
        assert_eq!(ring.start, 4, "not while bytes are held");
        ring.consume(2);
        ring.rewind_if_empty();
        assert_eq!(ring.start, 0, "the next bytes go where the first ones went");
        ring.push(b"xyz");
        assert_eq!(&ring.storage.get()[..3], b"xyz");
        let mut out = [0u8; 3];
        assert_eq!(ring.read_at(0, &mut out), 3);
        assert_eq!(&out, b"xyz");
    }

    #[test]
    fn a_released_ring_wraps_as_before() {
        let mut ring = RingBuffer::new(8);
        ring.push(b"abcdef");
        ring.consume(6);
        ring.release_if_empty();
        assert_eq!(
            ring.push(b"ghijklmn"),
            8,
            "the whole capacity is free again"
        );
        ring.consume(5);
        assert_eq!(ring.push(b"opqr"), 4, "wraps around the end");
        let mut out = [0u8; 8];
        assert_eq!(ring.read_at(0, &mut out), 7);
        assert_eq!(&out[..7], b"lmnopqr");
    }

    proptest! {
        /// The ring behaves like an unbounded queue cut to its capacity.
        #[test]
        fn matches_a_plain_queue(ops in proptest::collection::vec((any::<bool>(), 0usize..20), 1..60)) {
            let mut ring = RingBuffer::new(16);
            let mut model: std::collections::VecDeque<u8> = Default::default();
            let mut next = 0u8;
            for (push, n) in ops {
                if push {
                    let data: Vec<u8> = (0..n).map(|_| { next = next.wrapping_add(1); next }).collect();
                    let pushed = ring.push(&data);
                    prop_assert_eq!(pushed, n.min(16 - model.len()));
                    model.extend(&data[..pushed]);
                } else {
                    let n = n.min(model.len());
                    ring.consume(n);
                    model.drain(..n);
                    // As the send buffer does after every acknowledgment.
                    ring.release_if_empty();
                }
                let mut out = vec![0u8; 16];
                let got = ring.read_at(0, &mut out);
                prop_assert_eq!(&out[..got], &model.iter().copied().collect::<Vec<_>>()[..]);
            }
        }
    }
}
