//! A bounded queue of packets that recycles its buffers.
//!
//! Packets that are ready the moment they are made (an echo reply, a UDP datagram, an ICMP
//! error) wait here until the driver hands them to the link. The buffers go round: the driver
//! swaps its own buffer in when it takes a packet out, and spent buffers go back to a free list,
//! so a busy stack allocates nothing per packet once it has warmed up.

use crate::link::Reason;
use std::collections::VecDeque;

/// A packet waiting to be sent, with why it was sent (for captures).
#[derive(Debug)]
struct Queued {
    buf: Vec<u8>,
    why: Option<Reason>,
}

/// A bounded FIFO of packets with a free list of buffers.
#[derive(Debug)]
pub(crate) struct PacketQueue {
    queue: VecDeque<Queued>,
    free: Vec<Vec<u8>>,
    capacity: usize,
}

impl PacketQueue {
    /// A queue holding at most `capacity` packets.
    pub(crate) fn new(capacity: usize) -> PacketQueue {
        PacketQueue {
            queue: VecDeque::with_capacity(capacity),
            free: Vec::new(),
            capacity,
        }
    }

    /// Whether another packet fits.
    pub(crate) fn has_room(&self) -> bool {
        self.queue.len() < self.capacity
    }

    /// How many more packets fit.
    pub(crate) fn free_slots(&self) -> usize {
        self.capacity.saturating_sub(self.queue.len())
    }

    /// How many packets it holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many packets are waiting.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Builds a packet of `len` bytes with `fill` and queues it; gives the bytes back to no one
    /// and returns `false` when the queue is full.
    pub(crate) fn push_with(
        &mut self,
        len: usize,
        why: Option<Reason>,
        fill: impl FnOnce(&mut [u8]),
    ) -> bool {
        if !self.has_room() {
            return false;
        }
        let mut buf = self.free.pop().unwrap_or_default();
        buf.clear();
        buf.resize(len, 0);
        fill(&mut buf);
        self.queue.push_back(Queued { buf, why });
        true
    }

    /// Takes the oldest packet by swapping it into `out` (whose old buffer is recycled).
    /// Returns why it was sent, or `None` in the outer option when the queue is empty.
    pub(crate) fn pop_into(&mut self, out: &mut Vec<u8>) -> Option<Option<Reason>> {
        let mut packet = self.queue.pop_front()?;
        std::mem::swap(out, &mut packet.buf);
        if self.free.len() < self.capacity {
            self.free.push(packet.buf);
        }
        Some(packet.why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Reason;

    #[test]
    fn fifo_bounded_and_recycling() {
        let mut q = PacketQueue::new(2);
        assert!(q.push_with(3, None, |b| b.copy_from_slice(b"abc")));
        assert!(q.push_with(2, Some(Reason::Text("second".into())), |b| b
            .copy_from_slice(b"de")));
        assert!(!q.push_with(1, None, |_| panic!(
            "must not fill a packet that does not fit"
        )));
        let mut out = Vec::with_capacity(1500);
        assert_eq!(q.pop_into(&mut out), Some(None));
        assert_eq!(out, b"abc");
        assert_eq!(
            q.pop_into(&mut out),
            Some(Some(Reason::Text("second".into())))
        );
        assert_eq!(out, b"de");
        assert_eq!(q.pop_into(&mut out), None);
        // The driver's old buffers came back to the free list for the next packets.
        assert_eq!(q.free.len(), 2);
        assert!(q.free.iter().any(|b| b.capacity() >= 1500));
    }
}
