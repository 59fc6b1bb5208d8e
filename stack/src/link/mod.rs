//! The link layer: where IP packets leave the stack and where they come in.
//!
//! A [`Link`] moves whole IP packets; it knows nothing of what is inside them. Four links make
//! up every setup in this project, and they compose:
//!
//! - [`tun::TunLink`]: a Linux TUN device, so the kernel (ping, curl, nc, a browser) is the peer;
//! - [`memory::MemoryLink`]: one end of an in-memory wire between two stacks in one process;
//! - [`capture::Capture`]: wraps any link and writes every packet that passes to a pcapng file
//!   that Wireshark opens;
//! - [`impair::Impair`]: wraps any link and makes it lose, duplicate, reorder, corrupt, delay
//!   and throttle packets, on purpose and reproducibly.
//!
//! [`netns`] helps tests and demos put a TUN device in a network namespace of its own.
//!
//! A link is polled, like tokio's I/O types: `poll_recv` and `poll_send` return `Pending` and
//! keep the task's waker when they cannot make progress. The driver task is the only caller.

use std::io;
use std::task::{Context, Poll};

pub mod arp;
pub mod capture;
pub mod ethernet;
pub mod impair;
mod iproute;
pub mod memory;
pub mod netns;
mod reason;
#[cfg(test)]
mod testing;
pub mod tun;

pub use capture::Capture;
pub use impair::Impair;
pub use memory::{MemoryConfig, MemoryLink, MemoryStats, MemoryStatsHandle};
pub use reason::Reason;
pub use tun::TunLink;

/// A device that carries IP packets: the bottom of the stack.
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
pub trait Link: Send + 'static {
    /// The largest IP packet (header included) this link carries, in bytes.
    fn mtu(&self) -> usize;

    /// Receives one packet into `buf` and returns its length.
    ///
    /// `buf` holds at least [`Link::mtu`] bytes. Returns `Pending` (keeping `cx`'s waker) when no
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

    /// Whether this link records the comments passed to [`Link::poll_send`] (a capture does).
    /// The driver words a packet's [`Reason`] only for links that do.
    fn records_comments(&self) -> bool {
        false
    }
}

impl<L: Link + ?Sized> Link for Box<L> {
    fn mtu(&self) -> usize {
        (**self).mtu()
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
}

/// Errors after which a link will never work again in that direction (see [`Link`]'s errors).
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
