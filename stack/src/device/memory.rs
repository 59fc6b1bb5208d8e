//! An in-memory wire between two stacks in one process.
//!
//! [`pair`] returns the two ends of a cable. What one end sends, the other receives, in order.
//! Each direction is a bounded queue, like the transmit ring of a network card: when it is full,
//! the packet is dropped and counted (*tail drop*), and the sender is not told, because a real
//! link does not tell either. TCP's retransmissions and UDP's silence above it then behave as they
//! would on a congested link.
//!
//! ```text
//!   end A                                            end B
//!   poll_send ──► [ queue A→B: queue_len packets ] ──► poll_recv
//!   poll_recv ◄── [ queue B→A: queue_len packets ] ◄── poll_send
//! ```
//!
//! The wire is built for speed, because benchmarks run two stacks over it: packets travel in
//! buffers taken from a free list that both directions share, so once the wire has warmed up no
//! packet allocates. The driver sends and receives with [`Device::poll_send_owned`] and
//! [`Device::poll_recv_owned`], and the wire hands the buffers themselves over: the packet the
//! sender built is the one the receiver reads, not a copy, and the buffers go round from
//! sender to wire to receiver and back through the free list. A send wakes the task waiting on
//! the other end, if any.
//!
//! A packet sent in parts ([`Device::poll_send_parts`]: its headers, then its data still in
//! the sender's TCP send buffer) travels in those parts, the data as shared slices; the driver
//! takes it off in parts ([`Device::poll_recv_parts`]) and the receiving TCP keeps the slices,
//! so a long segment's bytes are not copied on their way from one application to the other. A
//! receive that wants whole packets gets the parts joined.
//!
//! Asked to ([`MemoryConfig::offloads`]), the wire does what a Linux veth pair does with its
//! offloads on: it carries TCP checksums left partial and super-packets of up to 64 KiB as
//! they are, with their [`PacketInfo`], and the receiving end trusts the checksum of a packet
//! that never crossed a real wire. Nobody then computes or verifies a checksum, and a 64 KiB
//! burst travels as one packet whatever the MTU. Off by default: the course's captures show
//! MSS-sized packets with whole checksums.
//!
//! Dropping one end is pulling the cable: the other end still receives what was already on the
//! wire, then gets [`io::ErrorKind::NotConnected`]; what it sends afterwards is discarded.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::offload::{self, Checksum, Offloads};
use super::{Device, Medium, PacketInfo, Tail};

/// How an in-memory wire behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryConfig {
    /// The largest packet either end may send, in bytes. Default 1500, Ethernet's MTU.
    pub mtu: usize,
    /// How many packets each direction holds before it drops new ones. Default 1024.
    pub queue_len: usize,
    /// What the wire carries: bare IP packets (the default) or Ethernet frames, which the
    /// hosts on it then address to each other's MAC address, found by ARP.
    pub medium: Medium,
    /// The jobs the wire does for the stacks on it: checksums and super-packets
    /// ([`Offloads`]), both ends alike. Default none.
    pub offloads: Offloads,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            mtu: 1500,
            queue_len: 1024,
            medium: Medium::Ip,
            offloads: Offloads::NONE,
        }
    }
}

/// What one end of the wire has done, as counted by [`MemoryDevice::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Packets this end put on the wire.
    pub sent: u64,
    /// Packets this end took off the wire.
    pub received: u64,
    /// Packets this end sent that were dropped because the queue to the other end was full.
    pub dropped_queue_full: u64,
    /// Packets this end sent after the other end was dropped: nobody was there to receive them.
    pub dropped_peer_closed: u64,
}

/// Reads one end's [`MemoryStats`]; made by [`MemoryDevice::stats_handle`].
#[derive(Debug, Clone)]
pub struct MemoryStatsHandle {
    wire: Arc<Mutex<Wire>>,
    side: usize,
}

impl MemoryStatsHandle {
    /// A snapshot of the end's counters.
    pub fn get(&self) -> MemoryStats {
        let wire = self.wire.lock().unwrap_or_else(PoisonError::into_inner);
        wire.ends[self.side].stats
    }
}

/// One end of an in-memory wire, made by [`pair`].
#[derive(Debug)]
pub struct MemoryDevice {
    wire: Arc<Mutex<Wire>>,
    /// Which end this is: 0 or 1. Packets for this end wait in `wire.ends[side]`.
    side: usize,
    mtu: usize,
    medium: Medium,
    offloads: Offloads,
}

/// The state both ends share, behind one lock.
#[derive(Debug)]
struct Wire {
    ends: [End; 2],
    /// Empty packet buffers, `mtu` bytes of capacity each, ready for the next send.
    free: Vec<Vec<u8>>,
    queue_len: usize,
}

/// One end's side of the wire: the packets travelling towards it and who waits for them.
#[derive(Debug, Default)]
struct End {
    /// Each packet with what its sender said about it (always [`PacketInfo::PLAIN`] on a
    /// wire without offloads).
    incoming: VecDeque<Queued>,
    /// The task blocked in `poll_recv` on this end, woken by the next send towards it.
    waker: Option<Waker>,
    /// False once this end's `MemoryDevice` is dropped.
    closed: bool,
    stats: MemoryStats,
}

/// Makes the two ends of an in-memory wire.
///
/// ```
/// use std::future::poll_fn;
/// use tunstack::device::{memory, Device, MemoryConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut a, mut b) = memory::pair(MemoryConfig::default());
/// poll_fn(|cx| a.poll_send(cx, b"an IP packet", None)).await?;
/// let mut buf = vec![0; b.mtu()];
/// let n = poll_fn(|cx| b.poll_recv(cx, &mut buf)).await?;
/// assert_eq!(&buf[..n], b"an IP packet");
/// # Ok(())
/// # }
/// ```
pub fn pair(config: MemoryConfig) -> (MemoryDevice, MemoryDevice) {
    let wire = Arc::new(Mutex::new(Wire {
        ends: [End::default(), End::default()],
        free: Vec::new(),
        queue_len: config.queue_len,
    }));
    let end = |side| MemoryDevice {
        wire: Arc::clone(&wire),
        side,
        mtu: config.mtu,
        medium: config.medium,
        offloads: config.offloads,
    };
    (end(0), end(1))
}

impl MemoryDevice {
    /// This end's counters.
    pub fn stats(&self) -> MemoryStats {
        self.lock().ends[self.side].stats
    }

    /// A handle that reads this end's counters from anywhere, also after the link has moved
    /// into a stack.
    pub fn stats_handle(&self) -> MemoryStatsHandle {
        MemoryStatsHandle {
            wire: Arc::clone(&self.wire),
            side: self.side,
        }
    }

    /// The index of the other end.
    fn peer(&self) -> usize {
        1 - self.side
    }

    /// Locks the wire.
    ///
    /// A poisoned lock (a panic while it was held) is taken over as is: every critical section
    /// below leaves the wire consistent between statements, so there is nothing to repair.
    fn lock(&self) -> MutexGuard<'_, Wire> {
        self.wire.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Device for MemoryDevice {
    fn mtu(&self) -> usize {
        self.mtu
    }

    fn medium(&self) -> Medium {
        self.medium
    }

    /// The wire's offloads, but never BIG TCP: the stack at the other end reads no Total
    /// Length of 0.
    fn offloads(&self) -> Offloads {
        Offloads {
            big_tcp: false,
            ..self.offloads
        }
    }

    /// Takes the oldest packet travelling towards this end. On a wire with offloads, a
    /// checksum its sender left partial is completed in the copy, as the caller hears nothing
    /// about it ([`MemoryDevice::poll_recv_info`] says).
    ///
    /// Errors: [`io::ErrorKind::NotConnected`] once the other end is dropped and every packet it
    /// sent has been received; [`io::ErrorKind::InvalidInput`] if `buf` is shorter than the
    /// waiting packet (the packet stays queued).
    fn poll_recv(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_recv_info(cx, buf).map_ok(|(len, info)| {
            // `start` counts from the frame's first byte, as the packet came.
            if let (Checksum::Partial { start, offset }, Some(packet)) =
                (info.checksum, buf.get_mut(..len))
            {
                offload::complete_checksum(packet, start, offset);
            }
            len
        })
    }

    /// Takes the oldest packet travelling towards this end into `buf`, with what its sender
    /// said about it. Errors as [`MemoryDevice::poll_recv`]'s.
    fn poll_recv_info(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        self.recv_with(cx, |(packet, info, tail)| {
            let len = packet.len() + tail.len();
            let Some(dest) = buf.get_mut(..len) else {
                let message = format!(
                    "receive buffer of {} bytes is shorter than the {}-byte packet waiting",
                    buf.len(),
                    len
                );
                return Err((
                    (packet, info, tail),
                    io::Error::new(io::ErrorKind::InvalidInput, message),
                ));
            };
            let mut at = 0;
            let pieces = tail.pieces().iter().map(|piece| &piece[..]);
            for piece in std::iter::once(&packet[..]).chain(pieces) {
                dest[at..at + piece.len()].copy_from_slice(piece);
                at += piece.len();
            }
            Ok((len, info, packet))
        })
    }

    /// Puts a packet on the wire towards the other end.
    ///
    /// Never `Pending`: a full queue drops the packet instead (counted in
    /// [`MemoryStats::dropped_queue_full`]), as does a dropped peer. The only error is a packet
    /// longer than the MTU, [`io::ErrorKind::InvalidInput`]: the IP layer must never send one.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        self.poll_send_info(cx, packet, &PacketInfo::PLAIN, comment)
    }

    /// Puts a packet on the wire towards the other end with what the other end is to hear
    /// about it: on a wire with offloads, a partial checksum or a super-packet travels as it
    /// is. Drops and errors as [`MemoryDevice::poll_send`]'s; a super-packet may be as long as
    /// [`offload::MAX_SUPER_PACKET`].
    fn poll_send_info(
        &mut self,
        _cx: &mut Context<'_>,
        packet: &[u8],
        info: &PacketInfo,
        _comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        let mtu = self.mtu + self.medium.header_len();
        self.send_with(packet.len(), (info, Default::default()), |spare| {
            // Reuse a buffer a receiver gave back; only a cold wire allocates.
            let mut buffer = spare.unwrap_or_else(|| Vec::with_capacity(mtu));
            buffer.clear();
            buffer.extend_from_slice(packet);
            buffer
        })
    }

    /// Hands the oldest packet travelling towards this end over in its own buffer, which
    /// takes `buf`'s place; `buf`'s buffer joins the wire's free list. No byte is copied.
    /// Errors as [`MemoryDevice::poll_recv`]'s, but no buffer is too short.
    fn poll_recv_owned(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        let mut tail = Tail::default();
        self.poll_recv_parts(cx, buf, &mut tail)
            .map_ok(|(_, info)| {
                // Sent in parts: joined here, for a receiver that takes packets whole.
                tail.append_to(buf);
                (buf.len(), info)
            })
    }

    /// Like [`MemoryDevice::poll_recv_owned`], but a packet sent in parts comes in the same
    /// parts: its headers in `buf`, its data in `tail`. No byte is copied.
    fn poll_recv_parts(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
        tail: &mut Tail,
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        self.recv_with(cx, |(mut packet, info, parts)| {
            std::mem::swap(buf, &mut packet);
            *tail = parts;
            Ok((buf.len(), info, packet))
        })
    }

    /// Puts `packet`'s buffer itself on the wire, and leaves an empty one from the wire's free
    /// list in its place. No byte is copied. Drops and errors as [`MemoryDevice::poll_send`]'s;
    /// a packet that is not sent stays in `packet`.
    fn poll_send_owned(
        &mut self,
        cx: &mut Context<'_>,
        packet: &mut Vec<u8>,
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        self.poll_send_parts(cx, packet, &Tail::default(), info, comment)
    }

    /// Yes: a packet's data travels as the slices of the sender's buffer it came in.
    fn sends_parts(&self) -> bool {
        true
    }

    /// Puts `head`'s buffer itself on the wire, leaving an empty one from the wire's free list
    /// in its place, and the data's pieces with it, shared: no byte is copied. The other end gets the parts
    /// as they are ([`MemoryDevice::poll_recv_parts`]), or joined if it asks for whole packets.
    fn poll_send_parts(
        &mut self,
        _cx: &mut Context<'_>,
        head: &mut Vec<u8>,
        tail: &Tail,
        info: &PacketInfo,
        _comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        let len = head.len() + tail.len();
        self.send_with(len, (info, tail.clone()), |spare| {
            let mut spare = spare.unwrap_or_default();
            spare.clear();
            std::mem::replace(head, spare)
        })
    }
}

impl MemoryDevice {
    /// The receive both ways share: `hand` gets the oldest packet waiting, gives it to the
    /// caller (copied, or the buffer itself), and returns its length, its info and a spent
    /// buffer for the free list; or the packet back, to stay queued, and an error.
    fn recv_with(
        &mut self,
        cx: &mut Context<'_>,
        hand: impl FnOnce(Queued) -> Result<(usize, PacketInfo, Vec<u8>), (Queued, io::Error)>,
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        let (side, peer) = (self.side, self.peer());
        let mut wire = self.lock();
        let Wire { ends, free, .. } = &mut *wire;
        let Some(packet) = ends[side].incoming.pop_front() else {
            if ends[peer].closed {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "the other end of the in-memory wire was dropped",
                )));
            }
            let waker = &mut ends[side].waker;
            // Cloning a waker is cheap but not free; keep the stored one if it wakes this task.
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        };
        match hand(packet) {
            Ok((len, info, spent)) => {
                ends[side].stats.received += 1;
                free.push(spent);
                Poll::Ready(Ok((len, info)))
            }
            Err((packet, err)) => {
                ends[side].incoming.push_front(packet);
                Poll::Ready(Err(err))
            }
        }
    }

    /// The send both ways share, for a packet of `len` bytes: `make` turns a spare
    /// buffer from the free list (if there is one) into the buffer that travels, with `tail`
    /// (the data, when the packet was given in parts).
    fn send_with(
        &mut self,
        len: usize,
        (info, tail): (&PacketInfo, Tail),
        make: impl FnOnce(Option<Vec<u8>>) -> Vec<u8>,
    ) -> Poll<io::Result<()>> {
        if let Err(message) = self.check(len, info) {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidInput, message)));
        }
        let (side, peer) = (self.side, self.peer());
        let mut wire = self.lock();
        let Wire {
            ends,
            free,
            queue_len,
        } = &mut *wire;
        if ends[peer].closed {
            ends[side].stats.dropped_peer_closed += 1;
            return Poll::Ready(Ok(()));
        }
        if ends[peer].incoming.len() >= *queue_len {
            ends[side].stats.dropped_queue_full += 1;
            return Poll::Ready(Ok(()));
        }
        let buffer = make(free.pop());
        ends[peer].incoming.push_back((buffer, *info, tail));
        ends[side].stats.sent += 1;
        let waker = ends[peer].waker.take();
        // Wake after unlocking, so the woken task does not find the lock still held.
        drop(wire);
        if let Some(waker) = waker {
            waker.wake();
        }
        Poll::Ready(Ok(()))
    }
}

/// A packet on the wire and what its sender said about it.
/// The packet (or its headers, when it was sent in parts, then the rest in the pieces of data,
/// else empty).
type Queued = (Vec<u8>, PacketInfo, Tail);

impl MemoryDevice {
    /// Whether the wire takes a `len`-byte packet its sender says `info` of: one that fits
    /// the MTU, or, with offloads, a super-packet; and nothing asked of offloads the wire does
    /// not have (the stack asks only for those [`Device::offloads`] lists).
    fn check(&self, len: usize, info: &PacketInfo) -> Result<(), String> {
        let Offloads { checksum, tso, .. } = self.offloads;
        if !checksum && info.checksum != Checksum::Complete || !tso && info.gso.is_some() {
            return Err(format!("{info:?} asks for offloads this wire does not do"));
        }
        // The wire's offloads as the stack sees them (never BIG TCP).
        let largest = self
            .offloads()
            .largest_for(info, self.mtu, self.medium.header_len());
        match len <= largest {
            true => Ok(()),
            false => Err(format!(
                "a {len}-byte packet does not fit the in-memory wire's MTU of {} bytes",
                self.mtu
            )),
        }
    }
}

impl Drop for MemoryDevice {
    /// Pulls the cable: marks this end closed and wakes the other end, so that a task waiting in
    /// `poll_recv` there sees the wire go dead instead of waiting forever.
    fn drop(&mut self) {
        let (side, peer) = (self.side, self.peer());
        let mut wire = self.lock();
        let Wire { ends, free, .. } = &mut *wire;
        ends[side].closed = true;
        ends[side].waker = None;
        // Packets nobody will read: give their buffers back (the peer may still be sending).
        free.extend(ends[side].incoming.drain(..).map(|(buffer, ..)| buffer));
        let waker = ends[peer].waker.take();
        drop(wire);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::testing::{recv, send, WakeCounter};
    use std::task::Waker;

    fn small(queue_len: usize) -> (MemoryDevice, MemoryDevice) {
        pair(MemoryConfig {
            mtu: 100,
            queue_len,
            ..MemoryConfig::default()
        })
    }

    #[tokio::test]
    async fn delivers_in_order_both_ways() {
        let (mut a, mut b) = small(8);
        for i in 0..5u8 {
            send(&mut a, &[i; 10]).await.unwrap();
        }
        send(&mut b, b"back").await.unwrap();
        let mut buf = [0u8; 100];
        for i in 0..5u8 {
            let n = recv(&mut b, &mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i; 10]);
        }
        let n = recv(&mut a, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"back");
        let stats = a.stats();
        assert_eq!((stats.sent, stats.received), (5, 1));
        assert_eq!((b.stats().sent, b.stats().received), (1, 5));
    }

    #[tokio::test]
    async fn tail_drops_when_the_queue_is_full() {
        let (mut a, mut b) = small(4);
        for i in 0..7u8 {
            // Every send succeeds from the sender's point of view, dropped or not.
            send(&mut a, &[i]).await.unwrap();
        }
        let stats = a.stats();
        assert_eq!((stats.sent, stats.dropped_queue_full), (4, 3));
        let mut buf = [0u8; 100];
        for i in 0..4u8 {
            let n = recv(&mut b, &mut buf).await.unwrap();
            assert_eq!(
                &buf[..n],
                &[i],
                "the first packets stay, the last are dropped"
            );
        }
        // Room again: the next packet gets through.
        send(&mut a, &[9]).await.unwrap();
        assert_eq!(recv(&mut b, &mut buf).await.unwrap(), 1);
        assert_eq!(buf[0], 9);
    }

    #[tokio::test]
    async fn rejects_a_packet_over_the_mtu() {
        let (mut a, mut b) = small(4);
        send(&mut a, &[0; 100]).await.unwrap();
        let err = send(&mut a, &[0; 101]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("MTU of 100"), "{err}");
        assert_eq!(a.stats().sent, 1);
        let mut short = [0u8; 50];
        let err = recv(&mut b, &mut short).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let mut buf = [0u8; 100];
        assert_eq!(recv(&mut b, &mut buf).await.unwrap(), 100, "still queued");
    }

    #[test]
    fn a_send_wakes_the_waiting_receiver() {
        let (mut a, mut b) = small(4);
        let counter = WakeCounter::new();
        let waker = counter.waker();
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 100];
        assert!(b.poll_recv(&mut cx, &mut buf).is_pending());
        assert!(b.poll_recv(&mut cx, &mut buf).is_pending());
        assert_eq!(counter.count(), 0);
        assert!(a.poll_send(&mut cx, b"ping", None).is_ready());
        assert_eq!(counter.count(), 1, "one send, one wake-up");
        assert!(matches!(b.poll_recv(&mut cx, &mut buf), Poll::Ready(Ok(4))));
    }

    #[tokio::test]
    async fn a_pending_task_is_woken_across_tasks() {
        let (mut a, mut b) = small(4);
        let receiver = tokio::spawn(async move {
            let mut buf = [0u8; 100];
            let n = recv(&mut b, &mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        tokio::task::yield_now().await;
        send(&mut a, b"hello").await.unwrap();
        assert_eq!(receiver.await.unwrap(), b"hello");
    }

    #[tokio::test]
    async fn dropping_one_end_is_pulling_the_cable() {
        let (mut a, mut b) = small(4);
        send(&mut a, b"last words").await.unwrap();
        drop(a);
        let mut buf = [0u8; 100];
        let n = recv(&mut b, &mut buf).await.unwrap();
        assert_eq!(
            &buf[..n],
            b"last words",
            "what was on the wire still arrives"
        );
        let err = recv(&mut b, &mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected);
        send(&mut b, b"anyone?").await.unwrap();
        assert_eq!(b.stats().dropped_peer_closed, 1);
    }

    #[test]
    fn dropping_an_end_wakes_the_other() {
        let (a, mut b) = small(4);
        let counter = WakeCounter::new();
        let waker = counter.waker();
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 100];
        assert!(b.poll_recv(&mut cx, &mut buf).is_pending());
        drop(a);
        assert_eq!(counter.count(), 1);
        assert!(matches!(
            b.poll_recv(&mut cx, &mut buf),
            Poll::Ready(Err(_))
        ));
    }

    #[test]
    fn owned_sends_and_receives_hand_the_buffer_itself_over() {
        let (mut a, mut b) = small(4);
        let mut cx = Context::from_waker(Waker::noop());
        let mut packet = b"not copied".to_vec();
        let built_at = packet.as_ptr();
        let sent = a.poll_send_owned(&mut cx, &mut packet, &PacketInfo::PLAIN, None);
        assert!(matches!(sent, Poll::Ready(Ok(()))));
        assert!(
            packet.is_empty(),
            "an empty buffer takes the packet's place"
        );
        let mut buf = Vec::new();
        let received = b.poll_recv_owned(&mut cx, &mut buf);
        assert!(matches!(received, Poll::Ready(Ok((10, _)))));
        assert_eq!(buf, b"not copied");
        assert_eq!(buf.as_ptr(), built_at, "the very buffer the sender built");
        // The receiver's old buffer went to the free list: the next owned send gets it back.
        let mut next = b"again".to_vec();
        assert!(a
            .poll_send_owned(&mut cx, &mut next, &PacketInfo::PLAIN, None)
            .is_ready());
        assert_eq!(next.capacity(), 0, "the receiver's empty buffer, recycled");
        // Owned and copying calls mix: each end sees the same packets.
        assert!(a.poll_send(&mut cx, b"copied", None).is_ready());
        let mut copy = [0u8; 100];
        assert!(matches!(
            b.poll_recv(&mut cx, &mut copy),
            Poll::Ready(Ok(5))
        ));
        assert_eq!(&copy[..5], b"again");
        assert!(matches!(
            b.poll_recv_owned(&mut cx, &mut buf),
            Poll::Ready(Ok((6, _)))
        ));
        assert_eq!(buf, b"copied");
        assert_eq!((a.stats().sent, b.stats().received), (3, 3));
    }

    #[test]
    fn parts_travel_as_they_are_to_a_receiver_that_takes_parts_and_joined_to_the_others() {
        use bytes::Bytes;
        let (mut a, mut b) = small(4);
        let mut cx = Context::from_waker(Waker::noop());
        let data = Bytes::from(vec![7u8; 60]);
        let tail = Tail::new(data.slice(..50), data.slice(50..));
        assert!(a.sends_parts());
        for _ in 0..3 {
            let mut head = b"headers".to_vec();
            let sent = a.poll_send_parts(&mut cx, &mut head, &tail, &PacketInfo::PLAIN, None);
            assert!(matches!(sent, Poll::Ready(Ok(()))));
        }
        let (mut buf, mut got) = (Vec::new(), Tail::default());
        let received = b.poll_recv_parts(&mut cx, &mut buf, &mut got);
        assert!(matches!(received, Poll::Ready(Ok((7, _)))));
        assert_eq!((&buf[..], &got), (&b"headers"[..], &tail));
        assert_eq!(
            got.pieces()[0].as_ptr(),
            data.as_ptr(),
            "the sender's bytes, not a copy"
        );
        let received = b.poll_recv_owned(&mut cx, &mut buf);
        assert!(matches!(received, Poll::Ready(Ok((67, _)))), "joined");
        assert_eq!(&buf[7..], &[7u8; 60][..]);
        let mut copy = [0u8; 100];
        assert!(matches!(
            b.poll_recv(&mut cx, &mut copy),
            Poll::Ready(Ok(67))
        ));
        assert_eq!(&copy[..7], b"headers");
        // The MTU counts the parts together.
        let mut head = vec![0u8; 50];
        let refused = a.poll_send_parts(&mut cx, &mut head, &tail, &PacketInfo::PLAIN, None);
        assert!(matches!(refused, Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::InvalidInput));
    }

    #[test]
    fn an_owned_send_that_is_dropped_or_refused_keeps_its_packet() {
        let (mut a, _b) = small(1);
        let mut cx = Context::from_waker(Waker::noop());
        let mut first = vec![1u8; 10];
        assert!(a
            .poll_send_owned(&mut cx, &mut first, &PacketInfo::PLAIN, None)
            .is_ready());
        let mut second = vec![2u8; 10];
        let full = a.poll_send_owned(&mut cx, &mut second, &PacketInfo::PLAIN, None);
        assert!(
            matches!(full, Poll::Ready(Ok(()))),
            "a full queue drops silently"
        );
        assert_eq!(
            second, [2u8; 10],
            "the dropped packet stays with the sender"
        );
        assert_eq!(a.stats().dropped_queue_full, 1);
        let mut too_long = vec![3u8; 101];
        let refused = a.poll_send_owned(&mut cx, &mut too_long, &PacketInfo::PLAIN, None);
        assert!(matches!(refused, Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::InvalidInput));
        assert_eq!(too_long.len(), 101);
    }

    #[tokio::test]
    async fn buffers_are_recycled_once_warm() {
        let (mut a, mut b) = small(4);
        let mut buf = [0u8; 100];
        for round in 0..100u8 {
            send(&mut a, &[round; 60]).await.unwrap();
            send(&mut b, &[round; 30]).await.unwrap();
            recv(&mut b, &mut buf).await.unwrap();
            recv(&mut a, &mut buf).await.unwrap();
        }
        // Two packets were ever in flight at once, so two buffers were ever made.
        assert_eq!(a.lock().free.len(), 2);
        assert!(a.lock().free.iter().all(|b| b.capacity() >= 100));
    }

    /// What a super-packet with a partial checksum says of itself: 40 bytes of headers, then
    /// segments of 100 bytes, the checksum at byte 16 of the transport header at byte 20.
    const SUPER: PacketInfo = PacketInfo {
        checksum: Checksum::Partial {
            start: 20,
            offset: 16,
        },
        gso: Some(offload::Gso {
            size: 100,
            header_len: 40,
            v6: false,
            ecn: false,
        }),
    };

    fn offload_pair() -> (MemoryDevice, MemoryDevice) {
        pair(MemoryConfig {
            mtu: 100,
            queue_len: 4,
            offloads: Offloads::ALL,
            ..MemoryConfig::default()
        })
    }

    /// The one's-complement sum over `bytes` (RFC 1071), folded.
    fn sum(bytes: &[u8]) -> u16 {
        let mut sum: u32 = bytes
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    #[test]
    fn an_offload_wire_hands_super_packets_over_whole_with_what_their_sender_said() {
        let (mut a, mut b) = offload_pair();
        assert_eq!(a.offloads(), Offloads::ALL);
        let mut cx = Context::from_waker(Waker::noop());
        let mut packet = vec![7u8; 1000];
        let sent = a.poll_send_owned(&mut cx, &mut packet, &SUPER, None);
        assert!(matches!(sent, Poll::Ready(Ok(()))), "{sent:?}");
        let mut buf = Vec::new();
        let received = b.poll_recv_owned(&mut cx, &mut buf);
        assert!(
            matches!(received, Poll::Ready(Ok((1000, info))) if info == SUPER),
            "{received:?}"
        );
        // Without a segment size, the MTU still holds.
        let mut plain = vec![7u8; 101];
        let refused = a.poll_send_owned(&mut cx, &mut plain, &PacketInfo::PLAIN, None);
        assert!(matches!(refused, Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::InvalidInput));
    }

    #[test]
    fn a_wire_without_offloads_refuses_a_packet_that_asks_for_them() {
        let (mut a, _b) = small(4);
        let mut cx = Context::from_waker(Waker::noop());
        let mut packet = vec![7u8; 60];
        let refused = a.poll_send_owned(&mut cx, &mut packet, &SUPER, None);
        assert!(matches!(refused, Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::InvalidInput));
        assert_eq!(a.stats().sent, 0);
    }

    #[tokio::test]
    async fn a_copying_receive_completes_a_partial_checksum() {
        let (mut a, mut b) = offload_pair();
        let info = PacketInfo { gso: None, ..SUPER };
        // 20 bytes of "IP header", then a "transport header" whose checksum field, at 36, holds
        // the pseudo-header's sum, as a stack leaves it for the device to complete.
        let mut packet: Vec<u8> = (0..80u8).collect();
        packet[36..38].copy_from_slice(&0x1234u16.to_be_bytes());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(a.poll_send_info(&mut cx, &packet, &info, None).is_ready());
        let mut buf = [0u8; 100];
        let n = recv(&mut b, &mut buf).await.unwrap();
        assert_eq!(n, 80);
        assert_ne!(buf[36..38], packet[36..38], "the checksum was filled in");
        // Verified as a receiver does, with the pseudo-header's sum added: all ones.
        let mut pseudo = buf[20..80].to_vec();
        pseudo.extend_from_slice(&0x1234u16.to_be_bytes());
        assert_eq!(sum(&pseudo), 0xffff, "and sums to all ones");
        assert_eq!(buf[..36], packet[..36]);
    }
}
