//! The send buffer: what the application wrote and the peer has not acknowledged yet.
//!
//! The bytes live in chunks of shared memory ([`Bytes`]), oldest first, then a chunk still
//! being written ([`BytesMut`]). A segment's data can then go to the device as a slice of a
//! chunk ([`SendBuffer::slice`]), with no copy into the packet: the packet's headers and the
//! slice travel side by side (`writev` on a TUN device) and the chunk lives as long as either
//! the buffer or a packet holds it.
//!
//! ```text
//!   acknowledged      in flight, then unsent                     free
//!   ────────────┬────────────────────────────────────────────┬─────────────
//!    (dropped)  │ chunk │ chunk │ ... │ tail (being written)  │ tail's spare
//!               └── front                                end ─┘
//! ```
//!
//! A chunk is frozen (made shareable) when a segment first needs a slice of the tail, up to
//! the segment's end; the tail keeps the rest and goes on filling its spare room. A segment
//! that spans more chunks than a device writes in one go ([`Tail::MAX_PIECES`]) is copied
//! instead.
//!
//! A tail that has filled up is kept (as a handle on no bytes) until nothing else holds its
//! memory, every chunk cut from it acknowledged and every packet sent; it is then the next
//! tail, with no allocation. Freed instead, a block goes back to the allocator, which may
//! hand its pages back to the kernel and fault them in again on the next write: a tenth of a
//! TUN sender's time went to that.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use crate::device::Tail;

/// How much memory a new tail takes (at most the buffer's capacity): big enough that most
/// segments lie inside one chunk, small enough that a connection that writes little holds
/// little.
const CHUNK: usize = 64 * 1024;

/// The fewest bytes [`SendBuffer::push_shared`] keeps as a chunk of their own rather than
/// copy: each chunk a segment spans is one more piece for the device to write, and a segment
/// in too many pieces is copied after all.
pub(crate) const SHARE_MIN: usize = 4096;

/// The send buffer: a queue of bytes, at most `capacity`, in shareable chunks.
#[derive(Debug)]
pub(crate) struct SendBuffer {
    /// The oldest bytes, frozen: packets may hold slices of them.
    chunks: VecDeque<Bytes>,
    /// The newest bytes, after the chunks; its spare room takes the next write.
    tail: BytesMut,
    /// Whether `tail` has memory of its own (not the empty handle of a new or released buffer).
    tail_allocated: bool,
    /// Tails that filled up, oldest first: each the last handle the buffer has on memory that
    /// chunks or packets may still hold, to be reused once they do not.
    spent: VecDeque<BytesMut>,
    /// Bytes held in `chunks`.
    chunked: usize,
    /// The most bytes it holds.
    capacity: usize,
    /// Chunks dropped from the front so far, and bytes: with them, a chunk's number and a
    /// byte's place in the stream stay the same while the front moves on.
    dropped: (usize, u64),
    /// The chunk the last lookup found: its number and where it starts in the stream. The
    /// next segment is most often in it or the next, so lookups start here.
    cursor: (usize, u64),
}

impl SendBuffer {
    /// An empty buffer that holds at most `capacity` bytes (allocated as they are written).
    pub(crate) fn new(capacity: usize) -> SendBuffer {
        SendBuffer {
            chunks: VecDeque::new(),
            tail: BytesMut::new(),
            tail_allocated: false,
            spent: VecDeque::new(),
            chunked: 0,
            capacity,
            dropped: (0, 0),
            cursor: (0, 0),
        }
    }

    /// Whether it holds memory now.
    pub(crate) fn is_allocated(&self) -> bool {
        !self.chunks.is_empty() || self.tail.capacity() > 0 || !self.spent.is_empty()
    }

    /// Gives the memory back when it holds nothing; the next write allocates again.
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.chunks = VecDeque::new();
            self.tail = BytesMut::new();
            self.tail_allocated = false;
            self.spent = VecDeque::new();
        }
    }

    /// How many bytes it holds.
    pub(crate) fn len(&self) -> usize {
        self.chunked + self.tail.len()
    }

    /// Whether it holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many more bytes fit.
    pub(crate) fn free(&self) -> usize {
        self.capacity.saturating_sub(self.len())
    }

    /// Appends as much of `data` as fits; returns how much.
    pub(crate) fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        let mut rest = &data[..n];
        while !rest.is_empty() {
            let spare = self.tail.capacity() - self.tail.len();
            if spare == 0 {
                self.renew_tail();
                continue;
            }
            let now = rest.len().min(spare);
            self.tail.extend_from_slice(&rest[..now]);
            rest = &rest[now..];
        }
        n
    }

    /// Appends as much of `data` as fits, `limit` bytes at most, taking them off the front of
    /// `data`; returns how many. From [`SHARE_MIN`] bytes on they are not copied: they become
    /// a chunk as they are, and segments carry slices of the caller's memory.
    pub(crate) fn push_shared(&mut self, data: &mut Bytes, limit: usize) -> usize {
        let n = data.len().min(self.free()).min(limit);
        if n < SHARE_MIN {
            let n = self.push(&data[..n]);
            data.advance(n);
            return n;
        }
        // After the bytes written before it; the tail keeps its spare room for the next.
        self.freeze(self.tail.len());
        self.chunks.push_back(data.split_to(n));
        self.chunked += n;
        n
    }

    /// Drops `n` bytes from the front (the peer acknowledged them).
    pub(crate) fn consume(&mut self, n: usize) {
        let mut n = n.min(self.len());
        self.dropped.1 += n as u64;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                self.tail.advance(n);
                return;
            };
            let now = n.min(front.len());
            front.advance(now);
            self.chunked -= now;
            n -= now;
            if front.is_empty() {
                self.chunks.pop_front();
                self.dropped.0 += 1;
            }
        }
    }

    /// Copies held bytes starting `offset` bytes from the front into `out`; returns how many
    /// (fewer than `out.len()` when the held bytes run out).
    #[cfg(test)]
    pub(crate) fn read_at(&mut self, offset: usize, out: &mut [u8]) -> usize {
        let mut got = Vec::new();
        let n = self.append_to(offset, out.len(), &mut got);
        out[..n].copy_from_slice(&got);
        n
    }

    /// Appends `n` held bytes starting `offset` bytes from the front to `out`; returns how
    /// many (fewer when the held bytes run out).
    pub(crate) fn append_to(&mut self, offset: usize, n: usize, out: &mut Vec<u8>) -> usize {
        let n = n.min(self.len().saturating_sub(offset));
        if n == 0 {
            return 0;
        }
        // From the chunk that holds `offset` (or the tail), not through all before it.
        let (index, start) = self
            .chunk_at(offset)
            .unwrap_or((self.chunks.len(), self.chunked));
        let first = self.chunks.get(index).map_or(&self.tail[..], |c| &c[..]);
        if let Some(bytes) = first.get(offset - start..offset - start + n) {
            // Most often the bytes lie in one chunk: one copy.
            out.extend_from_slice(bytes);
            return n;
        }
        let pieces = self.chunks.range(index..).map(|c| &c[..]);
        let (mut skip, mut left) = (offset - start, n);
        for piece in pieces.chain(std::iter::once(&self.tail[..])) {
            let take = left.min(piece.len().saturating_sub(skip));
            out.extend_from_slice(&piece[skip..skip + take]);
            (skip, left) = (0, left - take);
            if left == 0 {
                break;
            }
        }
        n
    }

    /// The `n` bytes at `offset` from the front as shared slices of the chunks that hold
    /// them, without a copy; `None` when they span more than [`Tail::MAX_PIECES`] chunks, or
    /// are not all held.
    ///
    /// Bytes still in the tail, up to the slice's end, are frozen into a chunk first, so the
    /// slices stay valid however the buffer changes afterwards. Frozen only that far, the
    /// next segment starts where a chunk does, and so lies in as few chunks as its length
    /// allows even where it crosses from one allocation to the next.
    pub(crate) fn slice(&mut self, offset: usize, n: usize) -> Option<Tail> {
        let end = offset.checked_add(n)?;
        if n == 0 || end > self.len() {
            return None;
        }
        if end > self.chunked {
            self.freeze(end - self.chunked);
        }
        let (mut index, start) = self.chunk_at(offset)?;
        let (mut from, mut left) = (offset - start, n);
        let mut pieces = Vec::with_capacity(2);
        while left > 0 {
            let chunk = self.chunks.get(index)?;
            if pieces.len() == Tail::MAX_PIECES || from >= chunk.len() {
                return None;
            }
            let take = left.min(chunk.len() - from);
            pieces.push(chunk.slice(from..from + take));
            (index, from, left) = (index + 1, 0, left - take);
        }
        Some(Tail::from_pieces(pieces))
    }

    /// The chunk that holds the byte at `offset`: its index and where it starts; `None` for a
    /// byte in the tail (or beyond). Walks from the last chunk found, or from the front when
    /// the byte is before that one.
    fn chunk_at(&mut self, offset: usize) -> Option<(usize, usize)> {
        if offset >= self.chunked {
            return None;
        }
        let (dropped, front) = self.dropped;
        let at = front + offset as u64;
        let (mut number, mut start) = self.cursor;
        if number < dropped || start > at {
            (number, start) = (dropped, front);
        }
        let mut index = number - dropped;
        if index == 0 {
            // The front chunk lost the bytes acknowledged from it: it starts at the front.
            start = front;
        }
        loop {
            let len = self.chunks.get(index)?.len() as u64;
            if at < start + len {
                self.cursor = (dropped + index, start);
                return Some((index, (start - front) as usize));
            }
            (index, start) = (index + 1, start + len);
        }
    }

    /// Gives the tail a chunk's worth of room (at most the capacity) once it is full: its own
    /// memory again when nothing else holds it, else a spent tail's that nothing holds, else
    /// a new allocation.
    fn renew_tail(&mut self) {
        let size = CHUNK.min(self.capacity);
        self.freeze(self.tail.len());
        if self.tail.try_reclaim(size) {
            return;
        }
        let full = std::mem::take(&mut self.tail);
        if std::mem::replace(&mut self.tail_allocated, true) {
            self.spent.push_back(full);
        }
        // Memory still held is at most what the buffer holds, plus what packets hold.
        if self.spent.len() > self.capacity / size + 2 {
            self.spent.pop_front();
        }
        let free = self.spent.iter_mut().position(|s| s.try_reclaim(size));
        self.tail = free
            .and_then(|i| self.spent.remove(i))
            .unwrap_or_else(|| BytesMut::with_capacity(size));
    }

    /// Makes the tail's first `n` bytes a chunk of their own; the tail keeps the rest and its
    /// spare room.
    fn freeze(&mut self, n: usize) {
        let n = n.min(self.tail.len());
        if n > 0 {
            let bytes = self.tail.split_to(n).freeze();
            self.chunked += bytes.len();
            self.chunks.push_back(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn held(buf: &mut SendBuffer) -> Vec<u8> {
        let mut out = Vec::new();
        buf.append_to(0, usize::MAX, &mut out);
        out
    }

    #[test]
    fn holds_at_most_its_capacity() {
        let mut buf = SendBuffer::new(8);
        assert!(
            !buf.is_allocated(),
            "nothing allocated before the first write"
        );
        assert_eq!(buf.push(b"abcdefghij"), 8);
        assert_eq!(buf.free(), 0);
        assert_eq!(held(&mut buf), b"abcdefgh");
        buf.consume(3);
        assert_eq!(buf.push(b"xyz!"), 3);
        assert_eq!(held(&mut buf), b"defghxyz");
        buf.consume(100);
        assert!(buf.is_empty());
        buf.release_if_empty();
        assert!(!buf.is_allocated(), "an empty buffer gives its memory back");
    }

    #[test]
    fn a_slice_outlives_the_bytes_it_was_cut_from() {
        let mut buf = SendBuffer::new(1 << 20);
        buf.push(&[1; 1000]);
        let tail = buf.slice(100, 500).expect("one chunk");
        let slice = tail.single().expect("one piece");
        assert_eq!(&slice[..], &[1; 500][..]);
        // Acknowledged and overwritten: the packet's slice still holds what was sent.
        buf.consume(1000);
        buf.push(&[2; 3000]);
        assert_eq!(&slice[..], &[1; 500][..]);
        assert_eq!(held(&mut buf), vec![2; 3000]);
    }

    #[test]
    fn a_segment_takes_a_slice_of_each_chunk_it_spans_up_to_a_devices_most() {
        /// A slice's pieces, as byte strings.
        fn pieces(tail: Option<Tail>) -> Option<Vec<&'static str>> {
            let text = |b: &Bytes| String::from_utf8(b.to_vec()).map(|s| &*s.leak());
            tail.map(|t| {
                t.pieces()
                    .iter()
                    .map(text)
                    .collect::<Result<_, _>>()
                    .unwrap()
            })
        }
        let mut buf = SendBuffer::new(1 << 20);
        buf.push(b"hello ");
        assert_eq!(pieces(buf.slice(0, 6)), Some(vec!["hello "]));
        buf.push(b"world");
        assert_eq!(
            pieces(buf.slice(3, 6)),
            Some(vec!["lo ", "wor"]),
            "spans the frozen chunk and the tail, frozen up to the slice's end"
        );
        buf.push(b"!!");
        assert_eq!(pieces(buf.slice(6, 7)), Some(vec!["wor", "ld!!"]));
        assert_eq!(pieces(buf.slice(5, 8)), Some(vec![" ", "wor", "ld!!"]));
        assert_eq!(buf.slice(8, 10), None, "beyond what is held");
        // One chunk per byte: a segment over more chunks than a device writes at once is
        // copied instead.
        let mut buf = SendBuffer::new(1 << 20);
        for i in 0..=Tail::MAX_PIECES {
            buf.push(&[i as u8]);
            buf.slice(i, 1).expect("the byte just written");
        }
        let most = Tail::MAX_PIECES;
        assert_eq!(buf.slice(0, most).map(|t| t.pieces().len()), Some(most));
        assert_eq!(buf.slice(0, most + 1), None, "one piece too many");
        let mut out = Vec::new();
        assert_eq!(buf.append_to(0, most + 1, &mut out), most + 1);
        assert_eq!(out, (0..=most as u8).collect::<Vec<_>>());
    }

    #[test]
    fn memory_no_packet_holds_is_reused() {
        let mut buf = SendBuffer::new(1 << 20);
        for _ in 0..100 {
            buf.push(&[7; CHUNK]);
            let slice = buf.slice(0, CHUNK);
            drop(slice);
            buf.consume(CHUNK);
        }
        assert!(buf.tail.capacity() <= 2 * CHUNK, "{}", buf.tail.capacity());
    }

    #[test]
    fn a_tail_is_reused_once_its_packets_are_gone_and_not_before() {
        let mut buf = SendBuffer::new(1 << 20);
        buf.push(&[1; CHUNK]);
        let first = buf.slice(0, CHUNK).expect("one chunk");
        let first_at = first.pieces()[0].as_ptr();
        buf.push(&[2; CHUNK]);
        // The first tail's bytes are in flight (held by the buffer and a packet): new memory.
        let second = buf.slice(CHUNK, CHUNK).expect("one chunk");
        assert_ne!(second.pieces()[0].as_ptr(), first_at);
        buf.consume(CHUNK);
        buf.push(&[3; CHUNK]);
        let third = buf.slice(CHUNK, CHUNK).expect("one chunk");
        assert_ne!(
            third.pieces()[0].as_ptr(),
            first_at,
            "a packet still holds the first"
        );
        assert_eq!(&first.pieces()[0][..], &[1; CHUNK][..]);
        drop((first, second, third));
        buf.consume(CHUNK);
        buf.push(&[4; CHUNK]);
        let fourth = buf.slice(CHUNK, CHUNK).expect("one chunk");
        assert_eq!(
            fourth.pieces()[0].as_ptr(),
            first_at,
            "the first tail's memory, nothing holds it"
        );
        assert_eq!(held(&mut buf), [[3; CHUNK], [4; CHUNK]].concat());
    }

    #[test]
    fn shared_bytes_are_kept_as_they_are_and_short_ones_copied() {
        let mut buf = SendBuffer::new(20_000);
        buf.push(b"ab");
        let long = Bytes::from(vec![7u8; 2 * SHARE_MIN]);
        let mut rest = long.clone();
        assert_eq!(buf.push_shared(&mut rest, usize::MAX), 2 * SHARE_MIN);
        assert!(rest.is_empty());
        let tail = buf.slice(2, 2 * SHARE_MIN).expect("one chunk");
        let slice = tail.single().expect("one piece");
        assert_eq!(
            slice.as_ptr(),
            long.as_ptr(),
            "the caller's memory, not a copy"
        );
        let mut short = Bytes::from_static(b"cd");
        assert_eq!(buf.push_shared(&mut short, usize::MAX), 2);
        buf.push(b"ef");
        let want = [&b"ab"[..], &long[..], b"cdef"].concat();
        assert_eq!(held(&mut buf), want, "in the order written, copied or not");
        // At most the limit, at most the free room; the rest stays with the caller.
        let mut more = Bytes::from(vec![1u8; 3 * SHARE_MIN]);
        assert_eq!(buf.push_shared(&mut more, SHARE_MIN + 1), SHARE_MIN + 1);
        assert_eq!(more.len(), 2 * SHARE_MIN - 1);
        let free = buf.free();
        assert_eq!(buf.push_shared(&mut more, usize::MAX), free);
        assert_eq!(buf.free(), 0);
    }

    proptest! {
        /// It behaves like a plain queue cut to its capacity, whatever is sliced, acknowledged
        /// and written in between; every slice holds the bytes it was cut from, for good.
        #[test]
        fn matches_a_plain_queue(ops in proptest::collection::vec((0u8..5, 0usize..40_000, 0usize..3000), 1..80)) {
            const CAP: usize = 100_000;
            let mut buf = SendBuffer::new(CAP);
            let mut model: VecDeque<u8> = VecDeque::new();
            let mut slices: Vec<(Vec<u8>, Tail)> = Vec::new();
            let mut next = 0u8;
            for (op, n, m) in ops {
                match op {
                    0 => {
                        let data: Vec<u8> = (0..n).map(|_| { next = next.wrapping_add(1); next }).collect();
                        let pushed = buf.push(&data);
                        prop_assert_eq!(pushed, n.min(CAP - model.len()));
                        model.extend(&data[..pushed]);
                    }
                    1 => {
                        let n = n.min(model.len());
                        buf.consume(n);
                        model.drain(..n);
                        buf.release_if_empty();
                    }
                    // Shared bytes, handed over with a limit.
                    4 => {
                        let data: Vec<u8> = (0..n).map(|_| { next = next.wrapping_add(1); next }).collect();
                        let mut shared = Bytes::from(data.clone());
                        let pushed = buf.push_shared(&mut shared, m * 10);
                        prop_assert_eq!(pushed, n.min(CAP - model.len()).min(m * 10));
                        prop_assert_eq!(&shared[..], &data[pushed..]);
                        model.extend(&data[..pushed]);
                    }
                    // A packet is sent: its memory may be reused.
                    2 if !slices.is_empty() => {
                        slices.remove(n % slices.len());
                    }
                    _ => {
                        let offset = n.min(model.len());
                        let want: Vec<u8> = model.iter().skip(offset).take(m).copied().collect();
                        if let Some(slice) = buf.slice(offset, m) {
                            let mut got = Vec::new();
                            slice.append_to(&mut got);
                            prop_assert_eq!(got, want.clone());
                            slices.push((want, slice));
                        } else {
                            let mut out = Vec::new();
                            buf.append_to(offset, m, &mut out);
                            prop_assert_eq!(out, want);
                        }
                    }
                }
                prop_assert_eq!(buf.len(), model.len());
                prop_assert_eq!(held(&mut buf), model.iter().copied().collect::<Vec<_>>());
                for (want, slice) in &slices {
                    let mut got = Vec::new();
                    slice.append_to(&mut got);
                    prop_assert_eq!(&got, want);
                }
            }
        }
    }
}
