//! [`TcpStream`]: a TCP connection, shaped like `tokio::net::TcpStream`.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::ToSocketAddr;
use crate::tcp::{ConnId, ConnInfo};
use crate::{Host, Stack};

mod chunk;
mod ready;
mod urgent;

/// What a stream and its halves share: the stack and the connection's handle. Dropping the last
/// of them closes the connection.
#[derive(Debug)]
struct Inner {
    stack: Stack,
    id: ConnId,
    /// Shows IPv4 addresses IPv4-mapped: the socket is IPv6 (accepted on `[::]`, or
    /// connected to a `::ffff:` address), as on Linux.
    v6_family: bool,
}

impl Inner {
    /// Runs `f` on the core, then wakes the driver if `f` left something to send.
    fn with_host<R>(&self, f: impl FnOnce(&mut Host, ConnId) -> R) -> R {
        self.run_then_kick(self.stack.shared().lock(), f)
    }

    /// Like [`Inner::with_host`], for a call that needs a running stack: the stack's error
    /// instead, once it has stopped.
    fn with_running_host<R>(&self, f: impl FnOnce(&mut Host, ConnId) -> R) -> io::Result<R> {
        Ok(self.run_then_kick(self.stack.shared().lock_running()?, f))
    }

    fn run_then_kick<R>(
        &self,
        mut host: MutexGuard<'_, Host>,
        f: impl FnOnce(&mut Host, ConnId) -> R,
    ) -> R {
        let result = f(&mut host, self.id);
        let kick = host.wants_transmit();
        drop(host);
        if kick {
            self.stack.shared().kick();
        }
        result
    }

    /// Reads into the unfilled part of `buf`, initializing only the bytes it copies.
    ///
    /// `ReadBuf::initialize_unfilled` would zero all of the caller's spare capacity before
    /// every read (64 KiB of zeroes for a 10-byte read into a 64 KiB buffer). Instead the core
    /// says how much is there, `initialize_unfilled_to` makes just that many bytes a safe
    /// `&mut [u8]` (zeroing those of them not yet initialized), and the read fills them all:
    /// the capacity past them is never written. No `unsafe` needed.
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        self.with_running_host(|host, id| {
            let available = std::task::ready!(host.tcp_poll_read_ready(cx, id))?;
            if available == 0 {
                return Poll::Ready(Ok(())); // the end of the peer's stream
            }
            let out = buf.initialize_unfilled_to(available.min(buf.remaining()));
            let n = std::task::ready!(host.tcp_poll_read(cx, id, out))?;
            buf.advance(n);
            Poll::Ready(Ok(()))
        })?
    }

    fn poll_write(&self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.with_running_host(|host, id| host.tcp_poll_write(cx, id, data))?
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.with_running_host(|host, id| host.tcp_poll_write_vectored(cx, id, bufs))?
    }

    fn shutdown(&self) -> io::Result<()> {
        self.with_running_host(|host, id| host.tcp_shutdown(id))?
    }
}

impl Drop for Inner {
    /// Closes the connection: FIN after the buffered data, and the stack finishes the close in
    /// the background (a reset instead if received data was never read, or with linger 0:
    /// [`TcpStream::set_linger`]).
    fn drop(&mut self) {
        self.with_host(|host, id| host.tcp_release(id));
    }
}

/// A TCP connection on a [`Stack`]: a reliable, ordered byte stream.
///
/// Read and write it with tokio's `AsyncReadExt` / `AsyncWriteExt`, or hand it to anything that
/// takes an `AsyncRead + AsyncWrite` (hyper, tokio-util codecs). TCP keeps no message
/// boundaries: two writes may arrive as one read, or one write as several.
///
/// ```no_run
/// # async fn demo(stack: tunstack::Stack) -> std::io::Result<()> {
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use tunstack::TcpStream;
///
/// // The course's client: connect() is where SYN, SYN-ACK, ACK happen.
/// let mut stream = TcpStream::connect(&stack, "10.77.0.1:9000").await?;
/// stream.write_all(b"Hello from the client!").await?;
/// let mut buf = [0u8; 1024];
/// let n = stream.read(&mut buf).await?;
/// println!("Server said: {}", String::from_utf8_lossy(&buf[..n]));
/// println!("My ephemeral port was: {}", stream.local_addr()?.port());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TcpStream {
    inner: Arc<Inner>,
}

impl TcpStream {
    pub(crate) fn from_accepted(stack: Stack, id: ConnId, v6_family: bool) -> TcpStream {
        TcpStream {
            inner: Arc::new(Inner {
                stack,
                id,
                v6_family,
            }),
        }
    }

    /// `addr` as this socket shows it.
    fn show(&self, addr: SocketAddr) -> SocketAddr {
        match addr {
            SocketAddr::V4(v4) if self.inner.v6_family => {
                SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port())
            }
            other => other,
        }
    }

    /// Opens a connection to `addr`: the three-way handshake, from a random ephemeral port.
    ///
    /// Errors: `ConnectionRefused` when the peer answers with a reset (nothing listens there),
    /// `TimedOut` when no SYN-ACK comes after every retransmission of the SYN, the stack's
    /// error once it has stopped ([`Stack::stopped`]).
    ///
    /// Cancel safety: dropping the future abandons the attempt.
    pub async fn connect(stack: &Stack, addr: impl ToSocketAddr) -> io::Result<TcpStream> {
        let remote = addr.to_socket_addr()?;
        let shared = stack.shared();
        let id = shared.lock_running()?.tcp_connect(shared.now(), remote)?;
        shared.kick();
        let stream = TcpStream::from_accepted(stack.clone(), id, remote.is_ipv6());
        poll_fn(|cx| {
            stream
                .inner
                .with_running_host(|host, id| host.tcp_poll_established(cx, id))?
        })
        .await?;
        Ok(stream)
    }

    /// Our address and (ephemeral, for a client) port.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.show(self.info()?.quad.local))
    }

    /// The peer's address and port.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.show(self.info()?.quad.remote))
    }

    /// Turns Nagle's algorithm off (`true`: small writes go at once) or on (the default: a
    /// small segment waits while an earlier small one is unacknowledged, so that small writes
    /// are merged; Minshall's version of the rule, as Linux's).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner
            .with_host(|host, id| host.tcp_set_nodelay(id, nodelay))
    }

    /// Chooses the congestion control algorithm from now on (the window and threshold carry
    /// over): [`Algorithm::Cubic`](crate::tcp::Algorithm::Cubic), the default, or
    /// [`Algorithm::NewReno`](crate::tcp::Algorithm::NewReno). Like Linux's
    /// `TCP_CONGESTION` socket option.
    pub fn set_congestion_control(&self, algorithm: crate::tcp::Algorithm) -> io::Result<()> {
        self.inner
            .with_host(|host, id| host.tcp_set_congestion(id, algorithm))
    }

    /// Sets how long the ACK of a lone segment may wait for a second segment, or for data to
    /// carry it (delayed ACK; at most 200 ms, RFC 9293 3.8.6.3). `None` acknowledges every
    /// segment at once, like Linux's `TCP_QUICKACK`.
    pub fn set_delayed_ack(&self, delay: Option<std::time::Duration>) -> io::Result<()> {
        let delay = delay.map(|d| d.min(std::time::Duration::from_millis(200)));
        self.inner
            .with_host(|host, id| host.tcp_set_delayed_ack(id, delay))
    }

    /// Turns keep-alive probes on, with these settings, or off (`None`, the default): after
    /// `idle` without a segment from the peer, probes ask whether it is still there, and the
    /// connection fails with `TimedOut` when `probes` of them go unanswered (RFC 9293 3.8.4).
    /// Like `SO_KEEPALIVE` with `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and `TCP_KEEPCNT` on Linux.
    pub fn set_keepalive(&self, keepalive: Option<crate::tcp::KeepAlive>) -> io::Result<()> {
        self.inner
            .with_host(|host, id| host.tcp_set_keepalive(id, keepalive))
    }

    /// The keep-alive settings, `None` when off.
    pub fn keepalive(&self) -> io::Result<Option<crate::tcp::KeepAlive>> {
        self.inner.with_host(|host, id| host.tcp_keepalive(id))
    }

    /// Sets how long sent data may wait for an acknowledgment (or for a closed window to
    /// open) before the connection fails with `TimedOut`, however many retransmissions that
    /// allows (RFC 9293 3.8.3; Linux's `TCP_USER_TIMEOUT`). `None`, the default: the retry
    /// limit alone decides.
    pub fn set_user_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.inner
            .with_host(|host, id| host.tcp_set_user_timeout(id, timeout))
    }

    /// The user timeout, `None` when unset.
    pub fn user_timeout(&self) -> io::Result<Option<std::time::Duration>> {
        self.inner.with_host(|host, id| host.tcp_user_timeout(id))
    }

    /// Sets `SO_LINGER`, as `tokio::net::TcpStream::set_linger`: what dropping the stream
    /// (its last handle) does with data not yet delivered.
    ///
    /// - `None`, the default: the close is graceful and happens in the background. Buffered
    ///   data goes out, then a FIN; the drop returns at once. (A stream dropped with received
    ///   data unread is reset, whatever the linger: RFC 2525 2.17, as Linux does.)
    /// - `Some(Duration::ZERO)`: the close is an abort (RFC 9293 3.10.5 ABORT, as on Linux):
    ///   a RST goes to the peer, unsent data is discarded, and the peer's next read or write
    ///   fails with `ConnectionReset`. No TIME-WAIT is left behind.
    /// - `Some(t)`, `t > 0`: the same graceful background close as `None`. On Linux this value
    ///   makes `close()` block for up to `t` while the data drains, and the kernel goes on
    ///   delivering it after that; a drop here never blocks, so only the going on is left.
    ///   The value is kept, and [`TcpStream::linger`] returns it.
    ///
    /// [`TcpStream::abort`] resets at once, whatever the linger. Shutting down writing
    /// ([`AsyncWriteExt::shutdown`](tokio::io::AsyncWriteExt::shutdown), dropping an
    /// [`OwnedWriteHalf`]) is not a close: it always sends a FIN.
    ///
    /// ```no_run
    /// # async fn demo(stream: tunstack::TcpStream) -> std::io::Result<()> {
    /// use std::time::Duration;
    ///
    /// stream.set_linger(Some(Duration::ZERO))?;
    /// drop(stream); // the peer sees a RST
    /// # Ok(()) }
    /// ```
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        self.inner
            .with_host(|host, id| host.tcp_set_linger(id, linger))
    }

    /// `SO_LINGER`: the value given to [`TcpStream::set_linger`], `None` by default.
    pub fn linger(&self) -> io::Result<Option<std::time::Duration>> {
        self.inner.with_host(|host, id| host.tcp_linger(id))
    }

    /// Sets `IP_TTL`, as `tokio::net::TcpStream::set_ttl`: the Time to Live of every packet
    /// this connection sends from now on (data, ACKs, FIN), instead of the stack's default
    /// ([`Config`](crate::Config)'s, 64 unless changed). Each router on the way takes one off,
    /// and the one that takes it to 0 drops the packet.
    ///
    /// Errors: `InvalidInput` for 0 or more than 255 (the header has one byte for it).
    ///
    /// ```no_run
    /// # async fn demo(stream: tunstack::TcpStream) -> std::io::Result<()> {
    /// stream.set_ttl(7)?;
    /// assert_eq!(stream.ttl()?, 7);
    /// # Ok(()) }
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = super::ttl_byte(ttl)?;
        self.inner
            .with_host(|host, id| host.tcp_set_ttl(id, Some(ttl)))
    }

    /// `IP_TTL`: the TTL of the packets this connection sends, as `tokio::net::TcpStream::ttl`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner
            .with_host(|host, id| host.tcp_ttl(id))
            .map(u32::from)
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.with_host(|host, id| host.tcp_nodelay(id))
    }

    /// A snapshot of the connection: state, RTT estimate, windows, counters.
    pub fn info(&self) -> io::Result<ConnInfo> {
        self.inner.with_host(|host, id| host.tcp_info(id))
    }

    /// Closes at once with a reset instead of a FIN (as `SO_LINGER` 0 does): unsent data is
    /// discarded and the peer sees `ConnectionReset`.
    pub fn abort(self) {
        self.inner.with_host(|host, id| host.tcp_abort(id));
    }

    /// Borrows the stream as a read half and a write half, usable from two tasks' code at once.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(&self.inner), WriteHalf(&self.inner))
    }

    /// Splits the stream into halves that own it, to move into separate tasks. Dropping the
    /// write half shuts down writing; dropping both closes the connection.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf(self.inner.clone()),
            OwnedWriteHalf(self.inner),
        )
    }
}

impl AsyncRead for TcpStream {
    /// Reads what has arrived in order; 0 bytes once the peer has closed (its FIN) and
    /// everything before it was read. A read stops at the urgent mark, when urgent data is
    /// ahead ([`TcpStream::urgent_mark`]): it never returns bytes from both sides of it.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.inner.poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    /// Copies into the send buffer; waits while it is full (the peer reads slower than we
    /// write, or the network is slow): backpressure.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }

    /// A gathered write (`writev`): as many of `bufs`, in order, as the send buffer takes
    /// now; a slice that does not fit whole ends the write with its first part. Waits only
    /// when nothing fits. hyper writes its headers and body this way.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, bufs)
    }

    /// `true`: [`TcpStream::poll_write_vectored`] takes several slices in one call.
    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Nothing to do: written data is in the stack's hands, as with tokio's `TcpStream`.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down writing: a FIN follows the buffered data. Reading goes on (a half-close).
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.inner.shutdown())
    }
}

/// The read half of a borrowed [`TcpStream`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a Inner);

/// The write half of a borrowed [`TcpStream`].
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a Inner);

/// The read half of a [`TcpStream`], owned.
#[derive(Debug)]
pub struct OwnedReadHalf(Arc<Inner>);

/// The write half of a [`TcpStream`], owned; dropping it shuts down writing.
#[derive(Debug)]
pub struct OwnedWriteHalf(Arc<Inner>);

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        // As tokio's does: the peer reads end-of-stream.
        let _ = self.0.shutdown();
    }
}

macro_rules! read_half {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                self.0.poll_read(cx, buf)
            }
        }
    };
}

macro_rules! write_half {
    ($t:ty) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.0.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.0.poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.0.shutdown())
            }
        }
    };
}

read_half!(ReadHalf<'_>);
read_half!(OwnedReadHalf);
write_half!(WriteHalf<'_>);
write_half!(OwnedWriteHalf);
