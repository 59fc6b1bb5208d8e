//! The driver's own buffers for a batch of packets: what the link gave, before the core takes
//! it ([`Inbox`]), and what the core gave, before the link takes it ([`Outbox`]).
//!
//! They let the driver use the link without holding the core's lock: the packets cross
//! between link and core in these buffers, and only the crossing into or out of the core needs
//! the lock. The buffers are reused from pass to pass, so a busy stack allocates nothing per
//! packet once it has warmed up.

use std::collections::VecDeque;

use crate::device::PacketInfo;
use crate::host::Host;
use crate::link::Reason;
use crate::time::Instant;

/// Packets received from the link, in the order they came, waiting for the core.
#[derive(Debug)]
pub(super) struct Inbox {
    /// Each buffer holds a whole frame; the first `len` are in use.
    bufs: Vec<Vec<u8>>,
    /// The length of each packet held, in order, and what the device said about it.
    lens: Vec<(usize, PacketInfo)>,
    /// The size of each buffer: the largest frame the link carries.
    frame: usize,
}

impl Inbox {
    /// An empty inbox for frames of up to `frame` bytes.
    pub(super) fn new(frame: usize) -> Inbox {
        Inbox {
            bufs: Vec::new(),
            lens: Vec::new(),
            frame,
        }
    }

    /// Whether it holds no packet.
    pub(super) fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// The buffer for the next packet: [`Inbox::keep`] then keeps its first bytes.
    pub(super) fn next_buf(&mut self) -> &mut [u8] {
        let next = self.lens.len();
        if next == self.bufs.len() {
            self.bufs.push(vec![0; self.frame]);
        }
        &mut self.bufs[next]
    }

    /// Keeps the first `len` bytes of the buffer [`Inbox::next_buf`] gave as a packet.
    pub(super) fn keep(&mut self, len: usize, info: PacketInfo) {
        self.lens.push((len, info));
    }

    /// Hands every packet to the core, oldest first, and empties the inbox.
    pub(super) fn deliver(&mut self, now: Instant, host: &mut Host) {
        for (buf, &(len, info)) in self.bufs.iter().zip(&self.lens) {
            host.receive_info(now, &buf[..len], info);
        }
        self.lens.clear();
    }
}

/// A packet the core built, with why it was sent (for a capture's comment).
#[derive(Debug)]
struct Outgoing {
    buf: Vec<u8>,
    why: Option<Reason>,
    /// What the device is to do for it (offloads).
    info: PacketInfo,
}

/// Packets the core gave, in the order it gave them, waiting for the link.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    queue: VecDeque<Outgoing>,
    /// Buffers of packets already sent, for the next ones.
    free: Vec<Vec<u8>>,
}

impl Outbox {
    /// Whether it holds no packet.
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Takes up to `most` packets from the core. Returns how many it took, and whether the
    /// core has none left (it has then run its timers at `now`).
    pub(super) fn fill(&mut self, now: Instant, host: &mut Host, most: usize) -> (usize, bool) {
        for taken in 0..most {
            let mut buf = self.free.pop().unwrap_or_default();
            let Some(transmit) = host.transmit(now, &mut buf) else {
                self.free.push(buf);
                return (taken, true);
            };
            self.queue.push_back(Outgoing {
                buf,
                why: transmit.why,
                info: transmit.info,
            });
        }
        (most, false)
    }

    /// The oldest packet, why it was sent, and what the device is to do for it.
    pub(super) fn front(&self) -> Option<(&[u8], Option<&Reason>, &PacketInfo)> {
        let packet = self.queue.front()?;
        Some((&packet.buf, packet.why.as_ref(), &packet.info))
    }

    /// Done with the oldest packet (sent, or lost): its buffer is kept for another.
    pub(super) fn pop(&mut self) {
        if let Some(packet) = self.queue.pop_front() {
            self.recycle(packet.buf);
        }
    }

    /// Drops every packet (the link cannot send any more).
    pub(super) fn clear(&mut self) {
        while !self.is_empty() {
            self.pop();
        }
    }

    /// Keeps a spent buffer, as many as a full batch needs and no more.
    fn recycle(&mut self, buf: Vec<u8>) {
        if self.free.len() < super::task::BATCH {
            self.free.push(buf);
        }
    }
}
