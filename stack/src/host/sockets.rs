//! What sockets ask of the core: the UDP, TCP and ping calls behind [`crate::socket`].
//!
//! Each call takes the lock's worth of work only: queue, copy, or leave a waker.
//!
//! The TCP calls are public: they are the sockets of a [`Host`] driven without the async
//! shell (see the [module documentation](super)).

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::Host;
use crate::tcp::{ConnId, ConnInfo};
use crate::time::Instant;

impl Host {
    // ----- UDP sockets -----

    /// Binds a UDP socket; see [`crate::UdpSocket::bind`].
    pub(crate) fn udp_bind(&mut self, addr: SocketAddrV4) -> io::Result<usize> {
        let our = self.addr();
        self.udp.bind(addr, our, &mut self.rng)
    }

    /// Closes a UDP socket.
    pub(crate) fn udp_close(&mut self, handle: usize) {
        self.udp.close(handle);
    }

    /// The local address of a UDP socket.
    pub(crate) fn udp_local_addr(&mut self, handle: usize) -> io::Result<SocketAddrV4> {
        let addr = self.addr();
        Ok(SocketAddrV4::new(addr, self.udp.socket(handle)?.local_port))
    }

    /// Connects a UDP socket to `remote`: it then only receives from there.
    pub(crate) fn udp_connect(&mut self, handle: usize, remote: SocketAddrV4) -> io::Result<()> {
        let socket = self.udp.socket(handle)?;
        socket.remote = Some(remote);
        socket.error = None;
        Ok(())
    }

    /// The peer a UDP socket is connected to.
    pub(crate) fn udp_peer_addr(&mut self, handle: usize) -> io::Result<SocketAddrV4> {
        self.udp.socket(handle)?.remote.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "UDP socket is not connected")
        })
    }

    /// Sends one datagram from a UDP socket to `to`.
    pub(crate) fn udp_poll_send_to(
        &mut self,
        cx: &mut Context<'_>,
        handle: usize,
        payload: &[u8],
        to: SocketAddrV4,
    ) -> Poll<io::Result<usize>> {
        let socket = self.udp.socket(handle)?;
        // An error reported since the last call (a connected socket's peer is unreachable)
        // fails this send, as on Linux (`sock_error` in `sock_alloc_send_pskb`).
        if let Some(err) = socket.take_error() {
            return Poll::Ready(Err(err));
        }
        let (local_port, ttl) = (socket.local_port, socket.ttl);
        let (udp, out) = (&mut self.udp, &mut self.out);
        match self
            .ip
            .with_ttl(ttl, |ip| udp.send(ip, out, local_port, to, payload))
        {
            Ok(true) => Poll::Ready(Ok(payload.len())),
            Ok(false) => {
                self.wait_for_room(cx);
                Poll::Pending
            }
            Err(err) => Poll::Ready(Err(err)),
        }
    }

    /// `Ready` when a receive on a UDP socket would not wait.
    pub(crate) fn udp_poll_recv_ready(
        &mut self,
        cx: &mut Context<'_>,
        handle: usize,
    ) -> Poll<io::Result<()>> {
        self.udp.socket(handle)?.poll_recv_ready(cx).map(Ok)
    }

    /// `Ready` when a send would not wait: the output queue has room.
    pub(crate) fn udp_poll_send_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.out.has_room() {
            return Poll::Ready(Ok(()));
        }
        self.wait_for_room(cx);
        Poll::Pending
    }

    /// Copies the oldest datagram of a UDP socket into `buf`, leaving it queued.
    pub(crate) fn udp_poll_peek_from(
        &mut self,
        cx: &mut Context<'_>,
        handle: usize,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddrV4)>> {
        self.udp.socket(handle)?.poll_peek_from(cx, buf)
    }

    /// Sets `IP_TTL` on a UDP socket (`None`: the host's default).
    pub(crate) fn udp_set_ttl(&mut self, handle: usize, ttl: Option<u8>) -> io::Result<()> {
        self.udp.socket(handle)?.ttl = ttl;
        Ok(())
    }

    /// Reads `IP_TTL` of a UDP socket: its own, or the host's default.
    pub(crate) fn udp_ttl(&mut self, handle: usize) -> io::Result<u8> {
        let default = self.ip.ttl;
        Ok(self.udp.socket(handle)?.ttl.unwrap_or(default))
    }

    /// Receives one datagram on a UDP socket.
    pub(crate) fn udp_poll_recv_from(
        &mut self,
        cx: &mut Context<'_>,
        handle: usize,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddrV4)>> {
        self.udp.socket(handle)?.poll_recv_from(cx, buf)
    }

    // ----- ICMP echo (ping) -----

    /// Sends echo request `seq_no` to `dst` with `data` as its payload.
    pub(crate) fn ping_send(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        seq_no: u16,
        data: &[u8],
    ) -> io::Result<()> {
        // Larger than the MTU goes in fragments (as `ping -s 4000` does); larger than an IPv4
        // datagram can be (65,535 bytes, less 20 of IP header and 8 of ICMP) cannot go at all.
        const MAX: usize = u16::MAX as usize - 28;
        if data.len() > MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {}-byte echo payload does not fit an IPv4 datagram (max {MAX})",
                    data.len()
                ),
            ));
        }
        if self
            .icmp
            .send_echo_request(now, &mut self.ip, &mut self.out, dst, seq_no, data)
        {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "output queue full",
            ))
        }
    }

    /// The round-trip time of echo request `seq_no`, once its reply has come.
    pub(crate) fn ping_poll_reply(&mut self, cx: &mut Context<'_>, seq_no: u16) -> Poll<Duration> {
        self.icmp.poll_echo_reply(cx, seq_no)
    }

    /// Stops waiting for the reply to echo request `seq_no`.
    pub(crate) fn ping_forget(&mut self, seq_no: u16) {
        self.icmp.forget_echo(seq_no);
    }

    // ----- TCP -----

    /// Opens a listener on `addr` (our address or unspecified; port 0 picks a free ephemeral
    /// one) with at most `backlog` connections waiting for accept (`None`: the configured
    /// [`TcpConfig::backlog`](crate::tcp::TcpConfig::backlog)); returns the port. See
    /// [`crate::TcpListener::bind`].
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` for another address, `AddrInUse` for a port that has a listener.
    pub fn tcp_listen(&mut self, addr: SocketAddrV4, backlog: Option<usize>) -> io::Result<u16> {
        let our = self.addr();
        if !addr.ip().is_unspecified() && *addr.ip() != our {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!(
                    "cannot bind to {}: this stack's address is {our}",
                    addr.ip()
                ),
            ));
        }
        self.tcp.listen(addr.port(), backlog, &mut self.rng)
    }

    /// Closes the listener on `port`: handshakes under way and connections not yet accepted
    /// are reset.
    pub fn tcp_unlisten(&mut self, port: u16) {
        self.tcp.unlisten(port, &mut self.ip, &mut self.out);
        self.accept_waiters.retain(|(p, _)| *p != port);
    }

    /// The next connection whose handshake completed on `port`, and the peer's address;
    /// `Pending` while there is none. An error once the listener is closed.
    pub fn tcp_poll_accept(
        &mut self,
        cx: &mut Context<'_>,
        port: u16,
    ) -> Poll<io::Result<(ConnId, SocketAddrV4)>> {
        let accepted = self.tcp.poll_accept(port, cx);
        if accepted.is_pending() {
            let known = |(p, waker): &(u16, Waker)| *p == port && waker.will_wake(cx.waker());
            if !self.accept_waiters.iter().any(known) {
                self.accept_waiters.push((port, cx.waker().clone()));
            }
        }
        accepted
    }

    /// Starts connecting to `remote` from a free ephemeral port: the SYN goes out with the
    /// next [`Host::transmit`]. [`Host::tcp_poll_established`] tells when it is open.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for port 0 or an unspecified or broadcast address, `AddrInUse` when no
    /// ephemeral port is free.
    pub fn tcp_connect(&mut self, now: Instant, remote: SocketAddrV4) -> io::Result<ConnId> {
        let our = self.addr();
        self.tcp.connect(now, our, remote, &mut self.rng)
    }

    /// Whether the handshake of `id` is over: `Ready(Ok)` once it is established, an error if
    /// it failed (refused, timed out), `Pending` before.
    pub fn tcp_poll_established(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
    ) -> Poll<io::Result<()>> {
        self.tcp.poll_established(id, cx)
    }

    /// Reads from `id` into `buf`: how many bytes, `Ready(Ok(0))` at the end of the peer's
    /// stream, `Pending` when nothing has arrived yet. A read stops at the urgent mark.
    pub fn tcp_poll_read(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.tcp.poll_read(id, cx, buf)
    }

    /// Writes `data` to the send buffer of `id`: how many bytes it took, `Pending` when the
    /// buffer is full.
    pub fn tcp_poll_write(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.tcp.poll_write(id, cx, data)
    }

    /// Writes as much of `bufs` to the send buffer of `id` as it takes, slice after slice in
    /// order (a gathered write, `writev`): how many bytes, `Pending` when the buffer is full.
    pub fn tcp_poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.tcp.poll_write_vectored(id, cx, bufs)
    }

    /// How many bytes a read of `id` would return now: `Ready(Ok(n > 0))` when data has
    /// arrived (up to the urgent mark), `Ready(Ok(0))` at the end of the peer's stream, the
    /// connection's error, or `Pending` (the task is woken when that changes).
    pub fn tcp_poll_read_ready(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
    ) -> Poll<io::Result<usize>> {
        self.tcp.poll_read_ready(id, cx)
    }

    /// Copies received bytes of `id` into `buf` without consuming them (`MSG_PEEK`); 0 when
    /// nothing is there. Stops at the urgent mark, as a read does.
    pub fn tcp_peek(&self, id: ConnId, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.peek(id, buf)
    }

    /// `Ready` when a write to `id` would not wait (room in the send buffer, or an error a
    /// write would return at once); `Pending` until then.
    pub fn tcp_poll_write_ready(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
    ) -> Poll<io::Result<()>> {
        self.tcp.poll_write_ready(id, cx)
    }

    /// Writes `data` to `id` as urgent data: the urgent mark moves to just past it (RFC 9293
    /// 3.8.5). Otherwise like [`Host::tcp_poll_write`].
    pub fn tcp_poll_send_urgent(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.tcp.poll_send_urgent(id, cx, data)
    }

    /// How many bytes `id`'s reader must read to pass the urgent data the peer signalled;
    /// `None` when none is ahead.
    pub fn tcp_urgent_mark(&self, id: ConnId) -> io::Result<Option<u64>> {
        self.tcp.urgent_mark(id)
    }

    /// Waits for urgent data on `id`: how far ahead the mark is, `Ready(Ok(None))` when no
    /// more can come.
    pub fn tcp_poll_urgent(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
    ) -> Poll<io::Result<Option<u64>>> {
        self.tcp.poll_urgent(id, cx)
    }

    /// Shuts `id` down for writing: a FIN follows the buffered data.
    pub fn tcp_shutdown(&mut self, id: ConnId) -> io::Result<()> {
        self.tcp.shutdown(id)
    }

    /// The application lets go of `id` (drops its handle): the connection closes in the
    /// background, or is reset if it leaves unread data. `id` must not be used after.
    pub fn tcp_release(&mut self, id: ConnId) {
        self.tcp.release(id, &mut self.ip, &mut self.out);
    }

    /// Aborts `id` with a reset to the peer (RFC 9293 ABORT); `id` must not be used after.
    pub fn tcp_abort(&mut self, id: ConnId) {
        self.tcp.abort(id, &mut self.ip, &mut self.out);
    }

    /// Sets `TCP_NODELAY` on a connection.
    pub fn tcp_set_nodelay(&mut self, id: ConnId, nodelay: bool) -> io::Result<()> {
        self.tcp.set_nodelay(id, nodelay)
    }

    /// Switches a connection's congestion control.
    pub fn tcp_set_congestion(
        &mut self,
        id: ConnId,
        algorithm: crate::tcp::Algorithm,
    ) -> io::Result<()> {
        self.tcp.set_congestion(id, algorithm)
    }

    /// Sets a connection's delayed ACK.
    pub fn tcp_set_delayed_ack(&mut self, id: ConnId, delay: Option<Duration>) -> io::Result<()> {
        self.tcp.set_delayed_ack(id, delay)
    }

    /// Sets `SO_LINGER` on a connection: with `Some(Duration::ZERO)`, [`Host::tcp_release`]
    /// aborts it (a RST, unsent data discarded) instead of closing it gracefully; any other
    /// value closes gracefully, as `None` does.
    pub fn tcp_set_linger(&mut self, id: ConnId, linger: Option<Duration>) -> io::Result<()> {
        self.tcp.set_linger(id, linger)
    }

    /// Sets `IP_TTL` on a connection: the TTL of the packets it sends (`None`: the host's
    /// default, [`crate::ip::DEFAULT_TTL`] unless configured).
    pub fn tcp_set_ttl(&mut self, id: ConnId, ttl: Option<u8>) -> io::Result<()> {
        self.tcp.set_ttl(id, ttl)
    }

    /// Reads `IP_TTL` of a connection: its own, or the host's default.
    pub fn tcp_ttl(&self, id: ConnId) -> io::Result<u8> {
        Ok(self.tcp.ttl(id)?.unwrap_or(self.ip.ttl))
    }

    /// Reads `SO_LINGER` of a connection.
    pub fn tcp_linger(&self, id: ConnId) -> io::Result<Option<Duration>> {
        self.tcp.linger(id)
    }

    /// Reads `TCP_NODELAY` of a connection.
    pub fn tcp_nodelay(&self, id: ConnId) -> io::Result<bool> {
        self.tcp.nodelay(id)
    }

    /// Turns keep-alive probes on or off for a connection.
    pub fn tcp_set_keepalive(
        &mut self,
        id: ConnId,
        keepalive: Option<crate::tcp::KeepAlive>,
    ) -> io::Result<()> {
        self.tcp.set_keepalive(id, keepalive)
    }

    /// Reads a connection's keep-alive settings.
    pub fn tcp_keepalive(&self, id: ConnId) -> io::Result<Option<crate::tcp::KeepAlive>> {
        self.tcp.keepalive(id)
    }

    /// Sets a connection's user timeout.
    pub fn tcp_set_user_timeout(
        &mut self,
        id: ConnId,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.tcp.set_user_timeout(id, timeout)
    }

    /// Reads a connection's user timeout.
    pub fn tcp_user_timeout(&self, id: ConnId) -> io::Result<Option<Duration>> {
        self.tcp.user_timeout(id)
    }

    /// A snapshot of a connection.
    pub fn tcp_info(&self, id: ConnId) -> io::Result<ConnInfo> {
        self.tcp.info(id)
    }

    /// Snapshots of every TCP connection.
    pub fn tcp_connections(&self) -> Vec<ConnInfo> {
        self.tcp.all_info()
    }
}
