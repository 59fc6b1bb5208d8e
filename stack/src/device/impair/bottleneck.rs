//! The bottleneck: the slowest link on the path, and the queue in front of it.
//!
//! Bandwidth is how many bits a link carries per second; a packet of `len` bytes takes
//! `len × 8 / rate` seconds to go through it (serialization, or transmission, delay). Packets
//! that arrive while another is going through wait in the queue, one after another: that wait is
//! queuing delay, the part of latency that grows with load. When the queue is full, the packet
//! that just arrived is dropped (tail drop), which is how a congested router tells TCP to slow
//! down.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::config::QueueLimit;

/// The bottleneck: a link of `rate` bits per second with a queue in front of it.
#[derive(Debug)]
pub(super) struct Bottleneck {
    pub(super) rate: u64,
    pub(super) limit: QueueLimit,
    /// The packets in the queue (the first one going through): when each will be through,
    /// and its length.
    queue: VecDeque<(Instant, usize)>,
    bytes: usize,
    /// When the last packet in the queue will be through.
    free_at: Instant,
}

impl Bottleneck {
    pub(super) fn new(rate: u64, limit: QueueLimit, now: Instant) -> Bottleneck {
        Bottleneck {
            rate,
            limit,
            queue: VecDeque::new(),
            bytes: 0,
            free_at: now,
        }
    }

    /// Queues a packet of `len` bytes arriving at `now`; returns when it will be through, or
    /// `None` if the queue is full (tail drop).
    pub(super) fn admit(&mut self, now: Instant, len: usize) -> Option<Instant> {
        while let Some(&(through, len)) = self.queue.front() {
            if through > now {
                break;
            }
            self.queue.pop_front();
            self.bytes -= len;
        }
        let full = match self.limit {
            QueueLimit::Packets(n) => self.queue.len() >= n,
            QueueLimit::Bytes(n) => self.bytes + len > n,
        };
        if full {
            return None;
        }
        // Serialization delay: the packet's bits go out one after another, after the packets
        // ahead of it.
        let bits = len as u128 * 8;
        let nanos = bits * 1_000_000_000 / u128::from(self.rate);
        let through =
            self.free_at.max(now) + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        self.free_at = through;
        self.queue.push_back((through, len));
        self.bytes += len;
        Some(through)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_go_through_one_after_another() {
        let now = Instant::now();
        // 1500 bytes are 12,000 bits: 1 ms at 12 Mbit/s.
        let mut link = Bottleneck::new(12_000_000, QueueLimit::Packets(2), now);
        let ms = Duration::from_millis(1);
        assert_eq!(link.admit(now, 1500), Some(now + ms));
        assert_eq!(link.admit(now, 1500), Some(now + 2 * ms));
        assert_eq!(link.admit(now, 1500), None, "two in the queue: full");
        // Once the first is through, there is room behind the second.
        assert_eq!(link.admit(now + ms, 750), Some(now + ms * 5 / 2));
        // An idle link starts at once.
        assert_eq!(link.admit(now + 10 * ms, 1500), Some(now + 11 * ms));
    }
}
