//! What sockets ask of the core: the UDP, TCP and ping calls behind [`crate::socket`].
//!
//! Each call takes the lock's worth of work only: queue, copy, or leave a waker.
//!
//! The TCP calls are public: they are the sockets of a [`Host`] driven without the async
//! shell (see the [module documentation](super)).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;

use super::Host;
use crate::ports::{canonical, Binding};
use crate::tcp::{ConnId, ConnInfo};
use crate::time::Instant;

impl Host {
    // ----- UDP sockets -----

    /// Binds a UDP socket; see [`crate::UdpSocket::bind`].
    #[cfg(test)]
    pub(crate) fn udp_bind(&mut self, addr: impl Into<SocketAddr>) -> io::Result<usize> {
        self.udp_bind_with(addr.into(), false)
    }

    /// Binds a UDP socket; with `v6_only`, one on `[::]` takes IPv6 only.
    pub(crate) fn udp_bind_with(&mut self, addr: SocketAddr, v6_only: bool) -> io::Result<usize> {
        if addr.is_ipv6() && !addr.ip().to_canonical().is_ipv4() && self.ip.v6.is_none() {
            return Err(ipv6_off(addr.ip()));
        }
        let ip = &self.ip;
        self.udp
            .bind(addr, v6_only, |a| ip.is_ours(a), &mut self.rng)
    }

    /// Closes a UDP socket.
    pub(crate) fn udp_close(&mut self, handle: usize) {
        self.udp.close(handle);
    }

    /// The local address of a UDP socket.
    pub(crate) fn udp_local_addr(&mut self, handle: usize) -> io::Result<SocketAddr> {
        let socket = self.udp.socket(handle)?;
        let binding = socket.binding;
        let addr = SocketAddr::new(binding.ip, socket.local_port);
        Ok(binding.show(addr))
    }

    /// Connects a UDP socket to `remote`: it then only receives from there.
    pub(crate) fn udp_connect(
        &mut self,
        handle: usize,
        remote: impl Into<SocketAddr>,
    ) -> io::Result<()> {
        let socket = self.udp.socket(handle)?;
        let remote = check_peer(socket.binding, remote.into())?;
        socket.remote = Some(remote);
        socket.error = None;
        Ok(())
    }

    /// The peer a UDP socket is connected to.
    pub(crate) fn udp_peer_addr(&mut self, handle: usize) -> io::Result<SocketAddr> {
        let socket = self.udp.socket(handle)?;
        let remote = socket.remote.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "UDP socket is not connected")
        })?;
        Ok(socket.binding.show(remote))
    }

    /// Sends one datagram from a UDP socket to `to`.
    pub(crate) fn udp_poll_send_to(
        &mut self,
        cx: &mut Context<'_>,
        handle: usize,
        payload: &[u8],
        to: impl Into<SocketAddr>,
    ) -> Poll<io::Result<usize>> {
        let socket = self.udp.socket(handle)?;
        let to = check_peer(socket.binding, to.into())?;
        // An error reported since the last call (a connected socket's peer is unreachable)
        // fails this send, as on Linux (`sock_error` in `sock_alloc_send_pskb`).
        if let Some(err) = socket.take_error() {
            return Poll::Ready(Err(err));
        }
        let (local, ttl) = ((socket.binding.ip, socket.local_port), socket.ttl);
        let (udp, out) = (&mut self.udp, &mut self.out);
        match self
            .ip
            .with_ttl(ttl, |ip| udp.send(ip, out, local, to, payload))
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
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.udp.socket(handle)?.poll_peek_from(cx, buf)
    }

    /// Sets `IP_TTL` on a UDP socket (`None`: the host's default).
    pub(crate) fn udp_set_ttl(&mut self, handle: usize, ttl: Option<u8>) -> io::Result<()> {
        self.udp.socket(handle)?.ttl = ttl;
        Ok(())
    }

    /// Reads `IP_TTL` of a UDP socket: its own, or the host's default.
    pub(crate) fn udp_ttl(&mut self, handle: usize) -> io::Result<u8> {
        let default = self.ip.v4.ttl;
        Ok(self.udp.socket(handle)?.ttl.unwrap_or(default))
    }

    /// Receives one datagram on a UDP socket.
    pub(crate) fn udp_poll_recv_from(
        &mut self,
        cx: &mut Context<'_>,
        handle: usize,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.udp.socket(handle)?.poll_recv_from(cx, buf)
    }

    // ----- ICMP echo (ping) -----

    /// Sends echo request `seq_no` to `dst` with `data` as its payload.
    pub(crate) fn ping_send(
        &mut self,
        now: Instant,
        dst: IpAddr,
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
        let sent = match dst {
            IpAddr::V4(dst) => {
                let (ip, out) = (&mut self.ip.v4, &mut self.out);
                self.icmp.send_echo_request(now, ip, out, dst, seq_no, data)
            }
            IpAddr::V6(dst) => {
                let v6 = self.ip.v6.as_mut().ok_or_else(|| ipv6_off(dst.into()))?;
                let out = &mut self.out;
                self.icmpv6
                    .send_echo_request(now, v6, out, dst, (seq_no, data))
            }
        };
        if sent {
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
        match self.icmp.echoes.poll(cx, seq_no) {
            Poll::Pending => self.icmpv6.echoes.poll(cx, seq_no),
            ready => ready,
        }
    }

    /// Stops waiting for the reply to echo request `seq_no`.
    pub(crate) fn ping_forget(&mut self, seq_no: u16) {
        self.icmp.echoes.forget(seq_no);
        self.icmpv6.echoes.forget(seq_no);
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
    pub fn tcp_listen(
        &mut self,
        addr: impl Into<SocketAddr>,
        backlog: Option<usize>,
    ) -> io::Result<u16> {
        self.tcp_listen_with(addr.into(), false, backlog)
    }

    /// Like [`Host::tcp_listen`]; with `v6_only`, a listener on `[::]` takes IPv6 clients only
    /// (`IPV6_V6ONLY`), else IPv4 ones too.
    pub fn tcp_listen_with(
        &mut self,
        addr: SocketAddr,
        v6_only: bool,
        backlog: Option<usize>,
    ) -> io::Result<u16> {
        let binding = Binding::new(addr.ip(), v6_only);
        if !binding.ip.is_unspecified() && !self.ip.is_ours(binding.ip) {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!(
                    "cannot bind to {}: it is not this stack's address",
                    addr.ip()
                ),
            ));
        }
        if binding.v6_family && self.ip.v6.is_none() {
            return Err(ipv6_off(addr.ip()));
        }
        self.tcp
            .listen(binding, addr.port(), backlog, &mut self.rng)
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
    ) -> Poll<io::Result<(ConnId, SocketAddr)>> {
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
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        remote: impl Into<SocketAddr>,
    ) -> io::Result<ConnId> {
        let remote = canonical(remote.into());
        let our = self
            .ip
            .src_for(remote.ip())
            .ok_or_else(|| ipv6_off(remote.ip()))?;
        let id = self.tcp.connect(now, our, remote, &mut self.rng)?;
        // A path known to be narrower than the link: segments start at its size.
        if self.ip.pmtu.get(remote.ip()) < self.ip.mtu() {
            let mss = self.ip.path_mss(remote.ip());
            self.tcp.path_mtu_changed(now, remote.ip(), mss);
        }
        Ok(id)
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

    /// Reads up to `max` bytes of `id` as shared bytes: the data of a kept packet as it is,
    /// without a copy (other bytes are copied out). Empty at the end of the peer's stream,
    /// `Pending` while nothing has arrived.
    pub fn tcp_poll_read_shared(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
        max: usize,
    ) -> Poll<io::Result<Bytes>> {
        self.tcp.poll_read_shared(id, cx, max)
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

    /// Writes what fits of `data` to the send buffer of `id` without copying it (from 4 KiB
    /// on): the buffer keeps `data`'s memory and segments carry slices of it. Takes the bytes
    /// it wrote off the front of `data`; how many, `Pending` when the buffer is full.
    pub fn tcp_poll_write_shared(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
        data: &mut Bytes,
    ) -> Poll<io::Result<usize>> {
        self.tcp.poll_write_shared(id, cx, data)
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
        Ok(self.tcp.ttl(id)?.unwrap_or(self.ip.v4.ttl))
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

/// `peer` as the core names it (IPv4-mapped turned to IPv4), if a socket bound to `binding`
/// may send to it.
fn check_peer(binding: Binding, peer: SocketAddr) -> io::Result<SocketAddr> {
    let peer = canonical(peer);
    if binding.may_reach(peer.ip()) {
        return Ok(peer);
    }
    let family = if binding.v6_only {
        "an IPv6-only"
    } else if binding.v6_family {
        "an IPv6"
    } else {
        "an IPv4"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{family} socket cannot send to {peer}"),
    ))
}

/// The error for an IPv6 address on a stack without IPv6.
fn ipv6_off(addr: IpAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::NetworkUnreachable,
        format!("cannot reach {addr}: this stack has no IPv6 address (IPv6 is off)"),
    )
}
