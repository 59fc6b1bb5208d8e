//! Devices: where packets and frames leave the stack and where they come in.
//!
//! A [`Device`] moves bytes; it knows nothing of what is inside them, except which *medium* it
//! carries ([`Medium`]): bare IP packets (a TUN device) or Ethernet frames (a TAP device, a wire
//! with MAC addresses). What to do with a medium is the link layer's business, in the core
//! ([`crate::link`]): with Ethernet, the host wraps each packet in a frame for the next hop's MAC
//! address, found by ARP; with bare IP it does not. These devices make up every setup in this
//! project, and they compose:
//!
//! - [`tun::TunDevice`]: a Linux TUN (bare IP) or TAP (Ethernet) device, so the kernel (ping,
//!   curl, nc, a browser) is the peer;
//! - [`memory::MemoryDevice`]: one end of an in-memory wire between two stacks in one process,
//!   carrying either medium;
//! - [`capture::Capture`]: wraps any device and writes everything that passes to a pcapng file
//!   that Wireshark opens, with the link type of its medium;
//! - [`impair::Impair`]: wraps any device and makes it lose, duplicate, reorder, corrupt, delay
//!   and throttle packets, on purpose and reproducibly.
//!
//! [`netns`] helps tests and demos put a TUN or TAP device in a network namespace of its own.
//!
//! A device is polled, like tokio's I/O types: `poll_recv` and `poll_send` return `Pending` and
//! keep the task's waker when they cannot make progress. The driver task is the only caller.

use std::io;
use std::task::{Context, Poll};

pub mod capture;
pub mod impair;
mod iproute;
pub mod memory;
pub mod netns;
pub mod offload;
mod tail;
#[cfg(test)]
pub(crate) mod testing;
pub mod tun;

pub use capture::Capture;
pub use impair::Impair;
pub use memory::{MemoryConfig, MemoryDevice, MemoryStats, MemoryStatsHandle};
pub use offload::{Offloads, PacketInfo};
pub use tail::Tail;

pub use tun::TunDevice;

/// What a device carries: bare IP packets or Ethernet frames.
///
/// smoltcp's `Medium` and the pcap link types make the same distinction: a TUN device and a
/// pcapng file of link type "raw IP" hold IP packets that start with the IP header; a TAP
/// device and a capture of link type Ethernet hold frames that start with two MAC addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Medium {
    /// Bare IP packets, as on a TUN device: no link-layer header, no addresses below IP's.
    #[default]
    Ip,
    /// Ethernet II frames, as on a TAP device: a 14-byte header with MAC addresses in front
    /// of each packet ([`crate::link::ethernet`]), and ARP to find those addresses.
    Ethernet,
}

impl Medium {
    /// How many bytes this medium puts in front of each IP packet: 0, or the 14 bytes of an
    /// Ethernet header.
    pub const fn header_len(self) -> usize {
        match self {
            Medium::Ip => 0,
            Medium::Ethernet => 14,
        }
    }
}

/// A device that carries packets or frames: the bottom of the stack.
///
/// # Errors
///
/// What an error from `poll_recv` or `poll_send` means to the stack depends on its kind:
///
/// - [`io::ErrorKind::NetworkDown`]: the device itself is gone (a deleted TUN device). The stack
///   stops, and every socket call returns an error saying so ([`crate::Stack::stopped`]).
/// - [`io::ErrorKind::BrokenPipe`], [`io::ErrorKind::NotConnected`],
///   [`io::ErrorKind::UnexpectedEof`]: that direction is closed for good (the other end of the
///   wire is gone). The stack goes on without it, so its timers still run: a connect times out
///   rather than hangs, as when a cable is pulled.
/// - anything else: this packet failed, the next may pass. A failed send loses its packet; a
///   failed receive is tried again after a pause that grows with each failure in a row, and a
///   long run of them is taken as the device gone.
pub trait Device: Send + 'static {
    /// The largest IP packet (header included) this device carries, in bytes: the MTU, as
    /// `ip link` shows it. A frame on an Ethernet device is [`Medium::header_len`] bytes more.
    fn mtu(&self) -> usize;

    /// What this device carries. Bare IP unless the device says otherwise.
    fn medium(&self) -> Medium {
        Medium::Ip
    }

    /// Receives one packet into `buf` and returns its length.
    ///
    /// `buf` holds at least [`Device::mtu`] bytes plus the medium's header
    /// ([`Medium::header_len`]). Returns `Pending` (keeping `cx`'s waker) when no
    /// packet is waiting.
    fn poll_recv(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Sends one packet.
    ///
    /// `comment` says why the stack sent it, when that is worth telling (e.g. "retransmission #2
    /// after RTO 400 ms"); links that record packets keep it, the others ignore it. Returns
    /// `Pending` (keeping `cx`'s waker) when the link cannot take the packet yet.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        comment: Option<&str>,
    ) -> Poll<io::Result<()>>;

    /// Whether this link records the comments passed to [`Device::poll_send`] (a capture does).
    /// The driver words a packet's [`Reason`](crate::link::Reason) only for devices that do.
    fn records_comments(&self) -> bool {
        false
    }

    /// The jobs this device does for the stack ([`offload`]): none unless it says otherwise.
    /// With [`Offloads::tso`], a receive buffer holds [`offload::MAX_SUPER_PACKET`] bytes.
    fn offloads(&self) -> Offloads {
        Offloads::NONE
    }

    /// Receives one packet, like [`Device::poll_recv`], with what the device says about it
    /// ([`PacketInfo`]: a super-packet, a checksum it vouches for). A device without offloads
    /// says nothing: [`PacketInfo::PLAIN`].
    fn poll_recv_info(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        self.poll_recv(cx, buf)
            .map_ok(|len| (len, PacketInfo::PLAIN))
    }

    /// Sends one packet, like [`Device::poll_send`], with what the device is to do for it
    /// ([`PacketInfo`]: complete its checksum, cut it into segments). The stack asks only for
    /// the [`Device::offloads`] the device has, so a device without offloads is only ever
    /// given [`PacketInfo::PLAIN`], and need not implement this.
    fn poll_send_info(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        debug_assert_eq!(
            *info,
            PacketInfo::PLAIN,
            "an offload the device does not do"
        );
        self.poll_send(cx, packet, comment)
    }

    /// Receives one packet into `buf`'s first bytes, with what the device says about it, like
    /// [`Device::poll_recv_info`], but a device that holds its packets in buffers of its own
    /// may hand one over instead of copying it: it swaps its buffer for `buf` (and keeps that
    /// one for a later packet), and `buf` then holds just the packet. The driver calls this
    /// one.
    ///
    /// The default makes `buf` as long as the largest packet the device hands over
    /// (zero-filled the first time only, as the driver reuses its buffers) and calls
    /// [`Device::poll_recv_info`].
    fn poll_recv_owned(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        let largest = self
            .offloads()
            .largest_packet(self.mtu(), self.medium().header_len());
        if buf.len() < largest {
            buf.resize(largest, 0);
        }
        self.poll_recv_info(cx, buf)
    }

    /// Sends the packet `packet` holds, like [`Device::poll_send_info`], but a device that
    /// queues packets in buffers of its own may take `packet`'s buffer instead of copying it,
    /// and leave an empty buffer of its own in its place for the driver to build another packet
    /// in. The driver calls this one; what `packet` holds afterwards is no longer the packet.
    ///
    /// The default calls [`Device::poll_send_info`] and leaves `packet` as it was.
    fn poll_send_owned(
        &mut self,
        cx: &mut Context<'_>,
        packet: &mut Vec<u8>,
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        self.poll_send_info(cx, packet, info, comment)
    }

    /// Receives one packet like [`Device::poll_recv_owned`], but a packet its sender gave in
    /// parts ([`Device::poll_send_parts`]) may come in those parts: `buf`'s first bytes (the
    /// length returned), then the pieces of `tail`, which stay empty for a packet in one
    /// piece. The driver calls this one.
    ///
    /// The default calls [`Device::poll_recv_owned`]: every packet comes whole.
    fn poll_recv_parts(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
        _tail: &mut Tail,
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        self.poll_recv_owned(cx, buf)
    }

    /// Whether the device sends a packet given in two parts, its headers and its data
    /// ([`Device::poll_send_parts`]), without joining them first. The driver then asks the
    /// core for packets whose TCP data stays in the send buffer
    /// ([`Host::transmit_parts`](crate::Host::transmit_parts)), one copy fewer per byte.
    fn sends_parts(&self) -> bool {
        false
    }

    /// Sends the packet that `head` followed by the pieces of `tail` make, like
    /// [`Device::poll_send_owned`]. The driver calls it only on a device that
    /// [`Device::sends_parts`].
    ///
    /// The default joins them in `head` (a copy) and calls [`Device::poll_send_owned`].
    fn poll_send_parts(
        &mut self,
        cx: &mut Context<'_>,
        head: &mut Vec<u8>,
        tail: &Tail,
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        let len = head.len();
        tail.append_to(head);
        let sent = self.poll_send_owned(cx, head, info, comment);
        if sent.is_pending() {
            // Asked again later with the same parts.
            head.truncate(len);
        }
        sent
    }
}

impl<L: Device + ?Sized> Device for Box<L> {
    fn mtu(&self) -> usize {
        (**self).mtu()
    }

    fn medium(&self) -> Medium {
        (**self).medium()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        (**self).poll_recv(cx, buf)
    }

    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        (**self).poll_send(cx, packet, comment)
    }

    fn records_comments(&self) -> bool {
        (**self).records_comments()
    }

    fn offloads(&self) -> Offloads {
        (**self).offloads()
    }

    fn poll_recv_info(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        (**self).poll_recv_info(cx, buf)
    }

    fn poll_send_info(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        (**self).poll_send_info(cx, packet, info, comment)
    }

    fn poll_recv_owned(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        (**self).poll_recv_owned(cx, buf)
    }

    fn poll_send_owned(
        &mut self,
        cx: &mut Context<'_>,
        packet: &mut Vec<u8>,
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        (**self).poll_send_owned(cx, packet, info, comment)
    }

    fn poll_recv_parts(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
        tail: &mut Tail,
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        (**self).poll_recv_parts(cx, buf, tail)
    }

    fn sends_parts(&self) -> bool {
        (**self).sends_parts()
    }

    fn poll_send_parts(
        &mut self,
        cx: &mut Context<'_>,
        head: &mut Vec<u8>,
        tail: &Tail,
        info: &PacketInfo,
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        (**self).poll_send_parts(cx, head, tail, info, comment)
    }
}

/// Errors after which a link will never work again in that direction (see [`Device`]'s errors).
pub(crate) fn is_fatal(err: &io::Error) -> bool {
    is_gone(err)
        || matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::NotConnected | io::ErrorKind::UnexpectedEof
        )
}

/// Errors that say the device itself is gone: the stack stops.
pub(crate) fn is_gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NetworkDown
}
