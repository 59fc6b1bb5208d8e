//! The protocol core: one host's IPv4, ICMP, UDP and TCP, with no I/O and no clock.
//!
//! A [`Host`] is driven from outside by three calls, which is all the async driver does and all
//! a test needs to do:
//!
//! - [`Host::receive`]: a packet came in from the link at time `now`;
//! - [`Host::transmit`]: give me the next packet to put on the link, if any;
//! - [`Host::poll_at`]: when do you next need to be called, even if nothing comes in?
//!
//! A packet's way up reads top to bottom in [`Host::receive`]: IP unwraps it, then ICMP, UDP or
//! TCP by its Protocol field. The way down starts in a socket call and ends in a queue of packets
//! that [`Host::transmit`] hands out.
//!
//! ## TCP sockets without the async shell
//!
//! The TCP socket calls (`Host::tcp_listen`, `tcp_connect`, `tcp_poll_accept`,
//! `tcp_poll_read`, `tcp_poll_write`, `tcp_shutdown`, `tcp_release`...) are what
//! [`TcpListener`](crate::TcpListener) and [`TcpStream`](crate::TcpStream) call, and are
//! public for a host driven without the async shell: a test with a virtual clock, a fuzzer,
//! an event loop of one's own. A `poll_` call that cannot finish yet returns
//! [`Poll::Pending`](std::task::Poll::Pending) and keeps the context's waker, to wake when it
//! may finish; a caller that drives the host itself can pass [`Waker::noop`] and simply call
//! again after the next [`Host::receive`] or [`Host::transmit`]. The calls send nothing
//! themselves: what they queue goes out through [`Host::transmit`].
//!
//! ```
//! use std::net::{Ipv4Addr, SocketAddrV4};
//! use std::task::{Context, Waker};
//! use tunstack::time::Instant;
//! use tunstack::{Config, Host, Ipv4Cidr};
//!
//! let us = Ipv4Cidr::new(Ipv4Addr::new(10, 77, 0, 2), 24).expect("a /24");
//! let mut host = Host::new(Config::new(us));
//! // A server on port 80, and a connection of our own to 10.77.0.1:8080.
//! host.tcp_listen(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80), None)?;
//! let server = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 1), 8080);
//! let id = host.tcp_connect(Instant::ZERO, server)?;
//! let mut cx = Context::from_waker(Waker::noop());
//! assert!(host.tcp_poll_established(&mut cx, id).is_pending());
//! // The SYN is ready for the link.
//! let mut packet = Vec::new();
//! assert!(host.transmit(Instant::ZERO, &mut packet).is_some());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::net::Ipv4Addr;
use std::task::{Context, Waker};

use tracing::debug;

use crate::ip::header::IpProtocol;
use crate::ip::icmp::header::DstUnreachable;
use crate::ip::icmp::{IcmpLayer, RateLimit};
use crate::ip::input::Inbound;
use crate::ip::{Ipv4Cidr, Ipv4Layer, DEFAULT_TTL};
use crate::link::Reason;
use crate::queue::PacketQueue;
use crate::stats::{DropReason, Stats};
use crate::tcp::{TcpConfig, TcpLayer};
use crate::time::Instant;
use crate::udp::input::Delivery;
use crate::udp::UdpLayer;

/// How a host is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our address and the network it is on, e.g. `10.77.0.2/24`.
    pub addr: Ipv4Cidr,
    /// The link's MTU: the largest IP packet we send or expect.
    pub mtu: usize,
    /// Time to Live of the packets we send.
    pub ttl: u8,
    /// Seed for everything random (ephemeral ports, the first IP Identification, ...). `None`
    /// seeds from the system; a fixed seed makes a run repeat exactly, which tests and the tour
    /// rely on.
    pub seed: Option<u64>,
    /// How many ICMP errors we may send.
    pub icmp_rate_limit: RateLimit,
    /// How many datagrams each UDP socket queues before it drops.
    pub udp_recv_queue: usize,
    /// How many ready packets wait for the link before senders have to wait.
    pub out_queue: usize,
    /// TCP's settings.
    pub tcp: TcpConfig,
}

impl Config {
    /// A configuration for address `addr` with defaults for everything else: MTU 1500, TTL
    /// 64, Linux's ICMP rate limit, 256 datagrams per UDP socket, 256 queued packets.
    pub fn new(addr: Ipv4Cidr) -> Config {
        Config {
            addr,
            mtu: 1500,
            ttl: DEFAULT_TTL,
            seed: None,
            icmp_rate_limit: RateLimit::default(),
            udp_recv_queue: 256,
            out_queue: 256,
            tcp: TcpConfig::default(),
        }
    }
}

/// What [`Host::transmit`] gives back besides the packet: why it was sent, when that is worth
/// telling (captures show it as the frame comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Why it was sent, when that is worth telling: captures word it as the frame comment
    /// (e.g. "retransmission #2 after RTO 400 ms").
    pub why: Option<Reason>,
}

/// One host's protocol state: every layer, no I/O.
#[derive(Debug)]
pub struct Host {
    config: Config,
    pub(crate) ip: Ipv4Layer,
    pub(crate) icmp: IcmpLayer,
    pub(crate) udp: UdpLayer,
    pub(crate) tcp: TcpLayer,
    /// Packets built and ready for the link.
    pub(crate) out: PacketQueue,
    /// Senders waiting for room in `out`.
    out_waiters: Vec<Waker>,
    /// Tasks waiting in `accept`, by listening port: woken by [`Host::fail_all`] (while the
    /// host works, each listener wakes its own).
    accept_waiters: Vec<(u16, Waker)>,
    pub(crate) rng: fastrand::Rng,
}

impl Host {
    /// A host with this configuration.
    ///
    /// # Panics
    ///
    /// When the operating system has no secure random source for TCP's secrets (and
    /// `config.seed` is `None`): see [`Host::try_new`].
    pub fn new(config: Config) -> Host {
        Self::try_new(config).unwrap_or_else(|err| panic!("tunstack cannot start: {err}"))
    }

    /// A host with this configuration, or an error when the operating system's random source
    /// fails: TCP's initial sequence numbers and timestamp offsets must be unguessable
    /// ([RFC 6528], [RFC 7323 5.4]), so there is no weaker fallback.
    ///
    /// [RFC 6528]: https://www.rfc-editor.org/rfc/rfc6528
    /// [RFC 7323 5.4]: https://www.rfc-editor.org/rfc/rfc7323#section-5.4
    pub fn try_new(config: Config) -> std::io::Result<Host> {
        let mut rng = match config.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let ip = Ipv4Layer::new(config.addr, config.ttl, rng.u16(..));
        let icmp = IcmpLayer::new(config.icmp_rate_limit, rng.u16(..), config.mtu);
        Ok(Host {
            ip,
            icmp,
            udp: UdpLayer::new(config.udp_recv_queue),
            tcp: TcpLayer::new(config.tcp.clone(), config.mtu, config.seed)?,
            out: PacketQueue::new(config.out_queue),
            out_waiters: Vec::new(),
            accept_waiters: Vec::new(),
            rng,
            config,
        })
    }

    /// The configuration this host was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Our address.
    pub fn addr(&self) -> Ipv4Addr {
        self.config.addr.address()
    }

    /// A snapshot of every layer's counters.
    pub fn stats(&self) -> Stats {
        Stats {
            ip: self.ip.stats,
            icmp: self.icmp.stats,
            udp: self.udp.stats,
            tcp: self.tcp.stats,
            handshakes: self.tcp.handshakes,
        }
    }

    /// Takes one packet from the link, at time `now`, up through the layers.
    pub fn receive(&mut self, now: Instant, bytes: &[u8]) {
        let Some(Inbound {
            header,
            payload,
            packet,
        }) = self.ip.receive(bytes)
        else {
            return;
        };
        let (src, dst) = (header.src_addr, header.dst_addr);
        match header.protocol {
            IpProtocol::Icmp => {
                let error = self
                    .icmp
                    .receive(now, &mut self.ip, &mut self.out, src, payload);
                match error {
                    Some(error) if error.protocol == IpProtocol::Udp => self.udp.icmp_error(&error),
                    Some(error) if error.protocol == IpProtocol::Tcp => self.tcp.icmp_error(&error),
                    _ => {}
                }
            }
            IpProtocol::Udp => {
                if self.udp.receive(src, dst, payload) == Delivery::NoSocket {
                    let reason = DstUnreachable::PortUnreachable;
                    self.icmp.send_unreachable(
                        now,
                        &mut self.ip,
                        &mut self.out,
                        reason,
                        src,
                        packet,
                    );
                }
            }
            IpProtocol::Tcp => {
                self.tcp
                    .receive(now, &mut self.ip, &mut self.out, (src, dst), payload);
            }
            IpProtocol::Unknown(number) => {
                // RFC 1122 3.2.2.1: a host SHOULD send protocol unreachable.
                debug!(number, "ip: no transport for this protocol");
                self.ip.stats.dropped.add(DropReason::UnknownProtocol);
                let reason = DstUnreachable::ProtoUnreachable;
                self.icmp
                    .send_unreachable(now, &mut self.ip, &mut self.out, reason, src, packet);
            }
        }
    }

    /// The next packet for the link, in `buf`; `None` when there is nothing to send. Runs the
    /// timers that are due first.
    ///
    /// Packets built on arrival (echo replies, ICMP errors, resets, UDP datagrams) go first, in
    /// order; then TCP's segments, one connection after another.
    pub fn transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        if let Some(why) = self.out.pop_into(buf) {
            for waker in self.out_waiters.drain(..) {
                waker.wake();
            }
            return Some(Transmit { why });
        }
        self.tcp.transmit(now, &mut self.ip, buf)
    }

    /// When the host next needs [`Host::transmit`] called even if no packet arrives: the
    /// earliest timer. `None`: no timer is running.
    pub fn poll_at(&self) -> Option<Instant> {
        self.tcp.poll_at()
    }

    /// Whether the host still has work without any socket: packets waiting for the link, or
    /// TCP connections finishing their close.
    pub fn is_busy(&self) -> bool {
        self.out.len() > 0 || self.tcp.has_connections()
    }

    /// Whether something waits to be sent right now (the driver should be woken).
    pub(crate) fn wants_transmit(&self) -> bool {
        self.out.len() > 0 || self.tcp.has_ready()
    }

    /// The link is gone for good: every TCP connection fails with `kind`, and every task
    /// waiting on a socket (in `accept`, a receive, a ping, for room to send) is woken, to find
    /// the stack's error.
    pub(crate) fn fail_all(&mut self, kind: io::ErrorKind) {
        debug!(?kind, "host: the link is gone, every socket fails");
        self.tcp.fail_all(kind);
        self.udp.wake_all();
        self.icmp.wake_echo_waiters();
        let waiters = self.out_waiters.drain(..);
        let accepts = self.accept_waiters.drain(..).map(|(_, waker)| waker);
        for waker in waiters.chain(accepts) {
            waker.wake();
        }
    }

    /// Registers `cx` to be woken when the output queue has room.
    pub(crate) fn wait_for_room(&mut self, cx: &mut Context<'_>) {
        if !self.out_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            self.out_waiters.push(cx.waker().clone());
        }
    }
}

mod sockets;
#[cfg(test)]
mod tests;
