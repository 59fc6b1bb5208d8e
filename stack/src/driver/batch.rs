//! The driver's own buffers for a batch of packets: what the link gave, before the core takes
//! it ([`Inbox`]), and what the core gave, before the link takes it ([`Outbox`]).
//!
//! They let the driver use the link without holding the core's lock: the packets cross
//! between link and core in these buffers, and only the crossing into or out of the core needs
//! the lock. The buffers are reused from pass to pass, so a busy stack allocates nothing per
//! packet once it has warmed up; a long packet whose data TCP keeps lends its buffer out, and
//! the buffer comes back once the data is read (see [`Inbox::deliver`] and [`Pool`]).

use std::collections::VecDeque;

use tracing::debug;

use super::pool::Pool;
use crate::device::offload;
use crate::device::{PacketInfo, Tail};
use crate::host::Host;
use crate::link::Reason;
use crate::time::Instant;
use crate::wire::WireError;

/// Packets at least this long go up shared, for TCP to keep instead of copying. Sharing costs
/// allocations (the shared count, and a new buffer for the slot) and atomic counts: more than
/// copying a 1,500-byte packet, less than copying a 64 KiB one. (In-memory ours→ours, CPU time
/// for 512 MiB: at MTU 65535 130–169 ms shared against 193–214 ms copied; at MTU 1500, with
/// 1,024 here, 319–414 ms against 282–358 ms, so packets that size are copied.)
const SHARE_MIN: usize = 4096;

/// Packets received from the link, in the order they came, waiting for the core.
#[derive(Debug, Default)]
pub(super) struct Inbox {
    /// Each buffer holds a packet in its first `len` bytes (the link may have swapped its own
    /// buffer in, see [`Device::poll_recv_owned`](crate::device::Device::poll_recv_owned)).
    bufs: Vec<Vec<u8>>,
    /// The length of each packet held, in order, and what the device said about it.
    lens: Vec<(usize, PacketInfo)>,
    /// For each buffer, the rest of its packet when that came apart (the data of a packet
    /// sent in parts, see [`Device::poll_recv_parts`](crate::device::Device::poll_recv_parts));
    /// else empty.
    tails: Vec<Tail>,
    /// The buffers of shared packets, back once TCP and the application are done with them.
    pool: Pool,
}

impl Inbox {
    /// Whether it holds no packet.
    pub(super) fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// The buffer for the next packet, and where the rest of it goes if it comes apart:
    /// [`Inbox::keep`] then keeps the buffer's first bytes and the rest. A slot whose buffer
    /// was lent out takes one back from the pool; a new buffer is empty, and the link sizes
    /// it (once) or swaps it for its own.
    pub(super) fn next_buf(&mut self) -> (&mut Vec<u8>, &mut Tail) {
        let next = self.lens.len();
        if next == self.bufs.len() {
            self.bufs.push(Vec::new());
            self.tails.push(Default::default());
        }
        let buf = &mut self.bufs[next];
        if buf.capacity() == 0 {
            *buf = self.pool.take();
        }
        (buf, &mut self.tails[next])
    }

    /// Keeps the first `len` bytes of the buffer [`Inbox::next_buf`] gave as a packet.
    pub(super) fn keep(&mut self, len: usize, info: PacketInfo) {
        self.lens.push((len, info));
    }

    /// Hands every packet to the core, oldest first, and empties the inbox.
    ///
    /// A packet that came in parts goes up in them ([`Host::receive_parts`]). A long packet
    /// that fills most of its buffer goes up shared ([`Host::receive_shared`]):
    /// TCP may keep its data where it is until the application reads it, and the slot then
    /// takes another buffer from the pool, where this one goes back once nothing holds it.
    /// Other packets go up borrowed, and their buffers stay.
    pub(super) fn deliver(&mut self, now: Instant, host: &mut Host) {
        let packets = self.bufs.iter_mut().zip(&mut self.tails).zip(&self.lens);
        for ((buf, tail), &(len, info)) in packets {
            if !tail.is_empty() {
                if let Some(head) = buf.get(..len) {
                    host.receive_parts(now, head, tail, info);
                }
                // The sender's buffer is not held here any longer than TCP wants it.
                *tail = Default::default();
            } else if len >= SHARE_MIN
                && len.saturating_mul(2) >= buf.capacity()
                && len <= buf.len()
            {
                let mut packet = std::mem::take(buf);
                packet.truncate(len);
                let packet = self.pool.share(packet);
                host.receive_shared(now, &packet, info);
            } else if let Some(packet) = buf.get(..len) {
                host.receive_info(now, packet, info);
            }
        }
        self.lens.clear();
    }
}

/// A packet the core built, with why it was sent (for a capture's comment).
#[derive(Debug)]
struct Outgoing {
    buf: Vec<u8>,
    /// The rest of the packet, when its data stayed in the send buffer (else empty).
    tail: Tail,
    why: Option<Reason>,
    /// What the device is to do for it (offloads).
    info: PacketInfo,
}

/// The oldest packet in the [`Outbox`], for the link.
pub(super) struct Front<'a> {
    /// The packet, or its headers when `tail` holds the rest.
    pub(super) buf: &'a mut Vec<u8>,
    /// The packet's data, still in TCP's send buffer.
    pub(super) tail: &'a Tail,
    /// Why it was sent.
    pub(super) why: Option<&'a Reason>,
    /// What the device is to do for it.
    pub(super) info: &'a PacketInfo,
}

/// Packets the core gave, in the order it gave them, waiting for the link.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    queue: VecDeque<Outgoing>,
    /// Buffers of packets already sent, for the next ones.
    free: Vec<Vec<u8>>,
    /// The segments of a train being cut (kept for its room).
    pieces: Vec<Vec<u8>>,
}

impl Outbox {
    /// Whether it holds no packet.
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Takes up to `most` packets from the core, and no more once they hold `most_bytes`.
    /// Returns how many it took, and whether the core has none left (it has then run its
    /// timers at `now`). With `parts`, TCP's data may stay in the send buffer
    /// ([`Host::transmit_parts`]), for a link that sends it behind the headers as it is.
    pub(super) fn fill(
        &mut self,
        now: Instant,
        host: &mut Host,
        (most, most_bytes): (usize, usize),
        parts: bool,
    ) -> (usize, bool) {
        let mut bytes = 0;
        for taken in 0..most {
            if bytes >= most_bytes {
                return (taken, false);
            }
            let mut buf = self.free.pop().unwrap_or_default();
            let transmit = match parts {
                true => host.transmit_parts(now, &mut buf),
                false => host.transmit(now, &mut buf),
            };
            let Some(transmit) = transmit else {
                self.free.push(buf);
                return (taken, true);
            };
            bytes += buf.len() + transmit.tail.len();
            self.queue.push_back(Outgoing {
                buf,
                tail: transmit.tail,
                why: transmit.why,
                info: transmit.info,
            });
        }
        (most, false)
    }

    /// The oldest packet (its headers, or all of it, and the rest when that is apart), why it
    /// was sent, and what the device is to do for it. The link may take the buffer itself and
    /// leave another in its place (see
    /// [`Device::poll_send_owned`](crate::device::Device::poll_send_owned)).
    pub(super) fn front(&mut self) -> Option<Front<'_>> {
        let packet = self.queue.front_mut()?;
        Some(Front {
            buf: &mut packet.buf,
            tail: &packet.tail,
            why: packet.why.as_ref(),
            info: &packet.info,
        })
    }

    /// Done with the oldest packet (sent, or lost): its buffer (or the one the link left in
    /// its place) is kept for another.
    pub(super) fn pop(&mut self) {
        if let Some(packet) = self.queue.pop_front() {
            self.recycle(packet.buf);
        }
    }

    /// Cuts the oldest packet, if it is a train of segments (see
    /// [`Config::gso`](crate::host::Config::gso)), into those segments: each a packet of its
    /// own, in the train's place, with the train's reason, built in a spent buffer.
    /// `link_len`: the link header's length in front of the IP header.
    ///
    /// Errors: the train is no well-formed TCP packet (it stays, for the caller to drop).
    pub(super) fn cut_front(&mut self, link_len: usize) -> Result<(), WireError> {
        let Some(gso) = self.queue.front().and_then(|packet| packet.info.gso) else {
            return Ok(());
        };
        let mut pieces = std::mem::take(&mut self.pieces);
        let train = &self.queue[0];
        let free = &mut self.free;
        let cut = offload::segment_parts(
            (&train.buf, train.tail.pieces()),
            &gso,
            link_len,
            || free.pop().unwrap_or_default(),
            |segment| pieces.push(segment),
        );
        if cut.is_ok() {
            if let Some(train) = self.queue.pop_front() {
                debug!(
                    "driver: software GSO: a train of {} bytes cut into {} segments of up to \
                     {} bytes of data each",
                    train.buf.len() + train.tail.len(),
                    pieces.len(),
                    gso.size
                );
                for buf in pieces.drain(..).rev() {
                    self.queue.push_front(Outgoing {
                        buf,
                        tail: Tail::default(),
                        why: train.why.clone(),
                        info: PacketInfo::PLAIN,
                    });
                }
                self.recycle(train.buf);
            }
        }
        for spare in pieces.drain(..) {
            self.recycle(spare);
        }
        self.pieces = pieces;
        cut
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

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddrV4};
    use std::task::{Context, Poll, Waker};

    use super::*;
    use crate::host::Config;

    #[test]
    fn a_fill_stops_at_its_byte_budget_and_the_next_takes_the_rest() {
        let mut config = Config::new("10.0.0.2/24".parse().unwrap());
        config.mtu = 65535;
        let mut host = Host::new(config);
        let socket = host
            .udp_bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
            .unwrap();
        let peer = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 9);
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..8 {
            let sent = host.udp_poll_send_to(&mut cx, socket, &[7; 60_000], peer);
            assert!(sent.is_ready());
        }
        let now = Instant::ZERO;
        let mut outbox = Outbox::default();
        // 60,028-byte packets: the fifth passes 256 KiB, and the pass stops there.
        assert_eq!(
            outbox.fill(now, &mut host, (64, 256 * 1024), false),
            (5, false)
        );
        assert_eq!(outbox.queue.len(), 5);
        assert_eq!(
            outbox.fill(now, &mut host, (64, 256 * 1024), false),
            (3, true)
        );
        assert_eq!(
            outbox.fill(now, &mut host, (2, usize::MAX), false),
            (0, true)
        );
    }

    /// A client host connecting to a server host listening on port 80 (the SYN not sent
    /// yet), both configured by `tweak`.
    fn connecting(tweak: impl Fn(&mut Config)) -> (Host, Host, crate::tcp::ConnId) {
        let [mut client, mut server] = ["10.0.0.1/24", "10.0.0.2/24"].map(|addr| {
            let mut config = Config::new(addr.parse().unwrap());
            tweak(&mut config);
            Host::new(config)
        });
        let addr = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80);
        server.tcp_listen(addr, None).unwrap();
        let conn = client.tcp_connect(Instant::ZERO, addr).unwrap();
        (client, server, conn)
    }

    /// Moves every packet `from` has to `to` through `inbox`.
    fn carry(from: &mut Host, to: &mut Host, now: Instant, inbox: &mut Inbox) {
        let mut packet = Vec::new();
        while from.transmit(now, &mut packet).is_some() {
            let len = packet.len();
            std::mem::swap(inbox.next_buf().0, &mut packet);
            inbox.keep(len, PacketInfo::PLAIN);
        }
        inbox.deliver(now, to);
    }

    /// Moves every packet `from` has to `to` through `inbox`, asked for in parts. `split`:
    /// they stay in parts, as the in-memory wire carries them; else they are joined as a
    /// device would send them (completing a partial checksum, as the kernel does). Returns
    /// how many came in parts, and how many were over 1,000 bytes.
    fn carry_parts(
        (from, to): (&mut Host, &mut Host),
        now: Instant,
        inbox: &mut Inbox,
        split: bool,
    ) -> (usize, usize) {
        let (mut packet, mut parted, mut long) = (Vec::new(), 0, 0);
        while let Some(transmit) = from.transmit_parts(now, &mut packet) {
            let info = transmit.info;
            parted += usize::from(!transmit.tail.is_empty());
            long += usize::from(packet.len() + transmit.tail.len() > 1000);
            let (buf, tail) = inbox.next_buf();
            if split {
                *tail = transmit.tail;
            } else {
                transmit.tail.append_to(&mut packet);
                if let crate::device::offload::Checksum::Partial { start, offset } = info.checksum {
                    let complete = crate::device::offload::complete_checksum;
                    assert!(complete(&mut packet, start, offset));
                }
            }
            let len = packet.len();
            std::mem::swap(buf, &mut packet);
            // A super-packet goes up whole, as a device with offloads gives it.
            inbox.keep(len, info);
        }
        inbox.deliver(now, to);
        (parted, long)
    }

    #[test]
    fn packets_in_parts_reach_the_peer_joined_or_split() {
        use crate::device::Offloads;
        let cases = [Offloads::NONE, Offloads::ALL].map(|o| [(o, false), (o, true)]);
        for (offloads, split) in cases.into_iter().flatten() {
            // Segments of more than a few kilobytes go in parts (smaller ones are copied).
            let (mut client, mut server, conn) = connecting(|config| {
                config.offloads = offloads;
                config.mtu = 9000;
            });
            let mut cx = Context::from_waker(Waker::noop());
            let now = Instant::ZERO;
            let (mut to_server, mut to_client) = (Inbox::default(), Inbox::default());
            for _ in 0..2 {
                carry_parts((&mut client, &mut server), now, &mut to_server, split);
                carry_parts((&mut server, &mut client), now, &mut to_client, split);
            }
            let Poll::Ready(Ok((accepted, _))) = server.tcp_poll_accept(&mut cx, 80) else {
                panic!("the handshake completed");
            };
            let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
            let (mut written, mut got, mut parted, mut long) = (0, Vec::new(), 0, 0);
            for _ in 0..200 {
                if let Poll::Ready(Ok(n)) = client.tcp_poll_write(&mut cx, conn, &data[written..]) {
                    written += n;
                }
                let (p, l) = carry_parts((&mut client, &mut server), now, &mut to_server, split);
                (parted, long) = (parted + p, long + l);
                let mut chunk = [0; 8192];
                while let Poll::Ready(Ok(n @ 1..)) =
                    server.tcp_poll_read(&mut cx, accepted, &mut chunk)
                {
                    got.extend_from_slice(&chunk[..n]);
                }
                carry_parts((&mut server, &mut client), now, &mut to_client, split);
            }
            let case = format!("{offloads:?}, split: {split}");
            assert_eq!(got.len(), data.len(), "{case}");
            assert!(got == data, "the bytes arrive whole and in order ({case})");
            // Only a segment across three of the send buffer's chunks is copied.
            assert!(
                parted * 4 >= long * 3 && parted >= 4,
                "most data segments came in parts: {parted} of {long} ({case})"
            );
            assert_eq!(server.stats().tcp.dropped.total(), 0, "no checksum failed");
        }
    }

    #[test]
    fn tcp_keeps_the_buffers_of_long_packets_and_leaves_the_short_ones() {
        let (mut client, mut server, conn) = connecting(|config| config.mtu = 65535);
        let mut cx = Context::from_waker(Waker::noop());
        let now = Instant::ZERO;
        let (mut to_server, mut to_client) = (Inbox::default(), Inbox::default());
        carry(&mut client, &mut server, now, &mut to_server);
        carry(&mut server, &mut client, now, &mut to_client);
        carry(&mut client, &mut server, now, &mut to_server);
        let Poll::Ready(Ok((accepted, _))) = server.tcp_poll_accept(&mut cx, 80) else {
            panic!("the handshake completed");
        };
        assert!(
            to_server.bufs.iter().all(|buf| buf.capacity() > 0),
            "the handshake's packets are short: their buffers stay"
        );
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let Poll::Ready(Ok(written)) = client.tcp_poll_write(&mut cx, conn, &data) else {
            panic!("written");
        };
        assert_eq!(written, data.len());
        carry(&mut client, &mut server, now, &mut to_server);
        let kept = to_server
            .bufs
            .iter()
            .filter(|buf| buf.capacity() == 0)
            .count();
        assert!(kept >= 1, "a 64 KiB segment's buffer is kept by TCP");
        let (mut got, mut read) = (vec![0; data.len()], 0);
        for _ in 0..10 {
            while let Poll::Ready(Ok(n @ 1..)) =
                server.tcp_poll_read(&mut cx, accepted, &mut got[read..])
            {
                read += n;
            }
            carry(&mut server, &mut client, now, &mut to_client);
            carry(&mut client, &mut server, now, &mut to_server);
        }
        assert_eq!(read, data.len());
        assert!(got == data, "the kept bytes read back in order");
    }
}
