//! One direction of an impaired link: where each packet's fate is decided, and where the packets
//! that must wait are kept until they are due.
//!
//! A lane does no I/O and reads no clock: [`Impair`](super::Impair) offers it each packet with
//! the time ([`Lane::admit`]), and takes the packets out when they are due ([`Lane::due`],
//! [`Lane::copy_due_into`]). The waiting packets sit in a priority queue ordered by the time
//! they may leave, then by the order they were scheduled in; their buffers are recycled, so a
//! warm lane does not allocate.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use super::bottleneck::Bottleneck;
use super::classify::{Match, PacketSummary};
use super::config::Impairments;
use super::fmt::{Human, Percent, Rate};
use super::held::{Buffer, Held, HeldBack, Packet};
use super::stats::{Counter, Counters};
use crate::device::offload::{self, Checksum, PacketInfo};
use crate::device::Medium;

/// Which way a lane's packets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// From the wrapped stack to the link.
    Outbound,
    /// From the link to the wrapped stack.
    Inbound,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        })
    }
}

/// What became of a packet offered to a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admit {
    /// Dropped (and counted, and logged).
    Dropped,
    /// Goes on now, unchanged: the caller passes the bytes it has, without a copy.
    PassNow,
    /// Copied into the lane, to come out of [`Lane::due`] when its time comes.
    Queued,
}

/// Independent random streams, one per kind of decision, so that turning one impairment on or
/// off does not change the decisions of another.
#[derive(Debug)]
struct Streams {
    script: fastrand::Rng,
    loss: fastrand::Rng,
    duplicate: fastrand::Rng,
    corrupt: fastrand::Rng,
    jitter: fastrand::Rng,
    reorder: fastrand::Rng,
}

impl Streams {
    fn new(seed: u64, direction: Direction) -> Streams {
        let lane = match direction {
            Direction::Outbound => 0,
            Direction::Inbound => 1,
        };
        let stream = |n: u64| fastrand::Rng::with_seed(mix(seed ^ mix(lane * 16 + n)));
        Streams {
            script: stream(0),
            loss: stream(1),
            duplicate: stream(2),
            corrupt: stream(3),
            jitter: stream(4),
            reorder: stream(5),
        }
    }
}

/// SplitMix64's finalizer: nearby seeds give unrelated streams.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One direction's impairments, its state and its waiting packets.
#[derive(Debug)]
pub(super) struct Lane {
    direction: Direction,
    config: Impairments,
    /// Nothing to do: packets pass without being looked at.
    perfect: bool,
    /// When the wrapper was made: `Rule::until` counts from here.
    start: Instant,
    rng: Streams,
    /// How many packets of each [`Match`] kind this direction has seen.
    seen: [u64; Match::ALL.len()],
    bottleneck: Option<Bottleneck>,
    /// When the last packet scheduled leaves, for `keep_order`.
    last_release: Instant,
    queue: BinaryHeap<Reverse<Held>>,
    held_back: Vec<HeldBack>,
    free: Vec<Buffer>,
    /// The next tie-breaker for a packet scheduled at the back...
    next_order: i64,
    /// ...and, counting down, for one put back at the front.
    front_order: i64,
    mtu: usize,
    /// What the packets are: bare IP, or Ethernet frames with IP (or ARP) inside.
    medium: Medium,
    pub(super) counters: Arc<Counters>,
}

impl Lane {
    pub(super) fn new(
        direction: Direction,
        config: Impairments,
        seed: u64,
        now: Instant,
        mtu: usize,
        medium: Medium,
    ) -> Lane {
        Lane {
            direction,
            perfect: config.is_perfect(),
            bottleneck: config
                .rate
                .map(|rate| Bottleneck::new(rate, config.queue_limit, now)),
            config,
            start: now,
            rng: Streams::new(seed, direction),
            seen: [0; Match::ALL.len()],
            last_release: now,
            queue: BinaryHeap::new(),
            held_back: Vec::new(),
            free: Vec::new(),
            next_order: 0,
            front_order: 0,
            mtu: mtu + medium.header_len(),
            medium,
            counters: Arc::default(),
        }
    }

    /// Decides what becomes of `packet`, offered at `now` with `info`, and counts and logs it.
    ///
    /// A super-packet is one packet here (lost, delayed, queued whole), as a burst of
    /// segments is for a card with TSO, except on its way out to a lane that corrupts: the
    /// device that cuts it would compute each segment's checksum over the flipped bit, and
    /// nobody would notice. So such a packet is cut here first, as the device would
    /// ([`offload::segment`]), and each segment meets the impairments alone.
    pub(super) fn admit(
        &mut self,
        now: Instant,
        packet: &[u8],
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Admit {
        let cut = self.direction == Direction::Outbound
            && self.config.corrupt > 0.0
            && info.gso.is_some();
        if !cut {
            return self.admit_one(now, packet, info, comment, false);
        }
        let mut segments = Vec::new();
        if let Err(err) = offload::segment(packet, info, self.medium.header_len(), &mut segments) {
            debug!(%err, "impair: cannot cut a super-packet into segments; it goes whole");
            return self.admit_one(now, packet, info, comment, false);
        }
        for segment in &segments {
            self.admit_one(now, segment, &PacketInfo::PLAIN, comment, true);
        }
        Admit::Queued
    }

    /// [`Lane::admit`] for one packet; `copied`: the caller does not hold its bytes, so it
    /// cannot pass on at once.
    fn admit_one(
        &mut self,
        now: Instant,
        packet: &[u8],
        info: &PacketInfo,
        comment: Option<&str>,
        copied: bool,
    ) -> Admit {
        self.counters.add(Counter::Packets);
        if self.perfect && self.queue.is_empty() && !copied {
            return Admit::PassNow;
        }
        let summary = PacketSummary::parse_on(self.medium, packet);
        for kind in Match::ALL {
            if kind.matches(&summary) {
                self.seen[kind.index()] += 1;
            }
        }
        let dir = self.direction;
        let elapsed = now.saturating_duration_since(self.start);
        let Lane {
            config, seen, rng, ..
        } = self;
        if let Some(rule) = config.script.iter().find(|rule| {
            rule.kind().matches(&summary)
                && rule.drops(seen[rule.kind().index()], elapsed, &mut rng.script)
        }) {
            debug!("impair: drop {dir} {summary} (script: {rule})");
            self.counters.add(Counter::DroppedScript);
            return Admit::Dropped;
        }
        let loss = self.config.loss;
        if loss > 0.0 && self.rng.loss.f64() < loss {
            debug!("impair: drop {dir} {summary} (loss {})", Percent(loss));
            self.counters.add(Counter::DroppedLoss);
            return Admit::Dropped;
        }
        let duplicate = self.config.duplicate;
        let copies = if duplicate > 0.0 && self.rng.duplicate.f64() < duplicate {
            debug!(
                "impair: duplicate {dir} {summary} (duplicate {})",
                Percent(duplicate)
            );
            self.counters.add(Counter::Duplicated);
            2
        } else {
            1
        };
        let packet = Packet {
            bytes: packet,
            info,
            comment,
        };
        let admit = self.route(now, &packet, &summary, copied, false);
        if copies == 2 {
            self.route(now, &packet, &summary, true, true);
        }
        admit
    }

    /// Takes one copy of a packet through corruption, the bottleneck, the delay and reordering.
    /// `is_copy`: the caller will not pass these bytes on (a duplicate, or a segment cut from
    /// a super-packet), so they are queued, even when due at once.
    fn route(
        &mut self,
        now: Instant,
        packet: &Packet<'_>,
        summary: &PacketSummary,
        is_copy: bool,
        duplicate: bool,
    ) -> Admit {
        let Packet {
            bytes: packet,
            info,
            comment,
        } = *packet;
        let corrupt = self.config.corrupt;
        let bit = (corrupt > 0.0 && !packet.is_empty() && self.rng.corrupt.f64() < corrupt)
            .then(|| self.rng.corrupt.usize(..packet.len() * 8));
        let Some(through) = self.through_bottleneck(now, packet.len(), summary) else {
            return Admit::Dropped;
        };
        let at = self.release_time(now, through, summary);
        let reorder = self.config.reorder;
        let reorder = reorder > 0.0 && self.rng.reorder.f64() < reorder;
        if bit.is_none() && !reorder && !is_copy && at <= now && self.queue.is_empty() {
            self.overtake(now);
            return Admit::PassNow;
        }

        let mut buffer = self.buffer(packet, info, comment);
        if duplicate {
            buffer.note(format_args!("impair: duplicate"));
        }
        if let Some(bit) = bit {
            self.checksum_before_corrupting(&mut buffer);
            // Bit 0 is the first on the wire: the high bit of the first byte, as RFC diagrams
            // number them.
            buffer.data[bit / 8] ^= 0x80 >> (bit % 8);
            debug!(
                "impair: corrupt {} {summary} (bit {bit} of {} flipped)",
                self.direction,
                packet.len() * 8
            );
            self.counters.add(Counter::Corrupted);
            buffer.note(format_args!("impair: bit {bit} flipped"));
        }
        if reorder {
            self.hold_back(at, buffer, summary);
        } else {
            self.schedule(at, buffer);
            self.overtake(at);
        }
        Admit::Queued
    }

    /// Makes sure a bit about to be flipped in `buffer` is caught by its checksum. On its way
    /// out, a partial checksum would be completed by the device over the flipped bit: complete
    /// it now, over the bytes as they were. On its way in, the device's word that the checksum
    /// is good was about the bytes before the flip: the stack must verify it after all.
    fn checksum_before_corrupting(&self, buffer: &mut Buffer) {
        match (self.direction, buffer.info.checksum) {
            (Direction::Outbound, Checksum::Partial { start, offset })
                if offload::complete_checksum(&mut buffer.data, start, offset) =>
            {
                buffer.info.checksum = Checksum::Complete;
            }
            (Direction::Inbound, _) => buffer.info.checksum = Checksum::Complete,
            _ => {}
        }
    }

    /// When a packet arriving at `now` is through the bottleneck (`now` without one); `None`
    /// if the bottleneck's queue is full and the packet is dropped.
    fn through_bottleneck(
        &mut self,
        now: Instant,
        len: usize,
        summary: &PacketSummary,
    ) -> Option<Instant> {
        let Some(bottleneck) = &mut self.bottleneck else {
            return Some(now);
        };
        let through = bottleneck.admit(now, len);
        if through.is_none() {
            debug!(
                "impair: drop {} {summary} (queue full: {} waiting for {})",
                self.direction,
                bottleneck.limit,
                Rate(bottleneck.rate)
            );
            self.counters.add(Counter::DroppedQueue);
        }
        through
    }

    /// When a packet through the bottleneck at `through` leaves: after the delay and jitter,
    /// and not before the one before it if `keep_order` says so.
    fn release_time(&mut self, now: Instant, through: Instant, summary: &PacketSummary) -> Instant {
        let mut at = through + self.delay_sample();
        if self.config.keep_order {
            at = at.max(self.last_release);
            self.last_release = at;
        }
        if at > now {
            debug!(
                "impair: delay {} {summary} by {}",
                self.direction,
                Human(at - now)
            );
            self.counters.add(Counter::Delayed);
        }
        at
    }

    /// Holds a packet due at `at` back, until 1 to `reorder_depth` later packets have been
    /// scheduled, or `reorder_timeout` has passed.
    fn hold_back(&mut self, at: Instant, mut buffer: Buffer, summary: &PacketSummary) {
        let depth = self.rng.reorder.u32(1..=self.config.reorder_depth);
        let timeout = self.config.reorder_timeout;
        debug!(
            "impair: reorder {} {summary} (held back until {depth} later packets go, at most {})",
            self.direction,
            Human(timeout)
        );
        self.counters.add(Counter::Reordered);
        buffer.note(format_args!("impair: held back behind {depth} packets"));
        self.held_back.push(HeldBack {
            remaining: depth,
            at,
            deadline: at + timeout,
            buffer,
        });
    }

    /// The delay for one packet: `delay`, plus a uniform draw in ±`jitter`, never below zero.
    fn delay_sample(&mut self) -> Duration {
        let Impairments { delay, jitter, .. } = self.config;
        if jitter.is_zero() {
            return delay;
        }
        let jitter = i128::try_from(jitter.as_nanos()).unwrap_or(i128::MAX);
        let jitter = i64::try_from(jitter).unwrap_or(i64::MAX);
        let offset = i128::from(self.rng.jitter.i64(-jitter..=jitter));
        let nanos = i128::try_from(delay.as_nanos()).unwrap_or(i128::MAX) + offset;
        Duration::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
    }

    /// A packet scheduled to leave at `at` overtakes the held-back packets: each waits for one
    /// packet fewer, and those that have waited for enough leave right behind it.
    fn overtake(&mut self, at: Instant) {
        let mut i = 0;
        while i < self.held_back.len() {
            let held = &mut self.held_back[i];
            held.remaining -= 1;
            if held.remaining == 0 {
                let held = self.held_back.remove(i);
                self.schedule(held.at.max(at), held.buffer);
            } else {
                i += 1;
            }
        }
    }

    /// Moves the held-back packets whose deadline has passed into the queue: the packets they
    /// waited for did not come.
    pub(super) fn expire(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.held_back.len() {
            if self.held_back[i].deadline <= now {
                let held = self.held_back.remove(i);
                self.schedule(held.deadline, held.buffer);
            } else {
                i += 1;
            }
        }
    }

    fn schedule(&mut self, at: Instant, buffer: Buffer) {
        self.next_order += 1;
        self.queue.push(Reverse(Held {
            at,
            order: self.next_order,
            buffer,
        }));
    }

    /// Puts a packet back at the front of the queue, due now: the link beneath did not take it.
    pub(super) fn push_front(
        &mut self,
        now: Instant,
        packet: &[u8],
        info: &PacketInfo,
        comment: Option<&str>,
    ) {
        let buffer = self.buffer(packet, info, comment);
        self.front_order -= 1;
        self.queue.push(Reverse(Held {
            at: now,
            order: self.front_order,
            buffer,
        }));
    }

    /// A buffer holding a copy of `packet`, `info` and `comment`, from the free list if it has
    /// one.
    fn buffer(&mut self, packet: &[u8], info: &PacketInfo, comment: Option<&str>) -> Buffer {
        let mut buffer = self.free.pop().unwrap_or_else(|| Buffer {
            data: Vec::with_capacity(self.mtu),
            ..Buffer::default()
        });
        buffer.data.clear();
        buffer.data.extend_from_slice(packet);
        buffer.info = *info;
        buffer.comment.clear();
        buffer.has_comment = false;
        if let Some(comment) = comment {
            buffer.comment.push_str(comment);
            buffer.has_comment = true;
        }
        buffer
    }

    /// The first packet in the queue, with its info and comment, if it is due at `now`.
    pub(super) fn due(&self, now: Instant) -> Option<(&[u8], &PacketInfo, Option<&str>)> {
        let Reverse(head) = self.queue.peek()?;
        let buffer = &head.buffer;
        (head.at <= now).then(|| {
            let comment = buffer.has_comment.then_some(buffer.comment.as_str());
            (&buffer.data[..], &buffer.info, comment)
        })
    }

    /// Removes the first packet in the queue; counts it as passed if it was.
    pub(super) fn pop(&mut self, passed: bool) {
        if let Some(Reverse(head)) = self.queue.pop() {
            self.free.push(head.buffer);
            if passed {
                self.counters.add(Counter::Passed);
            }
        }
    }

    /// Copies the first packet in the queue into `buf` and removes it, if it is due; an error
    /// (and the packet stays) if `buf` is too short.
    pub(super) fn copy_due_into(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<io::Result<(usize, PacketInfo)>> {
        let (packet, &info, _) = self.due(now)?;
        let len = packet.len();
        let Some(dest) = buf.get_mut(..len) else {
            return Some(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "receive buffer of {} bytes is shorter than the {len}-byte packet waiting",
                    buf.len()
                ),
            )));
        };
        dest.copy_from_slice(packet);
        self.pop(true);
        Some(Ok((len, info)))
    }

    /// Drops every waiting packet: the link beneath is gone.
    pub(super) fn clear(&mut self) {
        self.free
            .extend(self.queue.drain().map(|Reverse(held)| held.buffer));
        self.free
            .extend(self.held_back.drain(..).map(|held| held.buffer));
    }

    /// The earliest time after `now` at which something in the lane becomes due.
    pub(super) fn next_deadline_after(&self, now: Instant) -> Option<Instant> {
        let head = self.queue.peek().map(|Reverse(held)| held.at);
        let held_back = self.held_back.iter().map(|held| held.deadline);
        head.into_iter()
            .chain(held_back)
            .filter(|&at| at > now)
            .min()
    }

    /// Whether no packet waits in the lane.
    pub(super) fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.held_back.is_empty()
    }

    /// How many packet buffers the lane has made (waiting or free).
    #[cfg(test)]
    pub(super) fn buffers(&self) -> usize {
        self.free.len() + self.waiting()
    }

    /// How many packets wait in the lane.
    pub(super) fn waiting(&self) -> usize {
        self.queue.len() + self.held_back.len()
    }
}
