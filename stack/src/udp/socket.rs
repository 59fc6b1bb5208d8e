//! UDP sockets inside the core: the port table and each socket's receive queue.
//!
//! The async [`crate::UdpSocket`] is a handle to one entry here. Everything that touches a
//! queue happens under the stack's lock, so a datagram is either in the queue or not; wakers
//! connect the two sides.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll, Waker};

use crate::ports::{self, Binding};
use crate::stats::LayerStats;

/// A received datagram waiting to be read.
#[derive(Debug)]
struct Datagram {
    from: SocketAddr,
    data: Vec<u8>,
}

/// One UDP socket's state.
#[derive(Debug)]
pub(crate) struct UdpSocketState {
    /// The port this socket is bound to.
    pub(crate) local_port: u16,
    /// The address it is bound to, and the family it speaks.
    pub(crate) binding: Binding,
    /// The peer, once `connect` has named one: only its datagrams are received, and `send` goes
    /// to it.
    pub(crate) remote: Option<SocketAddr>,
    rx: VecDeque<Datagram>,
    rx_capacity: usize,
    /// Buffers of datagrams already read, kept for the next ones.
    free: Vec<Vec<u8>>,
    /// Tasks waiting to receive (usually one; a socket shared by several tasks may have more).
    recv_wakers: Vec<Waker>,
    /// An error reported by ICMP (or by ARP, for a neighbour that never answered), returned by
    /// the next receive or send (as Linux does for connected sockets).
    pub(crate) error: Option<io::ErrorKind>,
    /// Datagrams dropped because the queue was full.
    pub(crate) dropped: u64,
    /// `IP_TTL`: the TTL of the datagrams this socket sends; `None`, the host's default.
    pub(crate) ttl: Option<u8>,
}

impl UdpSocketState {
    /// Whether this socket takes a datagram from `from` to `dst` (both as the core names
    /// them: IPv4 as IPv4).
    pub(crate) fn accepts(&self, from: SocketAddr, dst: IpAddr) -> bool {
        self.binding.takes(dst) && self.remote.is_none_or(|remote| remote == from)
    }

    /// Queues a datagram; `false` if the queue is full.
    pub(crate) fn push(&mut self, from: SocketAddr, payload: &[u8]) -> bool {
        if self.rx.len() >= self.rx_capacity {
            self.dropped += 1;
            return false;
        }
        let mut data = self.free.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(payload);
        let from = self.binding.show(from);
        self.rx.push_back(Datagram { from, data });
        self.wake();
        true
    }

    /// The pending error, taken: the next receive or send reports it, once.
    pub(crate) fn take_error(&mut self) -> Option<io::Error> {
        self.error
            .take()
            .map(|kind| io::Error::new(kind, icmp_error_text(kind)))
    }

    /// Records an error for the next receive or send, and wakes the reader.
    pub(crate) fn set_error(&mut self, kind: io::ErrorKind) {
        self.error = Some(kind);
        self.wake();
    }

    fn wake(&mut self) {
        for waker in self.recv_wakers.drain(..) {
            waker.wake();
        }
    }

    /// `Ready` when a receive would not wait: a datagram is queued, or an error is pending.
    pub(crate) fn poll_recv_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.rx.is_empty() || self.error.is_some() {
            return Poll::Ready(());
        }
        if !self.recv_wakers.iter().any(|w| w.will_wake(cx.waker())) {
            self.recv_wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Copies the oldest datagram into `buf` and leaves it queued (`MSG_PEEK`); waits like
    /// [`UdpSocketState::poll_recv_from`]. A pending error is reported (and taken).
    pub(crate) fn poll_peek_from(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        if let Some(err) = self.take_error() {
            return Poll::Ready(Err(err));
        }
        std::task::ready!(self.poll_recv_ready(cx));
        let Some(datagram) = self.rx.front() else {
            return Poll::Pending;
        };
        let n = datagram.data.len().min(buf.len());
        buf[..n].copy_from_slice(&datagram.data[..n]);
        Poll::Ready(Ok((n, datagram.from)))
    }

    /// Reads the oldest datagram into `buf` (the excess of a longer datagram is discarded, as
    /// with `recv_from` on any datagram socket).
    pub(crate) fn poll_recv_from(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        if let Some(err) = self.take_error() {
            return Poll::Ready(Err(err));
        }
        let Some(datagram) = self.rx.pop_front() else {
            if !self.recv_wakers.iter().any(|w| w.will_wake(cx.waker())) {
                self.recv_wakers.push(cx.waker().clone());
            }
            return Poll::Pending;
        };
        let n = datagram.data.len().min(buf.len());
        buf[..n].copy_from_slice(&datagram.data[..n]);
        if self.free.len() < self.rx_capacity {
            self.free.push(datagram.data);
        }
        Poll::Ready(Ok((n, datagram.from)))
    }
}

fn icmp_error_text(kind: io::ErrorKind) -> &'static str {
    match kind {
        io::ErrorKind::ConnectionRefused => {
            "connection refused: the peer's port is closed (ICMP port unreachable)"
        }
        io::ErrorKind::HostUnreachable => {
            "host unreachable: no answer to ARP on the link, or an ICMP host unreachable"
        }
        io::ErrorKind::NetworkUnreachable => {
            "network unreachable: no route (no gateway set), or an ICMP net unreachable"
        }
        _ => "the peer's network reported an error (ICMP destination unreachable)",
    }
}

/// The UDP layer: sockets by handle, and the port table.
#[derive(Debug)]
pub(crate) struct UdpLayer {
    /// Counters.
    pub(crate) stats: LayerStats,
    sockets: Vec<Option<UdpSocketState>>,
    ports: HashMap<u16, usize>,
    recv_queue: usize,
}

impl UdpLayer {
    /// A layer whose sockets queue up to `recv_queue` datagrams each.
    pub(crate) fn new(recv_queue: usize) -> UdpLayer {
        UdpLayer {
            stats: LayerStats::default(),
            sockets: Vec::new(),
            ports: HashMap::new(),
            recv_queue,
        }
    }

    /// Binds a new socket to `addr` (port 0: a random free ephemeral port) and returns its
    /// handle. `ours` says which addresses are the stack's: a socket may bind to one of them or
    /// to the unspecified address (`0.0.0.0`, or `[::]` for both versions unless `v6_only`).
    pub(crate) fn bind(
        &mut self,
        addr: SocketAddr,
        v6_only: bool,
        ours: impl Fn(IpAddr) -> bool,
        rng: &mut fastrand::Rng,
    ) -> io::Result<usize> {
        let binding = Binding::new(addr.ip(), v6_only);
        if !binding.ip.is_unspecified() && !ours(binding.ip) {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!(
                    "cannot bind to {}: it is not this stack's address",
                    addr.ip()
                ),
            ));
        }
        let port = match addr.port() {
            0 => ports::pick_ephemeral(rng, |p| self.ports.contains_key(&p)).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "every ephemeral UDP port is in use",
                )
            })?,
            port if self.ports.contains_key(&port) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("UDP port {port} is already bound"),
                ))
            }
            port => port,
        };
        let state = UdpSocketState {
            local_port: port,
            binding,
            remote: None,
            rx: VecDeque::new(),
            rx_capacity: self.recv_queue,
            free: Vec::new(),
            recv_wakers: Vec::new(),
            error: None,
            dropped: 0,
            ttl: None,
        };
        let handle = match self.sockets.iter().position(Option::is_none) {
            Some(free) => {
                self.sockets[free] = Some(state);
                free
            }
            None => {
                self.sockets.push(Some(state));
                self.sockets.len() - 1
            }
        };
        self.ports.insert(port, handle);
        Ok(handle)
    }

    /// Closes a socket: its port is free again and its queued datagrams are discarded.
    pub(crate) fn close(&mut self, handle: usize) {
        if let Some(state) = self.sockets.get_mut(handle).and_then(Option::take) {
            self.ports.remove(&state.local_port);
        }
    }

    /// The socket behind `handle`. Handles come only from `bind` and live until `close`, so a
    /// missing entry is a bug in the socket layer, reported as an error rather than a panic.
    pub(crate) fn socket(&mut self, handle: usize) -> io::Result<&mut UdpSocketState> {
        self.sockets
            .get_mut(handle)
            .and_then(Option::as_mut)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "UDP socket is closed"))
    }

    /// Wakes every task waiting to receive, e.g. to find that the stack has stopped.
    pub(crate) fn wake_all(&mut self) {
        self.sockets
            .iter_mut()
            .flatten()
            .for_each(UdpSocketState::wake);
    }

    /// The socket bound to `port`, if any.
    pub(crate) fn socket_on_port(&mut self, port: u16) -> Option<&mut UdpSocketState> {
        let handle = *self.ports.get(&port)?;
        self.sockets.get_mut(handle).and_then(Option::as_mut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 77, 0, 2));

    fn layer() -> (UdpLayer, fastrand::Rng) {
        (UdpLayer::new(2), fastrand::Rng::with_seed(3))
    }

    #[test]
    fn bind_rules() {
        let (mut udp, mut rng) = layer();
        let a = udp
            .bind(SocketAddr::new(US, 9001), false, |a| a == US, &mut rng)
            .unwrap();
        let err = udp
            .bind(
                SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 9001),
                false,
                |a| a == US,
                &mut rng,
            )
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let err = udp
            .bind(
                SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)), 1),
                false,
                |a| a == US,
                &mut rng,
            )
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
        let eph = udp
            .bind(
                SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0),
                false,
                |a| a == US,
                &mut rng,
            )
            .unwrap();
        let port = udp.socket(eph).unwrap().local_port;
        assert!(ports::EPHEMERAL.contains(&port));
        udp.close(a);
        assert!(udp
            .bind(SocketAddr::new(US, 9001), false, |a| a == US, &mut rng)
            .is_ok());
    }

    #[test]
    fn queue_is_bounded_and_fifo() {
        let (mut udp, mut rng) = layer();
        let h = udp
            .bind(SocketAddr::new(US, 7), false, |a| a == US, &mut rng)
            .unwrap();
        let peer = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(10, 77, 0, 1)), 5000);
        let sock = udp.socket(h).unwrap();
        assert!(sock.push(peer, b"one"));
        assert!(sock.push(peer, b"two"));
        assert!(!sock.push(peer, b"three"));
        assert_eq!(sock.dropped, 1);
        let mut cx = Context::from_waker(Waker::noop());
        let mut buf = [0u8; 2];
        // A short buffer gets the start of the datagram; the rest is discarded.
        assert!(
            matches!(sock.poll_recv_from(&mut cx, &mut buf), Poll::Ready(Ok((2, from))) if from == peer)
        );
        assert_eq!(&buf, b"on");
        let mut buf = [0u8; 10];
        assert!(matches!(
            sock.poll_recv_from(&mut cx, &mut buf),
            Poll::Ready(Ok((3, _)))
        ));
        assert_eq!(&buf[..3], b"two");
        assert!(sock.poll_recv_from(&mut cx, &mut buf).is_pending());
    }

    #[test]
    fn an_icmp_error_is_reported_once() {
        let (mut udp, mut rng) = layer();
        let h = udp
            .bind(SocketAddr::new(US, 7), false, |a| a == US, &mut rng)
            .unwrap();
        let sock = udp.socket(h).unwrap();
        sock.set_error(io::ErrorKind::ConnectionRefused);
        let mut cx = Context::from_waker(Waker::noop());
        let mut buf = [0u8; 4];
        match sock.poll_recv_from(&mut cx, &mut buf) {
            Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused),
            other => panic!("expected ECONNREFUSED, got {other:?}"),
        }
        assert!(sock.poll_recv_from(&mut cx, &mut buf).is_pending());
    }
}
