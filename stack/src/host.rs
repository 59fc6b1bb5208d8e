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

use std::borrow::Cow;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tracing::debug;

use crate::ip::header::IpProtocol;
use crate::ip::icmp::header::DstUnreachable;
use crate::ip::icmp::{IcmpLayer, RateLimit};
use crate::ip::input::Inbound;
use crate::ip::{Ipv4Cidr, Ipv4Layer, DEFAULT_TTL};
use crate::queue::PacketQueue;
use crate::stats::{DropReason, LayerStats, Stats};
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
        }
    }
}

/// What [`Host::transmit`] gives back besides the packet: why it was sent, when that is worth
/// telling (captures show it as the frame comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// A note for captures, e.g. "retransmission #2 after RTO 400 ms".
    pub comment: Option<Cow<'static, str>>,
}

/// One host's protocol state: every layer, no I/O.
#[derive(Debug)]
pub struct Host {
    config: Config,
    pub(crate) ip: Ipv4Layer,
    pub(crate) icmp: IcmpLayer,
    pub(crate) udp: UdpLayer,
    pub(crate) tcp_stats: LayerStats,
    /// Packets built and ready for the link.
    pub(crate) out: PacketQueue,
    /// Senders waiting for room in `out`.
    out_waiters: Vec<Waker>,
    pub(crate) rng: fastrand::Rng,
}

impl Host {
    /// A host with this configuration.
    pub fn new(config: Config) -> Host {
        let mut rng = match config.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let ip = Ipv4Layer::new(config.addr, config.ttl, rng.u16(..));
        let icmp = IcmpLayer::new(config.icmp_rate_limit, rng.u16(..), config.mtu);
        Host {
            ip,
            icmp,
            udp: UdpLayer::new(config.udp_recv_queue),
            tcp_stats: LayerStats::default(),
            out: PacketQueue::new(config.out_queue),
            out_waiters: Vec::new(),
            rng,
            config,
        }
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
            tcp: self.tcp_stats,
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
                if let Some(error) = error {
                    if error.protocol == IpProtocol::Udp {
                        self.udp.icmp_error(&error);
                    }
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
                self.tcp_stats.received += 1;
                debug!(%src, "tcp: no TCP in this build yet, segment dropped");
                self.tcp_stats.dropped.add(DropReason::NoSocket);
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

    /// The next packet for the link, swapped into `buf`; `None` when there is nothing to send.
    pub fn transmit(&mut self, _now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        let comment = self.out.pop_into(buf)?;
        for waker in self.out_waiters.drain(..) {
            waker.wake();
        }
        Some(Transmit { comment })
    }

    /// When the host next needs [`Host::transmit`] called even if no packet arrives: the
    /// earliest timer. `None`: no timer is running.
    pub fn poll_at(&self) -> Option<Instant> {
        None
    }

    /// Whether packets are waiting for the link.
    pub fn has_output(&self) -> bool {
        self.out.len() > 0
    }

    /// Registers `cx` to be woken when the output queue has room.
    fn wait_for_room(&mut self, cx: &mut Context<'_>) {
        if !self.out_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            self.out_waiters.push(cx.waker().clone());
        }
    }

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
        let local_port = self.udp.socket(handle)?.local_port;
        let mtu = self.config.mtu;
        match self
            .udp
            .send(&mut self.ip, &mut self.out, mtu, local_port, to, payload)
        {
            Ok(true) => Poll::Ready(Ok(payload.len())),
            Ok(false) => {
                self.wait_for_room(cx);
                Poll::Pending
            }
            Err(err) => Poll::Ready(Err(err)),
        }
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
        let max = self.config.mtu.saturating_sub(28);
        if data.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {}-byte echo payload does not fit MTU {} (max {max})",
                    data.len(),
                    self.config.mtu
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
}
