//! A link wrapper that makes the network imperfect on purpose: loss, duplication, reordering,
//! corruption, delay, jitter and a bottleneck.
//!
//! The course says it plainly: the network is not reliable, and latency, bandwidth and
//! throughput are three different things. [`Impair`] lets a learner see both on our own stack:
//! turn on 5% loss and watch TCP retransmit, add 50 ms of delay and watch the round-trip time
//! grow, squeeze the link to 1 Mbit/s and watch a queue build up (queuing delay) and overflow
//! (tail drop). A test can script exactly which packet is lost ("the 3rd data segment") and
//! check what the stack does about it.
//!
//! It wraps any [`Device`] and works on each direction separately ([`ImpairConfig`]): *outbound*
//! is what the wrapped stack sends, *inbound* what it receives. A packet meets the impairments
//! of its direction in this order:
//!
//! ```text
//!  packet
//!    │
//!  script ──────────► drop   a rule picks it: "the 3rd data segment", "every SYN until t=2 s"
//!  loss ────────────► drop   at random, with probability `loss`
//!  duplicate                 one copy or two; each copy goes on alone
//!    │
//!  corrupt                   one random bit flipped
//!  rate + queue ────► drop   waits its turn at the bottleneck; tail drop when the queue is full
//!  delay ± jitter            propagation delay, give or take
//!  reorder                   held back until 1 to `reorder_depth` later packets have gone
//!    │
//!    ▼
//!  out: to the link beneath (outbound), or up to the stack (inbound)
//! ```
//!
//! ## Deterministic: seeded, on tokio's clock
//!
//! Every random choice comes from [`ImpairConfig::seed`], with one stream per kind of choice and
//! direction: the same seed and the same packets give the same losses on every run, and turning
//! on jitter does not change which packets are lost. Delays and the bottleneck use tokio's
//! clock, so under tokio's paused test clock (`#[tokio::test(start_paused = true)]`) time only
//! moves when every task waits, and a run repeats exactly. (tokio's timers tick in
//! milliseconds: a packet due at 10.4 ms leaves at the 11 ms tick.)
//!
//! ## Captures: which side of the impairments?
//!
//! Wrappers compose, and the order says what a [`Capture`](super::Capture) records:
//!
//! - `Impair<Capture<L>>` records **what crossed the wire**, as `tcpdump` on the device would:
//!   the packets the impairments let out (a lost segment is a gap; a duplicate, a corrupted or
//!   a held-back packet carries a frame comment saying so, e.g. `impair: bit 1234 flipped`),
//!   and every packet that came in, before inbound impairments (an inbound loss is a packet the
//!   capture shows but the stack never saw). This is the one a learner usually wants: it is the
//!   network the stack had to cope with.
//! - `Capture<Impair<L>>` records **what the stack did and saw**: every packet it sent, even
//!   those the impairments then dropped, and only the packets that survived the inbound
//!   impairments. Nothing in it marks a loss: a comment travels down with a packet (the
//!   `comment` argument of [`Device::poll_send`]), never back up.
//!
//! ## Corruption and checksums
//!
//! `corrupt` flips one bit anywhere in the packet. The receiver's checksums catch every such
//! packet: the IPv4 header checksum covers the IP header, and the ICMP, UDP and TCP checksums
//! cover the rest ([RFC 1071]: the one's complement sum changes by ±2^k for a flipped bit, never
//! by a multiple of 0xffff). One exception is harmless: a UDP checksum field with a single bit
//! set that loses it reads 0, "no checksum" ([RFC 768]), and the datagram is delivered with its
//! data intact, since the flipped bit was in the checksum.
//!
//! ## Offloads: super-packets and partial checksums
//!
//! On a device with offloads ([`super::offload`]) a packet may be a super-packet, a burst of
//! segments in one, and its checksum may be partial (for the device to complete) or vouched for
//! by the device. The wrapper passes what the device says along with each packet, and treats a
//! super-packet as one packet: it is lost, duplicated, delayed, reordered and queued whole, and
//! the bottleneck counts all its bytes, as a burst from a card with TSO would be. Corruption
//! needs more, so that a flipped bit is still caught:
//!
//! - inbound, the device's word that the checksum is good was about the bytes before the flip,
//!   so it is dropped: the stack verifies the checksum, and drops the packet;
//! - outbound, a partial checksum is completed before the bit flips (the device would
//!   otherwise sum the flipped bit in), and a super-packet is first cut into its segments
//!   ([`offload::segment`](super::offload::segment)), since the device would compute each
//!   segment's checksum afresh. So a link that corrupts what the stack sends carries no
//!   super-packets that way: each segment meets the impairments alone.
//!
//! ## The link contract
//!
//! `poll_send` returns `Ready(Ok(()))` for a packet it drops or holds, as a real network does:
//! the sender is not told. It returns `Pending` only when the link beneath has not taken a
//! packet that is due. The wrapper sends held packets whenever it is polled in either direction,
//! and keeps a timer for the next one due; the stack's driver polls `poll_recv` on every pass,
//! so held packets leave on time. A program that only sends through an `Impair` of its own
//! calls [`Impair::poll_flush`].
//!
//! [RFC 768]: https://www.rfc-editor.org/rfc/rfc768
//! [RFC 1071]: https://www.rfc-editor.org/rfc/rfc1071

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::{Instant, Sleep};
use tracing::warn;

use super::offload::{Offloads, PacketInfo};
use super::{is_fatal, Device};

mod bottleneck;
mod classify;
mod config;
mod fmt;
mod held;
mod lane;
#[cfg(test)]
mod offload_tests;
mod script;
mod stats;
#[cfg(test)]
mod tests;

pub use classify::{Content, Match, PacketSummary};
pub use config::{ImpairConfig, Impairments, QueueLimit};
pub use script::Rule;
pub use stats::{DirectionStats, ImpairStats, StatsHandle};

use lane::{Admit, Direction, Lane};
use stats::Counter;

/// How many packets one `poll_recv` takes from the link beneath before it lets other tasks run,
/// when it drops or holds every one of them.
const BATCH: usize = 64;

/// A link that impairs the packets passing through it; see the module documentation.
///
/// ```
/// use std::time::Duration;
/// use tunstack::device::impair::{Impair, ImpairConfig, Impairments, Match, Rule};
/// use tunstack::device::{memory, MemoryConfig};
///
/// # fn main() -> std::io::Result<()> {
/// let (a, _b) = memory::pair(MemoryConfig::default());
/// let config = ImpairConfig::both_ways(Impairments {
///     loss: 0.05,
///     delay: Duration::from_millis(25),
///     ..Impairments::default()
/// })
/// .with_seed(42);
/// let link = Impair::new(a, config)?;
/// // Give `link` to a `Stack`; `RUST_LOG=tunstack=debug` logs every decision.
///
/// // Or script it: lose the 3rd data segment the stack sends, and nothing else.
/// let (a, _b) = memory::pair(MemoryConfig::default());
/// let config = ImpairConfig::outbound_only(Impairments {
///     script: vec![Rule::nth(Match::TcpData, 3)],
///     ..Impairments::default()
/// });
/// let link = Impair::new(a, config)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Impair<L> {
    inner: L,
    config: ImpairConfig,
    outbound: Lane,
    inbound: Lane,
    /// Wakes the task when the next held packet is due; made on first use, inside the runtime.
    timer: Option<Pin<Box<Sleep>>>,
    /// The link beneath can no longer receive: reported once the held inbound packets are out.
    rx_error: Option<io::Error>,
    /// The link beneath can no longer send: every later send fails with this.
    tx_error: Option<io::ErrorKind>,
}

impl<L: Device> Impair<L> {
    /// Wraps `inner`. Fails with [`io::ErrorKind::InvalidInput`] if a setting is out of range
    /// (a probability above 1, a rate of 0, ...), saying which.
    pub fn new(inner: L, config: ImpairConfig) -> io::Result<Impair<L>> {
        config.check()?;
        let now = Instant::now();
        let (mtu, medium) = (inner.mtu(), inner.medium());
        let lane = |direction, impairments: &Impairments| {
            Lane::new(
                direction,
                impairments.clone(),
                config.seed,
                now,
                mtu,
                medium,
            )
        };
        Ok(Impair {
            outbound: lane(Direction::Outbound, &config.outbound),
            inbound: lane(Direction::Inbound, &config.inbound),
            inner,
            config,
            timer: None,
            rx_error: None,
            tx_error: None,
        })
    }

    /// The configuration this wrapper was made with.
    pub fn config(&self) -> &ImpairConfig {
        &self.config
    }

    /// What the wrapper has done so far, per direction.
    pub fn stats(&self) -> ImpairStats {
        self.stats_handle().get()
    }

    /// A handle that reads [`Impair::stats`] from anywhere, even after the wrapper has been
    /// given to a [`Stack`](crate::Stack).
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            outbound: self.outbound.counters.clone(),
            inbound: self.inbound.counters.clone(),
        }
    }

    /// How many packets wait inside the wrapper: (outbound, inbound).
    pub fn waiting(&self) -> (usize, usize) {
        (self.outbound.waiting(), self.inbound.waiting())
    }

    /// The wrapped link.
    pub fn get_ref(&self) -> &L {
        &self.inner
    }

    /// The wrapped link, mutably. Packets moved through it directly are not impaired.
    pub fn get_mut(&mut self) -> &mut L {
        &mut self.inner
    }

    /// Returns the wrapped link; the packets still held are lost.
    pub fn into_inner(self) -> L {
        self.inner
    }

    /// Sends the held outbound packets as they come due: `Ready` once none is left.
    ///
    /// The stack's driver does not need this (it polls `poll_recv`, which sends them too); a
    /// program that only sends through an `Impair` of its own awaits it with
    /// `std::future::poll_fn`.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let now = Instant::now();
            self.outbound.expire(now);
            if self.flush_outbound(cx, now).is_pending() {
                return Poll::Pending;
            }
            if let Some(kind) = self.tx_error {
                return Poll::Ready(Err(send_closed(kind)));
            }
            if self.outbound.is_idle() {
                return Poll::Ready(Ok(()));
            }
            if self.arm_timer(cx, now).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// Hands the link beneath every outbound packet that is due, in order. `Pending` if it
    /// would not take one (it will wake the task when it can).
    fn flush_outbound(&mut self, cx: &mut Context<'_>, now: Instant) -> Poll<()> {
        while let Some((packet, info, comment)) = self.outbound.due(now) {
            match self.inner.poll_send_info(cx, packet, info, comment) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => self.outbound.pop(true),
                Poll::Ready(Err(err)) => {
                    // The stack was told this packet was sent; like a failing wire, it is lost.
                    warn!(%err, "impair: the link beneath refused a held packet; it is lost");
                    self.outbound.pop(false);
                    if is_fatal(&err) {
                        self.tx_error = Some(err.kind());
                        self.outbound.clear();
                    }
                }
            }
        }
        Poll::Ready(())
    }

    /// Sets the timer for the next packet due in either direction. `Ready` if that time has
    /// already come (the caller goes round again), `Pending` otherwise.
    ///
    /// Only deadlines after `now` count: a packet already due either went out just before this
    /// call, or waits for the link beneath, which wakes the task itself.
    fn arm_timer(&mut self, cx: &mut Context<'_>, now: Instant) -> Poll<()> {
        let next = [
            self.outbound.next_deadline_after(now),
            self.inbound.next_deadline_after(now),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(at) = next else {
            return Poll::Pending;
        };
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if timer.deadline() != at {
            timer.as_mut().reset(at);
        }
        timer.as_mut().poll(cx)
    }

    /// Takes packets from the link beneath until one is ready for the stack. `None` when the
    /// link beneath has nothing more for now (or can no longer receive).
    fn receive_new(
        &mut self,
        cx: &mut Context<'_>,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<Poll<io::Result<(usize, PacketInfo)>>> {
        if self.rx_error.is_some() {
            return None;
        }
        for _ in 0..BATCH {
            match self.inner.poll_recv_info(cx, buf) {
                Poll::Ready(Ok((len, info))) => {
                    match self.inbound.admit(now, &buf[..len], &info, None) {
                        Admit::PassNow => {
                            self.inbound.counters.add(Counter::Passed);
                            return Some(Poll::Ready(Ok((len, info))));
                        }
                        // A corrupted or duplicated packet may be due at once.
                        Admit::Dropped | Admit::Queued => {
                            if let Some(result) = self.inbound.copy_due_into(now, buf) {
                                return Some(Poll::Ready(result));
                            }
                        }
                    }
                }
                Poll::Ready(Err(err)) if is_fatal(&err) => {
                    self.rx_error = Some(err);
                    return None;
                }
                Poll::Ready(Err(err)) => return Some(Poll::Ready(Err(err))),
                Poll::Pending => return None,
            }
        }
        // More is waiting beneath, but every packet so far was dropped or held: let other
        // tasks run, and come back.
        cx.waker().wake_by_ref();
        Some(Poll::Pending)
    }
}

impl<L: Device> Device for Impair<L> {
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn medium(&self) -> super::Medium {
        self.inner.medium()
    }

    /// Returns the next inbound packet that is due: a held one first, then the next one the
    /// link beneath has and the impairments let through at once.
    ///
    /// Sends the outbound packets that have come due on the way. Errors are the link
    /// beneath's; one after which it cannot receive any more is returned once every packet
    /// still held has been delivered.
    fn poll_recv(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_recv_info(cx, buf).map_ok(|(len, _)| len)
    }

    fn offloads(&self) -> Offloads {
        self.inner.offloads()
    }

    /// [`Device::poll_recv`], with what the device beneath said about the packet (unless a
    /// bit was flipped in it: then its checksum is to be verified after all).
    fn poll_recv_info(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        // A few rounds: the timer may turn out to be due already, which means going round again.
        for _ in 0..4 {
            let now = Instant::now();
            self.outbound.expire(now);
            // The outbound lane's progress does not decide this call's result: if the link
            // beneath is full, it wakes the task when it has room.
            let _ = self.flush_outbound(cx, now);
            self.inbound.expire(now);
            if let Some(result) = self.inbound.copy_due_into(now, buf) {
                return Poll::Ready(result);
            }
            if let Some(poll) = self.receive_new(cx, now, buf) {
                return poll;
            }
            if self.inbound.is_idle() {
                if let Some(err) = self.rx_error.take() {
                    return Poll::Ready(Err(err));
                }
            }
            if self.arm_timer(cx, now).is_pending() {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Takes one packet, to be dropped, held or passed on as the outbound impairments say.
    ///
    /// `Ready(Ok(()))` whatever becomes of the packet; `Pending` only while a packet that is
    /// due waits for the link beneath. Errors: a packet over the MTU, or on Ethernet a frame
    /// over the MTU and its header (the link beneath's own error), and whatever the link
    /// beneath returns for a packet passed on at once.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        self.poll_send_info(cx, packet, &PacketInfo::PLAIN, comment)
    }

    /// [`Device::poll_send`] with what the device beneath is to do for the packet. A
    /// super-packet meets the impairments whole, except where corruption needs it cut
    /// (see the module documentation).
    fn poll_send_info(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        if let Some(kind) = self.tx_error {
            return Poll::Ready(Err(send_closed(kind)));
        }
        let (mtu, link_header) = (self.inner.mtu(), self.inner.medium().header_len());
        let largest = self.inner.offloads().largest_for(info, mtu, link_header);
        if packet.len() > largest {
            // Not a packet (or frame) this link carries: let the link beneath say so.
            return self.inner.poll_send_info(cx, packet, info, comment);
        }
        let now = Instant::now();
        self.outbound.expire(now);
        // Until the packets already due have gone, the wrapper is as full as the link beneath.
        if self.flush_outbound(cx, now).is_pending() {
            return Poll::Pending;
        }
        if let Some(kind) = self.tx_error {
            return Poll::Ready(Err(send_closed(kind)));
        }
        if self.outbound.admit(now, packet, info, comment) == Admit::PassNow {
            match self.inner.poll_send_info(cx, packet, info, comment) {
                Poll::Ready(Ok(())) => self.outbound.counters.add(Counter::Passed),
                Poll::Ready(Err(err)) => {
                    if is_fatal(&err) {
                        self.tx_error = Some(err.kind());
                        self.outbound.clear();
                    }
                    return Poll::Ready(Err(err));
                }
                // Taken all the same (its fate is decided and counted): it goes first when
                // the link beneath has room.
                Poll::Pending => self.outbound.push_front(now, packet, info, comment),
            }
        }
        // A copy (a duplicate, a corrupted packet) may be due at once.
        let _ = self.flush_outbound(cx, now);
        if self.arm_timer(cx, now).is_ready() {
            cx.waker().wake_by_ref();
        }
        Poll::Ready(Ok(()))
    }

    fn records_comments(&self) -> bool {
        self.inner.records_comments()
    }
}

/// The error for a send after the link beneath stopped sending.
fn send_closed(kind: io::ErrorKind) -> io::Error {
    io::Error::new(kind, "the link beneath the impairments can no longer send")
}
