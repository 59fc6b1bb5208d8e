//! The receive buffer: bytes in order for the application, and segments that came early.
//!
//! Everything from RCV.NXT on is stored in one ring, each byte at its place in the stream. The
//! bytes before RCV.NXT wait for the application to read them; after RCV.NXT, segments that
//! arrived out of order sit in their places with holes between them. When a segment fills the
//! first hole, RCV.NXT jumps over everything that has become contiguous ([RFC 9293 3.10.7.4],
//! seventh step: "segment text"). That is reassembly, without copying anything twice.
//!
//! ```text
//!          readable (in order)   RCV.NXT   hole   early    hole   early
//!   ┌──────────────────────────────┬───────┬─────────┬──────┬───────┬────────────┐
//!   │ for the application          │       │ 1000..  │      │ 3000..│   free     │
//!   └──────────────────────────────┴───────┴─────────┴──────┴───────┴────────────┘
//!                                  |<------------ receive window ------------->|
//! ```
//!
//! A large segment that arrives in order, with nothing held early, is not copied at all: the
//! buffer keeps a slice of the packet it came in ([`Bytes`], shared with the driver's buffer)
//! and its place in the ring stays unwritten ("lent" bytes). The application's read copies it
//! out of the packet, so its bytes are copied once on the way up instead of twice. Only packets
//! the driver marks as worth keeping (at least half their buffer is packet, see
//! [`Host::receive_shared`](crate::Host::receive_shared)) are kept this way, so a peer's small
//! segments cannot make the buffer hold much more memory than its window.
//!
//! ```text
//!   ring:  │ copied │ lent (unwritten) │ copied │ lent │ ...
//!   lent:           └─ slice of packet 1         └─ slice of packet 2
//! ```
//!
//! [RFC 9293 3.10.7.4]: https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4

use std::collections::VecDeque;
use std::ops::Range;

use bytes::Bytes;

use super::ring::RingBuffer;

/// How many separate early ranges are kept; a segment that would make more is dropped (the
/// sender will send it again). Bounds the work a hostile sender can cause.
pub(crate) const MAX_RANGES: usize = 32;

/// Received bytes: in order for the reader, and early ones waiting for the holes to fill.
#[derive(Debug)]
pub(crate) struct RecvBuffer {
    ring: RingBuffer,
    /// The window we offer: at most this many bytes held from the reader's position on.
    window_limit: usize,
    /// Early ranges, as offsets from RCV.NXT: sorted, disjoint, never touching.
    early: Vec<Range<usize>>,
    /// How many bytes the application has read so far: the stream position of the ring's
    /// front, which places the lent slices.
    read_total: u64,
    /// Readable bytes kept in their packets instead of the ring, oldest first, each with its
    /// stream position: sorted, disjoint, and all within the ring's held bytes.
    lent: VecDeque<(u64, Bytes)>,
}

impl RecvBuffer {
    /// A buffer that offers a window of `capacity` bytes, with `slack` bytes of extra room for
    /// data a rounded-up window scale lets in.
    pub(crate) fn new(capacity: usize, slack: usize) -> RecvBuffer {
        RecvBuffer {
            ring: RingBuffer::new(capacity + slack),
            window_limit: capacity,
            early: Vec::new(),
            read_total: 0,
            lent: VecDeque::new(),
        }
    }

    /// The size of the window when the buffer is empty.
    pub(crate) fn capacity(&self) -> usize {
        self.window_limit
    }

    /// Bytes in order, ready for the application.
    pub(crate) fn readable(&self) -> usize {
        self.ring.len()
    }

    /// The receive window: how many bytes from RCV.NXT on we can take.
    pub(crate) fn window(&self) -> usize {
        self.window_limit.saturating_sub(self.ring.len())
    }

    /// How many bytes from RCV.NXT on the ring can hold: the window plus the slack.
    pub(crate) fn storage(&self) -> usize {
        self.ring.free()
    }

    /// Whether early segments are waiting for a hole to fill.
    pub(crate) fn has_holes(&self) -> bool {
        !self.early.is_empty()
    }

    /// The early ranges, as offsets from RCV.NXT (for SACK blocks).
    pub(crate) fn early_ranges(&self) -> &[Range<usize>] {
        &self.early
    }

    /// The first part of `range` (offsets from RCV.NXT) already held among the early ranges:
    /// data that arrived twice.
    pub(crate) fn already_held(&self, range: Range<usize>) -> Option<Range<usize>> {
        self.early
            .iter()
            .map(|r| range.start.max(r.start)..range.end.min(r.end))
            .find(|overlap| !overlap.is_empty())
    }

    /// Stores `data`, which starts `offset` bytes after RCV.NXT. Returns how far RCV.NXT moves
    /// (zero when the data was early, or did not fit).
    ///
    /// `packet` is the buffer `data` came in, when the buffer may keep a slice of it: data in
    /// order, with nothing held early, is then kept there instead of copied into the ring.
    pub(crate) fn insert(&mut self, offset: usize, data: &[u8], packet: Option<&Bytes>) -> usize {
        if offset == 0 && self.early.is_empty() {
            if let Some(slice) = packet.and_then(|packet| slice_of(packet, data)) {
                return self.lend(slice);
            }
        }
        let stored = self.ring.write_beyond(offset, data);
        if stored == 0 {
            return 0;
        }
        if offset == 0 && self.early.is_empty() {
            // The common case, in order with nothing held: readable at once.
            self.ring.extend(stored);
            return stored;
        }
        if !self.add_range(offset..offset + stored) {
            return 0;
        }
        // Whatever now starts at RCV.NXT has become readable.
        match self.early.first() {
            Some(first) if first.start == 0 => {
                let advance = first.end;
                self.early.remove(0);
                for range in &mut self.early {
                    range.start -= advance;
                    range.end -= advance;
                }
                self.ring.extend(advance);
                advance
            }
            _ => 0,
        }
    }

    /// Keeps `slice` (in order) where it is, as much of it as the window has room for; its
    /// place in the ring is held but not written. Returns how far RCV.NXT moves.
    fn lend(&mut self, mut slice: Bytes) -> usize {
        let n = slice.len().min(self.ring.free());
        if n > 0 {
            slice.truncate(n);
            let at = self.read_total + self.ring.len() as u64;
            self.lent.push_back((at, slice));
            self.ring.extend(n);
        }
        n
    }

    /// Records `new` among the early ranges, merging with those it touches. `false` when it
    /// would make too many ranges (the data is then forgotten).
    fn add_range(&mut self, new: Range<usize>) -> bool {
        let first = self.early.partition_point(|r| r.end < new.start);
        let last = self.early.partition_point(|r| r.start <= new.end);
        // Data at RCV.NXT is always taken: it becomes readable at once and can only lower the
        // count. Refusing it would stall the connection for good.
        if first == last && self.early.len() >= MAX_RANGES && new.start != 0 {
            return false;
        }
        let mut merged = new;
        for range in &self.early[first..last] {
            merged.start = merged.start.min(range.start);
            merged.end = merged.end.max(range.end);
        }
        self.early.splice(first..last, [merged]);
        true
    }

    /// Copies in-order bytes into `out` and keeps them; returns how many.
    ///
    /// The readable bytes alternate between runs in the ring and lent slices; each run is
    /// copied from where it is (the ring's lent places hold nothing).
    pub(crate) fn peek(&self, out: &mut [u8]) -> usize {
        let want = out.len().min(self.ring.len());
        let mut slices = self.lent.iter().peekable();
        let mut done = 0;
        while done < want {
            let at = self.read_total + done as u64;
            let n = match slices.next_if(|(start, _)| *start == at) {
                Some((_, slice)) => {
                    let n = slice.len().min(want - done);
                    out[done..done + n].copy_from_slice(&slice[..n]);
                    n
                }
                None => {
                    // Ring bytes, up to the next lent slice.
                    let until = self.ring_run_end(slices.peek().copied(), want);
                    self.ring.read_at(done, &mut out[done..until])
                }
            };
            if n == 0 {
                break;
            }
            done += n;
        }
        done
    }

    /// Moves in-order bytes into `out`; returns how many.
    pub(crate) fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(out);
        self.consume(n);
        n
    }

    /// Moves up to `max` in-order bytes out as shared bytes: a kept packet's slice as it is,
    /// without a copy, when the next bytes are one; else the bytes in the ring up to the next
    /// kept slice, copied out. Empty when nothing is readable.
    pub(crate) fn read_shared(&mut self, max: usize) -> Bytes {
        let want = max.min(self.ring.len());
        let chunk = match self.lent.front() {
            Some((start, slice)) if *start == self.read_total => {
                slice.slice(..want.min(slice.len()))
            }
            next => {
                let until = self.ring_run_end(next, want);
                let mut out = Vec::with_capacity(until);
                self.ring.append_to(0, until, &mut out);
                Bytes::from(out)
            }
        };
        self.consume(chunk.len());
        chunk
    }

    /// Where a run of ring bytes ends, counted from the reader's position: at the `next` lent
    /// slice, or at `want` if that comes first (or there is none).
    fn ring_run_end(&self, next: Option<&(u64, Bytes)>, want: usize) -> usize {
        next.map_or(want, |(start, _)| {
            usize::try_from(start - self.read_total).map_or(want, |s| s.min(want))
        })
    }

    /// Drops the first `n` readable bytes (the application read them), from the ring and from
    /// the lent slices.
    fn consume(&mut self, n: usize) {
        self.ring.consume(n);
        self.read_total += n as u64;
        while let Some((start, slice)) = self.lent.front_mut() {
            let end = *start + slice.len() as u64;
            if end <= self.read_total {
                // Read to its end: the packet's buffer goes back to the allocator.
                self.lent.pop_front();
                continue;
            }
            if *start < self.read_total {
                let read = (self.read_total - *start) as usize;
                *slice = slice.slice(read..);
                *start = self.read_total;
            }
            break;
        }
        if self.early.is_empty() {
            // The list of early ranges grew while segments were missing: give its memory back.
            self.early.shrink_to_fit();
            // Read to the end: the next bytes go where the last ones were, still in cache.
            self.ring.rewind_if_empty();
        }
    }

    /// Whether nothing is held: nothing to read and no early segment, so the storage may go.
    pub(crate) fn is_idle(&self) -> bool {
        self.early.is_empty() && self.ring.is_empty()
    }

    /// Gives the storage back when nothing is held (see [`RecvBuffer::is_idle`]); the next
    /// segment allocates it again. The window is the capacity either way.
    pub(crate) fn release_if_idle(&mut self) {
        if self.early.is_empty() {
            self.ring.release_if_empty();
        }
        if self.lent.is_empty() {
            self.lent.shrink_to_fit();
        }
    }

    /// Whether the buffer holds memory now: the ring's bytes, or room in the list of lent
    /// slices (which [`RecvBuffer::release_if_idle`] gives back too).
    pub(crate) fn is_allocated(&self) -> bool {
        self.ring.is_allocated() || self.lent.capacity() > 0
    }
}

/// `data` as a slice of `packet`, when it lies inside it (it does not when it was put
/// together from fragments, for one).
fn slice_of(packet: &Bytes, data: &[u8]) -> Option<Bytes> {
    let (outer, inner) = (packet.as_ptr() as usize, data.as_ptr() as usize);
    let inside = inner >= outer && inner + data.len() <= outer + packet.len();
    (inside && !data.is_empty()).then(|| packet.slice_ref(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_all(buf: &mut RecvBuffer) -> Vec<u8> {
        let mut out = vec![0u8; buf.readable()];
        let n = buf.read(&mut out);
        out.truncate(n);
        out
    }

    #[test]
    fn in_order_data_is_readable_at_once() {
        let mut buf = RecvBuffer::new(16, 0);
        assert_eq!(buf.insert(0, b"hello", None), 5);
        assert_eq!(buf.window(), 11);
        assert_eq!(read_all(&mut buf), b"hello");
        assert_eq!(buf.window(), 16);
    }

    #[test]
    fn data_already_held_is_found() {
        let mut buf = RecvBuffer::new(64, 0);
        buf.insert(10, &[1; 10], None);
        buf.insert(30, &[2; 10], None);
        assert_eq!(buf.already_held(0..10), None, "the hole itself is new");
        assert_eq!(buf.already_held(5..15), Some(10..15));
        assert_eq!(buf.already_held(12..18), Some(12..18));
        assert_eq!(buf.already_held(20..35), Some(30..35));
        assert_eq!(buf.already_held(40..50), None);
    }

    #[test]
    fn a_hole_at_the_start_holds_everything_back() {
        let mut buf = RecvBuffer::new(32, 0);
        assert_eq!(buf.insert(5, b"world", None), 0);
        assert_eq!(buf.readable(), 0);
        assert_eq!(buf.early_ranges(), std::slice::from_ref(&(5..10)));
        assert_eq!(
            buf.insert(0, b"hello", None),
            10,
            "the hole filled: both segments readable"
        );
        assert_eq!(read_all(&mut buf), b"helloworld");
        assert!(!buf.has_holes());
    }

    #[test]
    fn several_holes_fill_in_any_order() {
        let mut buf = RecvBuffer::new(32, 0);
        assert_eq!(buf.insert(12, b"mno", None), 0);
        assert_eq!(buf.insert(4, b"efg", None), 0);
        assert_eq!(buf.early_ranges(), &[4..7, 12..15]);
        assert_eq!(
            buf.insert(7, b"hijkl", None),
            0,
            "the middle hole fills, the first remains"
        );
        assert_eq!(buf.early_ranges(), std::slice::from_ref(&(4..15)));
        assert_eq!(buf.insert(0, b"abcd", None), 15);
        assert_eq!(read_all(&mut buf), b"abcdefghijklmno");
    }

    #[test]
    fn duplicates_and_overlaps_change_nothing() {
        let mut buf = RecvBuffer::new(32, 0);
        assert_eq!(buf.insert(2, b"cdef", None), 0);
        assert_eq!(
            buf.insert(3, b"de", None),
            0,
            "a duplicate inside a held range"
        );
        assert_eq!(buf.insert(0, b"abcd", None), 6, "overlaps the held range");
        assert_eq!(read_all(&mut buf), b"abcdef");
    }

    #[test]
    fn data_beyond_the_buffer_is_cut() {
        let mut buf = RecvBuffer::new(8, 0);
        assert_eq!(buf.insert(0, b"0123456789", None), 8);
        assert_eq!(buf.window(), 0);
        assert_eq!(buf.insert(0, b"x", None), 0, "no room at all");
        assert_eq!(read_all(&mut buf), b"01234567");
    }

    #[test]
    fn too_many_holes_drops_the_newcomer() {
        let mut buf = RecvBuffer::new(1000, 0);
        for i in 0..MAX_RANGES {
            buf.insert(2 + i * 2, b"x", None);
        }
        assert_eq!(buf.early_ranges().len(), MAX_RANGES);
        buf.insert(500, b"y", None);
        assert_eq!(buf.early_ranges().len(), MAX_RANGES);
        // Data that joins an existing range is still taken.
        buf.insert(3, b"z", None);
        assert_eq!(buf.early_ranges()[0], 2..5);
        // So is data at RCV.NXT, even when it fills only part of the first hole.
        assert_eq!(buf.insert(0, b"a", None), 1);
        assert_eq!(buf.readable(), 1);
    }

    #[test]
    fn storage_is_allocated_by_data_and_released_when_idle() {
        let mut buf = RecvBuffer::new(16, 4);
        assert!(!buf.is_allocated(), "no storage before the first byte");
        assert_eq!((buf.window(), buf.storage()), (16, 20));
        buf.insert(0, b"hello", None);
        // Three bytes missing after "hello", then "early" (offsets count from RCV.NXT).
        buf.insert(3, b"early", None);
        assert!(buf.is_allocated());
        assert_eq!(read_all(&mut buf), b"hello");
        assert!(!buf.is_idle(), "an early segment is held");
        buf.release_if_idle();
        assert!(buf.is_allocated(), "not released under the early segment");
        buf.insert(0, b"abc", None);
        assert_eq!(read_all(&mut buf), b"abcearly");
        assert!(
            buf.is_idle() && buf.is_allocated(),
            "kept until the connection is quiet"
        );
        buf.release_if_idle();
        assert!(!buf.is_allocated(), "released");
        assert_eq!(
            (buf.window(), buf.storage()),
            (16, 20),
            "the window is unchanged"
        );
    }

    #[test]
    fn early_segments_keep_the_storage() {
        let mut buf = RecvBuffer::new(32, 0);
        buf.insert(0, b"ab", None);
        buf.insert(2, b"ef", None); // two bytes after RCV.NXT, which "ab" moved to 2
        assert_eq!(read_all(&mut buf), b"ab");
        assert!(buf.is_allocated(), "\"ef\" is held beyond a hole");
        assert_eq!(buf.insert(0, b"cd", None), 4);
        assert_eq!(read_all(&mut buf), b"cdef");
        buf.release_if_idle();
        assert!(!buf.is_allocated());
        assert_eq!(
            buf.early.capacity(),
            0,
            "the list of early ranges is freed too"
        );
    }

    /// A packet with a 40-byte header in front of `data`, and `data` inside it.
    fn packet_with(data: &[u8]) -> Bytes {
        let mut packet = vec![0xee; 40];
        packet.extend_from_slice(data);
        Bytes::from(packet)
    }

    #[test]
    fn in_order_data_is_kept_in_its_packet_and_read_from_there() {
        let mut buf = RecvBuffer::new(64, 0);
        let packet = packet_with(b"hello");
        assert_eq!(buf.insert(0, &packet[40..], Some(&packet)), 5);
        assert!(!buf.ring.is_allocated(), "nothing was copied into the ring");
        assert_eq!((buf.readable(), buf.window()), (5, 59));
        assert_eq!(read_all(&mut buf), b"hello");
        assert!(buf.lent.is_empty(), "the packet is given back once read");
    }

    #[test]
    fn lent_and_copied_bytes_read_in_stream_order() {
        let mut buf = RecvBuffer::new(64, 0);
        let (one, three) = (packet_with(b"one "), packet_with(b"three "));
        buf.insert(0, &one[40..], Some(&one));
        buf.insert(0, b"two ", None);
        buf.insert(0, &three[40..], Some(&three));
        buf.insert(0, b"four", None);
        let mut peeked = [0; 9];
        assert_eq!(buf.peek(&mut peeked), 9);
        assert_eq!(&peeked, b"one two t", "a peek crosses slices and the ring");
        // Reads that end inside a slice and inside a ring run.
        for (size, expected) in [
            (2, "on"),
            (7, "e two t"),
            (3, "hre"),
            (5, "e fou"),
            (9, "r"),
        ] {
            let mut out = vec![0; size];
            let n = buf.read(&mut out);
            assert_eq!(std::str::from_utf8(&out[..n]), Ok(expected));
        }
        assert!(buf.is_idle() && buf.lent.is_empty());
    }

    #[test]
    fn a_shared_read_hands_out_the_packets_own_bytes_and_copies_the_rest() {
        let mut buf = RecvBuffer::new(64, 0);
        let (one, three) = (packet_with(b"one "), packet_with(b"three "));
        buf.insert(0, &one[40..], Some(&one));
        buf.insert(0, b"two ", None);
        buf.insert(0, &three[40..], Some(&three));
        let first = buf.read_shared(100);
        assert_eq!(&first[..], b"one ", "up to the end of the packet");
        assert_eq!(first.as_ptr(), one[40..].as_ptr(), "the packet's memory");
        let two = buf.read_shared(2);
        assert_eq!(&two[..], b"tw", "at most what was asked");
        assert_eq!(
            &buf.read_shared(100)[..],
            b"o ",
            "ring bytes up to the next slice"
        );
        let three_part = buf.read_shared(3);
        assert_eq!(
            (&three_part[..], three_part.as_ptr()),
            (&b"thr"[..], three[40..].as_ptr())
        );
        assert_eq!(&buf.read_shared(100)[..], b"ee ");
        assert!(buf.read_shared(100).is_empty(), "nothing readable");
        assert!(buf.is_idle() && buf.lent.is_empty());
        assert_eq!(buf.window(), 64);
    }

    #[test]
    fn data_is_copied_when_lending_cannot_apply() {
        let mut buf = RecvBuffer::new(64, 0);
        let packet = packet_with(b"late");
        buf.insert(4, &packet[40..], Some(&packet));
        assert!(buf.lent.is_empty(), "early data goes into the ring");
        let elsewhere = b"abcd".to_vec();
        buf.insert(0, &elsewhere, Some(&packet));
        assert!(buf.lent.is_empty(), "data outside the packet is copied");
        assert_eq!(read_all(&mut buf), b"abcdlate");
    }

    #[test]
    fn a_lent_slice_is_cut_to_the_window() {
        let mut buf = RecvBuffer::new(6, 0);
        let packet = packet_with(b"0123456789");
        assert_eq!(buf.insert(0, &packet[40..], Some(&packet)), 6);
        assert_eq!(buf.window(), 0);
        assert_eq!(read_all(&mut buf), b"012345");
        assert!(buf.is_allocated(), "the list of slices has room");
        buf.release_if_idle();
        assert_eq!(
            buf.lent.capacity(),
            0,
            "the list of slices is freed when idle"
        );
        assert!(!buf.is_allocated());
    }

    proptest! {
        /// Any order of arrival, with duplicates, delivers the stream exactly once and in order,
        /// whether each segment may be kept in its packet or not, and read in any sizes.
        #[test]
        fn any_arrival_order_reassembles(
            cuts in proptest::collection::vec(0usize..200, 0..20),
            order in proptest::collection::vec(any::<proptest::sample::Index>(), 0..40),
            lend in proptest::collection::vec(any::<bool>(), 60),
            reads in proptest::collection::vec(1usize..50, 1..20),
        ) {
            let stream: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
            let mut bounds: Vec<usize> = cuts;
            bounds.extend([0, 200]);
            bounds.sort_unstable();
            bounds.dedup();
            let segments: Vec<Range<usize>> = bounds.windows(2).map(|w| w[0]..w[1]).collect();
            let mut buf = RecvBuffer::new(256, 0);
            let mut rcv_nxt = 0;
            let mut arrivals: Vec<Range<usize>> = order.iter().map(|i| segments[i.index(segments.len())].clone()).collect();
            arrivals.extend(segments.iter().cloned()); // everything arrives at least once
            let mut read = Vec::new();
            for (i, seg) in arrivals.into_iter().enumerate() {
                if seg.end <= rcv_nxt { continue; } // a duplicate of delivered data: trimmed by TCP
                let start = seg.start.max(rcv_nxt);
                let packet = packet_with(&stream[start..seg.end]);
                let lent = lend[i % lend.len()].then_some(&packet);
                rcv_nxt += buf.insert(start - rcv_nxt, &packet[40..], lent);
                // Now and then the application reads some, copied or shared.
                let size = reads[i % reads.len()];
                if size % 2 == 0 {
                    read.extend_from_slice(&buf.read_shared(size));
                } else {
                    let mut out = vec![0; size];
                    let n = buf.read(&mut out);
                    read.extend_from_slice(&out[..n]);
                }
            }
            prop_assert_eq!(rcv_nxt, 200);
            read.extend(read_all(&mut buf));
            prop_assert_eq!(read, stream);
        }
    }
}
