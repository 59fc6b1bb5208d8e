//! What sockets ask of the TCP layer: listen, accept, connect, read, write, close
//! ([RFC 9293 3.10] calls these the user calls: OPEN, SEND, RECEIVE, CLOSE, ABORT).
//!
//! [RFC 9293 3.10]: https://www.rfc-editor.org/rfc/rfc9293#section-3.10

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};

use tracing::debug;

use super::connection::{error, ConnInfo, Connection, Quad};
use super::listener::Listener;
use super::state::State;
use super::why::ResetWhy;
use super::{ConnId, TcpLayer};
use crate::ip::layer::IpLayer;
use crate::ports;
use crate::queue::PacketQueue;
use crate::time::Instant;

/// The error for a handle whose connection is gone.
fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the connection is closed")
}

impl TcpLayer {
    /// Opens a listener on `port` (0: a random free ephemeral port) of `binding`; returns the
    /// port.
    pub(crate) fn listen(
        &mut self,
        binding: ports::Binding,
        port: u16,
        backlog: Option<usize>,
        rng: &mut fastrand::Rng,
    ) -> io::Result<u16> {
        let port = match port {
            0 => ports::pick_ephemeral(rng, |p| self.listeners.contains_key(&p)).ok_or_else(
                || {
                    io::Error::new(
                        io::ErrorKind::AddrInUse,
                        "every ephemeral TCP port is in use",
                    )
                },
            )?,
            p if self.listeners.contains_key(&p) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("TCP port {p} already has a listener"),
                ))
            }
            p => p,
        };
        let backlog = backlog.unwrap_or(self.config.backlog);
        let listener = Listener::new(binding, backlog, self.config.syn_queue);
        self.listeners.insert(port, listener);
        debug!(port, backlog, "tcp: LISTEN");
        Ok(port)
    }

    /// Closes the listener on `port`; connections it had not handed out are reset.
    pub(crate) fn unlisten(&mut self, port: u16, ip: &mut IpLayer, out: &mut PacketQueue) {
        let Some(mut listener) = self.listeners.remove(&port) else {
            return;
        };
        for (quad, entry) in listener.syn_queue.drain() {
            let why = ResetWhy::ListenerClosed;
            self.send_rst(ip, out, quad, entry.iss + 1, Some(entry.peer.irs + 1), why);
        }
        for index in listener.into_connections() {
            let id = self.id_of(index);
            self.abort(id, ip, out);
        }
    }

    /// The next connection whose handshake completed on `port`.
    pub(crate) fn poll_accept(
        &mut self,
        port: u16,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(ConnId, SocketAddr)>> {
        let Some(listener) = self.listeners.get_mut(&port) else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the listener is closed",
            )));
        };
        let listener_binding = listener.binding;
        match listener.poll_accept(cx) {
            Some(index) => {
                let id = self.id_of(index);
                let remote = self.conn(id).map_or_else(
                    || SocketAddr::from(([0, 0, 0, 0], 0)),
                    |c| listener_binding.show(c.quad.remote),
                );
                Poll::Ready(Ok((id, remote)))
            }
            None => Poll::Pending,
        }
    }

    /// Starts an active open to `remote` from `local_ip` and a random free ephemeral port.
    pub(crate) fn connect(
        &mut self,
        now: Instant,
        local_ip: IpAddr,
        remote: SocketAddr,
        rng: &mut fastrand::Rng,
    ) -> io::Result<ConnId> {
        if remote.port() == 0
            || remote.ip().is_unspecified()
            || remote.ip() == std::net::IpAddr::V4(std::net::Ipv4Addr::BROADCAST)
            || remote.ip().is_multicast()
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot connect to {remote}"),
            ));
        }
        // A port whose 4-tuple with `remote` is free (RFC 6056), and that no listener holds.
        let quad_for = |port| Quad {
            local: SocketAddr::new(local_ip, port),
            remote,
        };
        let port = ports::pick_ephemeral(rng, |p| {
            let quad = quad_for(p);
            self.by_quad.contains_key(&quad)
                || self.time_waits.contains(&quad)
                || self.listeners.contains_key(&p)
        })
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::AddrInUse, "every ephemeral port is in use")
        })?;
        let quad = quad_for(port);
        let iss = self.iss_for(&quad, now);
        debug!(%quad, %iss, "tcp: active open, SYN-SENT");
        let mss = self.mss_for(remote.ip());
        let mut conn = Connection::new(quad, State::SynSent, iss, mss, &self.config);
        conn.ts_offset = self.isn.ts_offset(quad.local, quad.remote);
        Ok(self.insert(conn))
    }

    /// Waits for the handshake of `id` to finish.
    pub(crate) fn poll_established(
        &mut self,
        id: ConnId,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        match self.conn_mut(id) {
            Some(conn) => conn.poll_established(cx),
            None => Poll::Ready(Err(gone())),
        }
    }

    /// Reads from `id`; a read that opens the window queues a window update.
    pub(crate) fn poll_read(
        &mut self,
        id: ConnId,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.read_with(id, |conn| conn.poll_read(cx, buf))
    }

    /// Reads from `id` as shared bytes (see [`Connection::poll_read_shared`]); a read that
    /// opens the window queues a window update.
    pub(crate) fn poll_read_shared(
        &mut self,
        id: ConnId,
        cx: &mut Context<'_>,
        max: usize,
    ) -> Poll<io::Result<bytes::Bytes>> {
        self.read_with(id, |conn| conn.poll_read_shared(cx, max))
    }

    /// A read of `id` by `read`, which also says whether the window is worth announcing now:
    /// if so, the connection is marked for the driver's next pass.
    fn read_with<T>(
        &mut self,
        id: ConnId,
        read: impl FnOnce(&mut Connection) -> Poll<io::Result<(T, bool)>>,
    ) -> Poll<io::Result<T>> {
        let Some(conn) = self.conn_mut(id) else {
            return Poll::Ready(Err(gone()));
        };
        match read(conn) {
            Poll::Ready(Ok((got, update))) => {
                if update {
                    self.mark_ready(id.index);
                }
                Poll::Ready(Ok(got))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Writes to `id`'s send buffer.
    pub(crate) fn poll_write(
        &mut self,
        id: ConnId,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_with(id, |conn| conn.poll_write(cx, data))
    }

    /// Writes what fits of `data` to `id`'s send buffer without copying it, taking it off the
    /// front of `data`.
    pub(crate) fn poll_write_shared(
        &mut self,
        id: ConnId,
        cx: &mut Context<'_>,
        data: &mut bytes::Bytes,
    ) -> Poll<io::Result<usize>> {
        self.write_with(id, |conn| conn.poll_write_shared(cx, data))
    }

    /// Writes as much of `bufs` to `id`'s send buffer as fits, in order.
    pub(crate) fn poll_write_vectored(
        &mut self,
        id: ConnId,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.write_with(id, |conn| conn.poll_write_vectored(cx, bufs))
    }

    /// How many bytes a read of `id` may return now (0: end of stream), or `Pending`.
    pub(crate) fn poll_read_ready(
        &mut self,
        id: ConnId,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match self.conn_mut(id) {
            Some(conn) => conn.poll_read_ready(cx),
            None => Poll::Ready(Err(gone())),
        }
    }

    /// Copies received bytes of `id` into `out`, leaving them to be read.
    pub(crate) fn peek(&self, id: ConnId, out: &mut [u8]) -> io::Result<usize> {
        Ok(self.conn(id).ok_or_else(gone)?.peek(out))
    }

    /// Whether a write to `id` would not wait.
    pub(crate) fn poll_write_ready(
        &mut self,
        id: ConnId,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        match self.conn_mut(id) {
            Some(conn) => conn.poll_write_ready(cx),
            None => Poll::Ready(Err(gone())),
        }
    }

    /// Writes urgent data to `id`'s send buffer: SND.UP moves to the end of what was taken
    /// (RFC 9293 3.8.5, `urgent.rs`).
    pub(crate) fn poll_send_urgent(
        &mut self,
        id: ConnId,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_with(id, |conn| conn.poll_send_urgent(cx, data))
    }

    /// Runs `write` on `id`; a connection that took bytes has something to send.
    fn write_with(
        &mut self,
        id: ConnId,
        write: impl FnOnce(&mut Connection) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let Some(conn) = self.conn_mut(id) else {
            return Poll::Ready(Err(gone()));
        };
        let written = write(conn);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.mark_ready(id.index);
        }
        written
    }

    /// How many bytes `id`'s reader must read to pass the urgent data the peer signalled.
    pub(crate) fn urgent_mark(&self, id: ConnId) -> io::Result<Option<u64>> {
        Ok(self.conn(id).ok_or_else(gone)?.urgent_mark())
    }

    /// Waits until urgent data is ahead of `id`'s reader.
    pub(crate) fn poll_urgent(
        &mut self,
        id: ConnId,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<u64>>> {
        match self.conn_mut(id) {
            Some(conn) => conn.poll_urgent(cx),
            None => Poll::Ready(Err(gone())),
        }
    }

    /// Shuts down writing on `id`: FIN after the buffered data.
    pub(crate) fn shutdown(&mut self, id: ConnId) -> io::Result<()> {
        let conn = self.conn_mut(id).ok_or_else(gone)?;
        if let Some(kind) = conn.error {
            return Err(error(kind));
        }
        conn.shutdown_write();
        self.settle(id.index);
        Ok(())
    }

    /// The application let go of `id`: close gracefully in the background, or reset if it
    /// leaves unread data behind (RFC 2525 2.17; Linux does the same), or if its linger time
    /// is zero (`SO_LINGER` 0: the close is an ABORT, RFC 9293 3.10.5).
    pub(crate) fn release(&mut self, id: ConnId, ip: &mut IpLayer, out: &mut PacketQueue) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        conn.orphaned = true;
        if conn.linger == Some(std::time::Duration::ZERO) {
            debug!(quad = %conn.quad, "tcp: closed with linger 0, reset");
            self.abort(id, ip, out);
            return;
        }
        if conn.rcv.buf.readable() > 0 && conn.state.is_synchronized() {
            debug!(quad = %conn.quad, "tcp: closed with unread data, reset");
            self.abort(id, ip, out);
            return;
        }
        conn.shutdown_write();
        self.settle(id.index);
    }

    /// ABORT (RFC 9293 3.10.5): a reset to the peer if it knows of us, then forget.
    pub(crate) fn abort(&mut self, id: ConnId, ip: &mut IpLayer, out: &mut PacketQueue) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        let (quad, seq, ack) = (conn.quad, conn.wire_seq(conn.ack_seq()), conn.wire_ack());
        let tell_peer = matches!(
            conn.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        );
        conn.orphaned = true;
        if conn.error.is_none() {
            conn.fail(io::ErrorKind::ConnectionAborted);
        }
        if tell_peer {
            self.send_rst(ip, out, quad, seq, Some(ack), ResetWhy::Aborted);
        }
        self.settle(id.index);
    }

    /// Turns Nagle's algorithm off (`true`) or on for `id`.
    pub(crate) fn set_nodelay(&mut self, id: ConnId, nodelay: bool) -> io::Result<()> {
        let conn = self.conn_mut(id).ok_or_else(gone)?;
        conn.snd.set_nodelay(nodelay);
        self.mark_ready(id.index);
        Ok(())
    }

    /// Switches `id` to another congestion control algorithm, keeping its window and threshold.
    pub(crate) fn set_congestion(
        &mut self,
        id: ConnId,
        algorithm: super::Algorithm,
    ) -> io::Result<()> {
        let conn = self.conn_mut(id).ok_or_else(gone)?;
        conn.cc.switch(algorithm, conn.snd.mss);
        Ok(())
    }

    /// Sets how long `id` may delay the ACK of a lone segment (`None`: acknowledge at once).
    pub(crate) fn set_delayed_ack(
        &mut self,
        id: ConnId,
        delay: Option<std::time::Duration>,
    ) -> io::Result<()> {
        let conn = self.conn_mut(id).ok_or_else(gone)?;
        if conn.rcv.set_delayed_ack(delay) {
            self.mark_ready(id.index);
        }
        Ok(())
    }

    /// Sets `SO_LINGER` of `id`: what releasing it does (see [`TcpLayer::release`]).
    pub(crate) fn set_linger(
        &mut self,
        id: ConnId,
        linger: Option<std::time::Duration>,
    ) -> io::Result<()> {
        self.conn_mut(id).ok_or_else(gone)?.linger = linger;
        Ok(())
    }

    /// `SO_LINGER` of `id`.
    pub(crate) fn linger(&self, id: ConnId) -> io::Result<Option<std::time::Duration>> {
        Ok(self.conn(id).ok_or_else(gone)?.linger)
    }

    /// Sets the TTL of the packets `id` sends (`None`: the host's default).
    pub(crate) fn set_ttl(&mut self, id: ConnId, ttl: Option<u8>) -> io::Result<()> {
        self.conn_mut(id).ok_or_else(gone)?.ttl = ttl;
        Ok(())
    }

    /// The TTL `id` was given, `None` when it uses the host's default.
    pub(crate) fn ttl(&self, id: ConnId) -> io::Result<Option<u8>> {
        Ok(self.conn(id).ok_or_else(gone)?.ttl)
    }

    /// Whether Nagle's algorithm is off for `id`.
    pub(crate) fn nodelay(&self, id: ConnId) -> io::Result<bool> {
        Ok(self.conn(id).ok_or_else(gone)?.snd.nodelay)
    }

    /// Turns keep-alive probes on (with these settings) or off for `id`. The idle time counts
    /// from the last segment heard from the peer.
    pub(crate) fn set_keepalive(
        &mut self,
        id: ConnId,
        keepalive: Option<super::KeepAlive>,
    ) -> io::Result<()> {
        let conn = self.conn_mut(id).ok_or_else(gone)?;
        conn.timers.set_keepalive(keepalive);
        self.mark_ready(id.index);
        Ok(())
    }

    /// The keep-alive settings of `id`.
    pub(crate) fn keepalive(&self, id: ConnId) -> io::Result<Option<super::KeepAlive>> {
        Ok(self.conn(id).ok_or_else(gone)?.timers.keepalive)
    }

    /// Sets how long data of `id` may wait for an acknowledgment before it fails.
    pub(crate) fn set_user_timeout(
        &mut self,
        id: ConnId,
        timeout: Option<std::time::Duration>,
    ) -> io::Result<()> {
        let conn = self.conn_mut(id).ok_or_else(gone)?;
        conn.timers.set_user_timeout(timeout);
        self.mark_ready(id.index);
        Ok(())
    }

    /// The user timeout of `id`.
    pub(crate) fn user_timeout(&self, id: ConnId) -> io::Result<Option<std::time::Duration>> {
        Ok(self.conn(id).ok_or_else(gone)?.timers.user_timeout)
    }

    /// A snapshot of `id`.
    pub(crate) fn info(&self, id: ConnId) -> io::Result<ConnInfo> {
        Ok(self.conn(id).ok_or_else(gone)?.info())
    }

    /// Snapshots of every connection, those in TIME-WAIT records included (as `ss` lists
    /// them).
    pub(crate) fn all_info(&self) -> Vec<ConnInfo> {
        let open = self.conns.iter().map(|(_, conn)| conn.info());
        open.chain(self.time_waits.infos()).collect()
    }
}
