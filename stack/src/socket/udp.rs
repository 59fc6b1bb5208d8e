//! [`UdpSocket`]: datagrams, shaped like `tokio::net::UdpSocket`.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use tokio::io::ReadBuf;

use super::ToSocketAddr;
use crate::Stack;

/// A UDP socket on a [`Stack`].
///
/// Once the stack has stopped ([`Stack::stopped`]), every send and receive returns its error.
///
/// As in the course's UDP server there is no `accept` and no connection: each `recv_from` may
/// bring a datagram from a different sender, and `send_to` names the receiver every time.
/// `connect` only fixes a default peer (and filters what is received).
///
/// ```no_run
/// # async fn demo(stack: tunstack::Stack) -> std::io::Result<()> {
/// use tunstack::UdpSocket;
///
/// // The course's UDP server, on our stack.
/// let server = UdpSocket::bind(&stack, "0.0.0.0:9001").await?;
/// let mut buf = [0u8; 4096];
/// let (n, sender) = server.recv_from(&mut buf).await?;
/// println!("Got datagram from {sender}: {}", String::from_utf8_lossy(&buf[..n]));
/// server.send_to(b"Got your datagram!", sender).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    pub(super) stack: Stack,
    pub(super) handle: usize,
}

impl UdpSocket {
    /// Binds a socket to `addr` on `stack`. Port 0 picks a random free port from the ephemeral
    /// range 49152–65535; the address must be one of the stack's own, `0.0.0.0` (IPv4 only) or
    /// `[::]` (IPv6 and IPv4; IPv4 peers then show as `[::ffff:a.b.c.d]`, as on Linux).
    ///
    /// Errors: `AddrInUse` when the port is taken, `AddrNotAvailable` for another address,
    /// `NetworkUnreachable` for an IPv6 address on a stack without IPv6.
    pub async fn bind(stack: &Stack, addr: impl ToSocketAddr) -> io::Result<UdpSocket> {
        Self::bind_with(stack, addr.to_socket_addr()?, false)
    }

    /// Binds to `[::]` (or another IPv6 address) for IPv6 peers only (`IPV6_V6ONLY`).
    pub async fn bind_v6_only(stack: &Stack, addr: impl ToSocketAddr) -> io::Result<UdpSocket> {
        Self::bind_with(stack, addr.to_socket_addr()?, true)
    }

    fn bind_with(stack: &Stack, addr: SocketAddr, v6_only: bool) -> io::Result<UdpSocket> {
        let handle = stack
            .shared()
            .lock_running()?
            .udp_bind_with(addr, v6_only)?;
        Ok(UdpSocket {
            stack: stack.clone(),
            handle,
        })
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stack.shared().lock().udp_local_addr(self.handle)
    }

    /// The peer given to [`UdpSocket::connect`]; `NotConnected` before that.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stack.shared().lock().udp_peer_addr(self.handle)
    }

    /// Sets the default peer: `send` goes there, and only its datagrams are received. An ICMP
    /// port unreachable from it makes the next receive fail with `ConnectionRefused`.
    pub async fn connect(&self, addr: impl ToSocketAddr) -> io::Result<()> {
        let addr = addr.to_socket_addr()?;
        self.stack
            .shared()
            .lock_running()?
            .udp_connect(self.handle, addr)
    }

    /// Sends one datagram to `target`; returns the bytes sent (all of `buf`).
    ///
    /// A datagram larger than the path's MTU allows (1472 bytes of payload on MTU 1500 over
    /// IPv4) goes in fragments; one larger than UDP carries (65,507 bytes of payload over IPv4,
    /// 65,527 over IPv6) is an `InvalidInput` error. Waits only when the stack's output queue has no room for it.
    ///
    /// Cancel safety: cancel safe; a cancelled send sent nothing.
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddr) -> io::Result<usize> {
        let target = target.to_socket_addr()?;
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// Cancel safety: cancel safe.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let peer = self.peer_addr()?;
        self.send_to(buf, peer).await
    }

    /// Receives one datagram; returns its length and its sender. A datagram longer than `buf`
    /// is cut to fit and the rest discarded.
    ///
    /// Cancel safety: cancel safe; no datagram is lost if the future is dropped.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| {
            let mut read = ReadBuf::new(buf);
            self.poll_recv_from(cx, &mut read)
                .map_ok(|from| (read.filled().len(), from))
        })
        .await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// Cancel safety: cancel safe.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    /// Sets `IP_TTL`, as `tokio::net::UdpSocket::set_ttl`: the Time to Live of every datagram
    /// this socket sends from now on, instead of the stack's default (64 unless configured).
    ///
    /// Errors: `InvalidInput` for 0 or more than 255.
    ///
    /// ```no_run
    /// # async fn demo(socket: tunstack::UdpSocket) -> std::io::Result<()> {
    /// socket.set_ttl(1)?; // no router forwards it: the local network only
    /// # Ok(()) }
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = super::ttl_byte(ttl)?;
        self.stack
            .shared()
            .lock()
            .udp_set_ttl(self.handle, Some(ttl))
    }

    /// `IP_TTL`: the TTL of the datagrams this socket sends, as `tokio::net::UdpSocket::ttl`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.stack
            .shared()
            .lock()
            .udp_ttl(self.handle)
            .map(u32::from)
    }

    /// Polls to send one datagram to `target`, as `tokio::net::UdpSocket::poll_send_to`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        let target = target.to_socket_addr()?;
        let shared = self.stack.shared();
        let sent = shared
            .lock_running()?
            .udp_poll_send_to(cx, self.handle, buf, target);
        if let Poll::Ready(Ok(_)) = sent {
            shared.kick();
        }
        sent
    }

    /// Polls to receive one datagram into `buf`, as `tokio::net::UdpSocket::poll_recv_from`.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let mut host = self.stack.shared().lock_running()?;
        let unfilled = buf.initialize_unfilled();
        match host.udp_poll_recv_from(cx, self.handle, unfilled) {
            Poll::Ready(Ok((n, from))) => {
                buf.advance(n);
                Poll::Ready(Ok(from))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for UdpSocket {
    /// Closes the socket: the port is free again, and datagrams for it are answered with ICMP
    /// port unreachable.
    fn drop(&mut self) {
        self.stack.shared().lock().udp_close(self.handle);
    }
}
