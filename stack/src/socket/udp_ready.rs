//! Readiness, non-blocking calls and peeking on a [`UdpSocket`], as
//! `tokio::net::UdpSocket` has them: `readable`, `writable`, `try_send_to`, `try_send`,
//! `try_recv_from`, `try_recv`, `peek_from`.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};

use tokio::io::ReadBuf;

use super::udp::UdpSocket;

/// The answer of a `try_` call: `Pending` becomes `WouldBlock`.
fn now_or_would_block<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the socket is not ready",
        )),
    }
}

impl UdpSocket {
    /// Waits until a receive would not wait: a datagram is queued, or an error (an ICMP
    /// unreachable for a connected socket) is pending. As `tokio::net::UdpSocket::readable`;
    /// usually followed by [`UdpSocket::try_recv_from`].
    ///
    /// Cancel safety: cancel safe; it only waits.
    ///
    /// ```no_run
    /// # async fn demo(socket: tunstack::UdpSocket) -> std::io::Result<()> {
    /// let mut buf = [0u8; 1500];
    /// socket.readable().await?;
    /// match socket.try_recv_from(&mut buf) {
    ///     Ok((n, from)) => println!("{n} bytes from {from}"),
    ///     Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| {
            self.stack
                .shared()
                .lock_running()?
                .udp_poll_recv_ready(cx, self.handle)
        })
        .await
    }

    /// Waits until a send would not wait: the stack's output queue has room. As
    /// `tokio::net::UdpSocket::writable`.
    ///
    /// Cancel safety: cancel safe; it only waits.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.stack.shared().lock_running()?.udp_poll_send_ready(cx)).await
    }

    /// Sends one datagram to `target` without waiting, as
    /// `tokio::net::UdpSocket::try_send_to`: `WouldBlock` when the output queue is full,
    /// otherwise as [`UdpSocket::send_to`].
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let cx = &mut Context::from_waker(Waker::noop());
        now_or_would_block(self.poll_send_to(cx, buf, target))
    }

    /// Sends one datagram to the connected peer without waiting, as
    /// `tokio::net::UdpSocket::try_send`; `NotConnected` before [`UdpSocket::connect`].
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_send_to(buf, self.peer_addr()?)
    }

    /// Receives one datagram without waiting, as `tokio::net::UdpSocket::try_recv_from`:
    /// `WouldBlock` when none is queued, otherwise as [`UdpSocket::recv_from`].
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let cx = &mut Context::from_waker(Waker::noop());
        let mut read = ReadBuf::new(buf);
        let from = now_or_would_block(self.poll_recv_from(cx, &mut read))?;
        Ok((read.filled().len(), from))
    }

    /// Receives one datagram from the connected peer without waiting, as
    /// `tokio::net::UdpSocket::try_recv`.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_recv_from(buf).map(|(n, _)| n)
    }

    /// Waits for a datagram and copies it into `buf` without taking it from the queue: the
    /// next receive returns it again. As `tokio::net::UdpSocket::peek_from` (`MSG_PEEK`):
    /// returns its length (cut to `buf`) and its sender.
    ///
    /// Cancel safety: cancel safe; nothing is taken from the queue.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| {
            self.stack
                .shared()
                .lock_running()?
                .udp_poll_peek_from(cx, self.handle, buf)
        })
        .await
    }
}
