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
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::task::{Context, Waker};

use tracing::debug;

use crate::device::Medium;
use crate::ip::addr6::link_local_for;
use crate::ip::error::{IcmpError, Problem};
use crate::ip::fragment::{Reassembler, ReassemblyConfig};
use crate::ip::header::IpProtocol;
use crate::ip::icmp::header::{DstUnreachable, TimeExceeded};
use crate::ip::icmp::{IcmpLayer, RateLimit, ERROR_QUOTE_MAX};
use crate::ip::icmpv6::layer::Icmpv6Layer;
use crate::ip::icmpv6::ParamProblem;
use crate::ip::input::{Inbound, Received};
use crate::ip::ipv6::input::{Inbound6, Received6};
use crate::ip::ipv6::layer::Ipv6Layer;
use crate::ip::layer::IpLayer;
use crate::ip::pmtu::PathMtus;
use crate::ip::{Ipv4Cidr, Ipv4Layer, Ipv6Cidr, DEFAULT_TTL};
use crate::link::ethernet::MacAddr;
use crate::link::interface::EthernetInterface;
use crate::link::neighbour::{NeighbourConfig, NeighbourInfo};
use crate::link::Reason;
use crate::queue::PacketQueue;
use crate::stats::{DropReason, Stats};
use crate::tcp::demux::Progress;
use crate::tcp::{TcpConfig, TcpLayer};
use crate::time::Instant;
use crate::udp::input::Delivery;
use crate::udp::UdpLayer;

/// How a host is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our address and the network it is on, e.g. `10.77.0.2/24`.
    pub addr: Ipv4Cidr,
    /// Our IPv6 address and its network, e.g. `fd77::2/64`; `None`: IPv6 is off. With it on we
    /// also have a link-local address, fe80:: and an identifier from [`Config::mac`]
    /// ([`crate::ip::addr6::link_local_for`]).
    pub addr6: Option<Ipv6Cidr>,
    /// Where IPv6 packets for addresses off our networks go, on an Ethernet device (like
    /// [`Config::gateway`]).
    pub gateway6: Option<Ipv6Addr>,
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
    /// What the device carries: bare IP, or Ethernet frames (then the host frames its packets
    /// and runs ARP). [`Stack::new`](crate::Stack::new) takes it from the device.
    pub medium: Medium,
    /// Our MAC address, on an Ethernet device. [`Config::new`] makes a locally administered
    /// one from the IPv4 address: `02:00` and the address's four bytes (10.77.0.2 is
    /// 02:00:0a:4d:00:02), unique on a link where the addresses are.
    pub mac: MacAddr,
    /// Where packets for addresses off our network go, on an Ethernet device: a router on our
    /// network. `None`: only our network is reachable; a packet for anywhere else is dropped and
    /// its sender told "network unreachable". (On a TUN device every packet goes to the kernel,
    /// which routes it.)
    pub gateway: Option<Ipv4Addr>,
    /// The neighbour cache's bounds and timers (ARP).
    pub neighbours: NeighbourConfig,
    /// IPv4 reassembly's limits: 30 s, 4 MiB for all datagrams, 64 fragments each.
    pub reassembly: ReassemblyConfig,
    /// IPv6 reassembly's limits: 60 s ([RFC 8200 section 4.5]), 4 MiB, 64 fragments each.
    ///
    /// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    pub reassembly6: ReassemblyConfig,
}

impl Config {
    /// A configuration for address `addr` with defaults for everything else: MTU 1500, TTL
    /// 64, Linux's ICMP rate limit, 256 datagrams per UDP socket, 256 queued packets.
    pub fn new(addr: Ipv4Cidr) -> Config {
        Config {
            addr,
            addr6: None,
            gateway6: None,
            mtu: 1500,
            ttl: DEFAULT_TTL,
            seed: None,
            icmp_rate_limit: RateLimit::default(),
            udp_recv_queue: 256,
            out_queue: 256,
            tcp: TcpConfig::default(),
            medium: Medium::Ip,
            mac: Config::mac_for(addr.address()),
            gateway: None,
            neighbours: NeighbourConfig::default(),
            reassembly: ReassemblyConfig::default(),
            reassembly6: crate::ip::ipv6::fragment::REASSEMBLY_CONFIG,
        }
    }

    /// This configuration with IPv6 on, at `addr6` (and a link-local address).
    pub fn with_ipv6(mut self, addr6: Ipv6Cidr) -> Config {
        self.addr6 = Some(addr6);
        self
    }

    /// The MAC address [`Config::new`] gives `addr`: `02:00` (locally administered, unicast)
    /// followed by the address's four bytes.
    pub fn mac_for(addr: Ipv4Addr) -> MacAddr {
        let [a, b, c, d] = addr.octets();
        MacAddr::new([0x02, 0x00, a, b, c, d])
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

/// What became of a transport segment handed up.
enum Delivered {
    /// Taken, or dropped and counted by the transport.
    Done,
    /// UDP: no socket on this port; the sender should hear "port unreachable".
    NoPort(u16),
    /// No transport for this protocol.
    NoProtocol,
}

/// One host's protocol state: every layer, no I/O.
#[derive(Debug)]
pub struct Host {
    config: Config,
    pub(crate) ip: IpLayer,
    pub(crate) icmp: IcmpLayer,
    pub(crate) icmpv6: Icmpv6Layer,
    pub(crate) udp: UdpLayer,
    pub(crate) tcp: TcpLayer,
    /// The link layer, on an Ethernet device: framing, ARP, the neighbour cache. `None` on a
    /// device that carries bare IP.
    pub(crate) link: Option<EthernetInterface>,
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
        let mut v4 = Ipv4Layer::new(config.addr, config.ttl, rng.u16(..));
        v4.mtu = config.mtu;
        v4.reassembler = Reassembler::new(config.reassembly);
        let v6 = config.addr6.map(|addr6| {
            let link_local = link_local_for(config.mac);
            let mut v6 = Ipv6Layer::new(link_local, addr6, config.ttl, rng.u32(..));
            v6.mtu = config.mtu;
            v6.reassembler = Reassembler::new(config.reassembly6);
            v6
        });
        let icmp = IcmpLayer::new(config.icmp_rate_limit, rng.u16(..), config.mtu);
        let icmpv6 = Icmpv6Layer::new(config.icmp_rate_limit, rng.u16(..));
        Ok(Host {
            ip: IpLayer {
                v4,
                v6,
                pmtu: PathMtus::new(config.mtu),
            },
            icmp,
            icmpv6,
            udp: UdpLayer::new(config.udp_recv_queue),
            tcp: TcpLayer::new(config.tcp.clone(), config.mtu, config.seed)?,
            link: match config.medium {
                Medium::Ip => None,
                Medium::Ethernet => Some(EthernetInterface::new(
                    config.mac,
                    config.addr,
                    config.gateway,
                    config.addr6,
                    config.gateway6,
                    config.neighbours.clone(),
                )),
            },
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

    /// Our global IPv6 address, when IPv6 is on.
    pub fn addr6(&self) -> Option<Ipv6Addr> {
        self.ip.v6.as_ref().map(Ipv6Layer::global)
    }

    /// Our link-local IPv6 address, when IPv6 is on.
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.ip.v6.as_ref().map(Ipv6Layer::link_local)
    }

    /// Our MAC address, on an Ethernet device.
    pub fn mac(&self) -> Option<MacAddr> {
        self.link.as_ref().map(EthernetInterface::mac)
    }

    /// The neighbour table at `now`, as `ip neigh` lists it: empty on a device without
    /// Ethernet.
    pub fn neighbours(&self, now: Instant) -> Vec<NeighbourInfo> {
        self.link
            .as_ref()
            .map(|link| link.neighbours.table(now))
            .unwrap_or_default()
    }

    /// A snapshot of every layer's counters.
    pub fn stats(&self) -> Stats {
        let link = self.link.as_ref();
        Stats {
            ethernet: link.map(|l| l.stats).unwrap_or_default(),
            arp: link.map(|l| l.arp_stats).unwrap_or_default(),
            ndp: link.map(|l| l.ndp_stats).unwrap_or_default(),
            dad: link.map(|l| l.dad_stats()).unwrap_or_default(),
            neighbours: link.map(|l| l.neighbours.stats).unwrap_or_default(),
            ip: self.ip.v4.stats,
            ipv6: self.ip.v6.as_ref().map(|v6| v6.stats).unwrap_or_default(),
            icmpv6: self.icmpv6.stats,
            icmp: self.icmp.stats,
            udp: self.udp.stats,
            tcp: self.tcp.stats,
            handshakes: self.tcp.handshakes,
        }
    }

    /// Takes one packet (a frame, on an Ethernet device) from the link, at time `now`, up
    /// through the layers: IPv4 or IPv6 by the version in its first four bits.
    pub fn receive(&mut self, now: Instant, bytes: &[u8]) {
        let bytes = match &mut self.link {
            None => bytes,
            // ARP and neighbour discovery stay in the link layer; only IP comes up.
            Some(link) => match link.receive(now, bytes) {
                Some(packet) => packet,
                None => return,
            },
        };
        self.expire_fragments(now);
        self.sync_usable_addresses();
        match bytes.first().map(|b| b >> 4) {
            Some(6) if self.ip.v6.is_some() => self.receive_v6(now, bytes),
            // Anything else is IPv4's to check (and drop, if it is not IPv4).
            _ => self.receive_v4(now, bytes),
        }
    }

    /// Which of our IPv6 addresses duplicate address detection has passed, on an Ethernet
    /// device: the IPv6 layer neither takes packets for a tentative address nor sends from it
    /// ([RFC 4862 5.4]). On a TUN device there is no detection, and every address is usable.
    ///
    /// [RFC 4862 5.4]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4
    fn sync_usable_addresses(&mut self) {
        if let (Some(link), Some(v6)) = (self.link.as_ref(), self.ip.v6.as_mut()) {
            for ours in &mut v6.addrs {
                ours.usable = link.ipv6_usable(ours.cidr.address());
            }
        }
    }

    /// An IPv4 packet, up through IPv4 to ICMP, UDP or TCP.
    fn receive_v4(&mut self, now: Instant, bytes: &[u8]) {
        let reassembled;
        let inbound = match self.ip.v4.receive(now, bytes) {
            None => return,
            Some(Received::Packet(inbound)) => inbound,
            Some(Received::Reassembled(datagram)) => {
                reassembled = datagram;
                match Inbound::of(&reassembled) {
                    Some(inbound) => inbound,
                    None => return,
                }
            }
        };
        let Inbound {
            header,
            payload,
            packet,
        } = inbound;
        let (src, dst) = (header.src_addr, header.dst_addr);
        if header.protocol == IpProtocol::Icmp {
            let error = self
                .icmp
                .receive(now, &mut self.ip.v4, &mut self.out, src, payload);
            if let Some(error) = error {
                self.transport_error(now, &error);
            }
            return;
        }
        let reason = match self.deliver(now, (src.into(), dst.into()), header.protocol, payload) {
            Delivered::Done => return,
            Delivered::NoPort(_) => DstUnreachable::PortUnreachable,
            // RFC 1122 3.2.2.1: a host SHOULD send protocol unreachable.
            Delivered::NoProtocol => DstUnreachable::ProtoUnreachable,
        };
        let (ip, out) = (&mut self.ip.v4, &mut self.out);
        self.icmp
            .send_unreachable(now, ip, out, reason, src, packet);
    }

    /// An IPv6 packet, up through IPv6 to ICMPv6, UDP or TCP.
    fn receive_v6(&mut self, now: Instant, bytes: &[u8]) {
        let Some(v6) = self.ip.v6.as_mut() else {
            return;
        };
        let reassembled;
        let inbound = match v6.receive(now, bytes) {
            None => return,
            Some(Received6::Packet(inbound)) => inbound,
            Some(Received6::Reassembled(datagram)) => {
                reassembled = datagram;
                match Inbound6::of(&reassembled) {
                    Some(inbound) => inbound,
                    None => return,
                }
            }
            Some(Received6::Problem {
                code,
                pointer,
                packet,
            }) => {
                let problem = (code.into(), pointer);
                self.icmpv6
                    .send_param_problem(now, v6, &mut self.out, packet, problem);
                return;
            }
        };
        let (src, dst) = (inbound.header.src_addr, inbound.header.dst_addr);
        if inbound.protocol == IpProtocol::Icmpv6 {
            let error = self
                .icmpv6
                .receive(now, v6, &mut self.out, (src, dst), inbound.payload);
            if let Some(error) = error {
                self.transport_error(now, &error);
            }
            return;
        }
        // UDP and TCP take only what was sent to one address of ours, not to a group.
        if dst.is_multicast() {
            v6.stats.dropped.add(DropReason::NotForUs);
            return;
        }
        let packet = inbound.packet;
        match self.deliver(
            now,
            (src.into(), dst.into()),
            inbound.protocol,
            inbound.payload,
        ) {
            Delivered::Done => {}
            Delivered::NoPort(port) => {
                if let Some(v6) = self.ip.v6.as_mut() {
                    self.icmpv6
                        .send_port_unreachable(now, v6, &mut self.out, packet, port);
                }
            }
            // RFC 8200 4: an unknown Next Header earns a Parameter Problem, code 1, pointing
            // at the field that named it.
            Delivered::NoProtocol => {
                let problem = (ParamProblem::UnrecognizedNextHeader, inbound.protocol_field);
                if let Some(v6) = self.ip.v6.as_mut() {
                    self.icmpv6
                        .send_param_problem(now, v6, &mut self.out, packet, problem);
                }
            }
        }
    }

    /// Hands a transport segment from `src` to `dst` (of either version) to UDP or TCP.
    fn deliver(
        &mut self,
        now: Instant,
        (src, dst): (IpAddr, IpAddr),
        protocol: IpProtocol,
        payload: &[u8],
    ) -> Delivered {
        match protocol {
            IpProtocol::Udp => match self.udp.receive(src, dst, payload) {
                Delivery::NoSocket => Delivered::NoPort(crate::wire::read_u16(payload, 2)),
                _ => Delivered::Done,
            },
            IpProtocol::Tcp => {
                let progress =
                    self.tcp
                        .receive(now, &mut self.ip, &mut self.out, (src, dst), payload);
                if let (Progress::From(peer), Some(link)) = (progress, &mut self.link) {
                    link.confirm(now, peer);
                }
                Delivered::Done
            }
            other => {
                debug!(
                    number = u8::from(other),
                    "ip: no transport for this protocol"
                );
                self.ip.v4.stats.dropped.add(DropReason::UnknownProtocol);
                Delivered::NoProtocol
            }
        }
    }

    /// An ICMP or ICMPv6 error about a datagram we sent, to the transport that sent it.
    ///
    /// A smaller path MTU reported about a UDP datagram is believed when a socket of ours is on
    /// its source port: UDP has no sequence numbers to check it by (TCP checks its own).
    fn transport_error(&mut self, now: Instant, error: &IcmpError) {
        match error.protocol {
            IpProtocol::Udp => {
                if let Problem::TooBig { mtu } = error.problem {
                    if self.udp.socket_on_port(error.local.port()).is_some() {
                        let remote = error.remote.ip();
                        self.ip.pmtu.lower(now, remote, mtu, error.sent_len);
                    }
                }
                self.udp.icmp_error(error)
            }
            IpProtocol::Tcp => self.tcp.icmp_error(now, &mut self.ip, error),
            _ => {}
        }
    }

    /// Path MTUs that aged out: the paths are the link's size again, and TCP grows its
    /// segments back.
    fn expire_paths(&mut self, now: Instant) {
        if self.ip.pmtu.poll_at().is_none_or(|at| at > now) {
            return;
        }
        for dst in self.ip.pmtu.expire(now) {
            let mss = self.ip.path_mss(dst);
            self.tcp.path_mtu_changed(now, dst, mss);
        }
    }

    /// The next packet for the link (a frame, on an Ethernet device), in `buf`; `None` when
    /// there is nothing to send. Runs the timers that are due first.
    ///
    /// On Ethernet, the link layer's own frames go first (ARP, and packets whose next hop has
    /// just answered); then every packet is framed for its next hop, or waits for ARP's
    /// answer while the next one is tried.
    pub fn transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.expire_fragments(now);
        self.expire_paths(now);
        if self.link.is_none() {
            return self.transmit_ip(now, buf);
        }
        loop {
            let link = self.link.as_mut()?;
            let own = link.transmit(now, buf);
            // Detection may have just passed (or found a duplicate).
            self.sync_usable_addresses();
            // Before TCP's timers run: a connect that has just failed sends no more SYNs.
            self.report_undeliverable(now);
            if let Some(why) = own {
                return Some(Transmit { why });
            }
            let mut transmit = self.transmit_ip(now, buf)?;
            let link = self.link.as_mut()?;
            if link.send(now, buf, &mut transmit.why) {
                return Some(transmit);
            }
            // It waits for ARP (a request may now be ready), or could not go: next.
        }
    }

    /// Drops the datagrams whose reassembly time has run out, counting their fragments, and
    /// tells each sender whose first fragment had come: ICMP time exceeded, "fragment
    /// reassembly time exceeded" ([RFC 792]; [RFC 1122 3.3.2]: only "if fragment zero has been
    /// received"), quoting that fragment, rate-limited like every ICMP error. Linux does the
    /// same (`ip_expire`).
    ///
    /// [RFC 792]: https://www.rfc-editor.org/rfc/rfc792
    /// [RFC 1122 3.3.2]: https://www.rfc-editor.org/rfc/rfc1122#section-3.3.2
    fn expire_fragments(&mut self, now: Instant) {
        self.expire_fragments_v6(now);
        if self.ip.v4.reassembler.poll_at().is_none_or(|at| at > now) {
            return;
        }
        for expired in self.ip.v4.reassembler.expire(now) {
            let key = expired.key;
            debug!(
                src = %key.src, ident = key.ident, fragments = expired.fragments,
                "ip: reassembly timed out"
            );
            let reason = DropReason::ReassemblyTimeout;
            self.ip.v4.stats.dropped.add_many(reason, expired.fragments);
            if let Some((mut quote, data)) = expired.first {
                quote.extend_from_slice(&data[..data.len().min(ERROR_QUOTE_MAX)]);
                let reason = TimeExceeded::FragReassembly;
                let (ip, out) = (&mut self.ip.v4, &mut self.out);
                self.icmp
                    .send_time_exceeded(now, ip, out, reason, key.src, &quote);
            }
        }
    }

    /// IPv6's packets whose reassembly time (60 s) has run out, as [`Host::expire_fragments`]
    /// for IPv4: ICMPv6 time exceeded, code 1, only when the first fragment came ([RFC 8200
    /// section 4.5]).
    ///
    /// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    fn expire_fragments_v6(&mut self, now: Instant) {
        let Some(v6) = self.ip.v6.as_mut() else {
            return;
        };
        if v6.reassembler.poll_at().is_none_or(|at| at > now) {
            return;
        }
        for expired in v6.reassembler.expire(now) {
            debug!(src = %expired.key.src, fragments = expired.fragments, "ipv6: reassembly timed out");
            let reason = DropReason::ReassemblyTimeout;
            v6.stats.dropped.add_many(reason, expired.fragments);
            if let Some((mut first, data)) = expired.first {
                first.extend_from_slice(&data);
                self.icmpv6
                    .send_reassembly_timeout(now, v6, &mut self.out, &first);
            }
        }
    }

    /// Tells the senders of packets that could not be delivered: a next hop that never
    /// answered ARP is "host unreachable", as an ICMP error from a router would say (Linux does
    /// the same, `arp_error_report`); no route is "network unreachable".
    fn report_undeliverable(&mut self, now: Instant) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        for lost in link.take_undeliverable() {
            let problem = if lost.no_route {
                Problem::NetUnreachable
            } else {
                Problem::HostUnreachable
            };
            if let Ok(error) = IcmpError::about(problem, &lost.packet) {
                self.transport_error(now, &error);
            }
        }
    }

    /// The next IP packet, in `buf`: packets built on arrival (echo replies, ICMP errors,
    /// resets, UDP datagrams) first, in order; then TCP's segments, one connection after
    /// another.
    fn transmit_ip(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
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
        let link = self.link.as_ref().and_then(EthernetInterface::poll_at);
        let fragments = self.ip.v4.reassembler.poll_at();
        let fragments6 = self.ip.v6.as_ref().and_then(|v6| v6.reassembler.poll_at());
        [
            self.tcp.poll_at(),
            link,
            fragments,
            fragments6,
            self.ip.pmtu.poll_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether the host still has work without any socket: packets waiting for the link, or
    /// TCP connections finishing their close.
    pub fn is_busy(&self) -> bool {
        self.out.len() > 0
            || self.tcp.has_connections()
            || self.link.as_ref().is_some_and(EthernetInterface::is_busy)
    }

    /// Whether something waits to be sent right now (the driver should be woken).
    pub(crate) fn wants_transmit(&self) -> bool {
        self.out.len() > 0
            || self.tcp.has_ready()
            || self.link.as_ref().is_some_and(EthernetInterface::has_ready)
    }

    /// The link is gone for good: every TCP connection fails with `kind`, and every task
    /// waiting on a socket (in `accept`, a receive, a ping, for room to send) is woken, to find
    /// the stack's error.
    pub(crate) fn fail_all(&mut self, kind: io::ErrorKind) {
        debug!(?kind, "host: the link is gone, every socket fails");
        self.tcp.fail_all(kind);
        self.udp.wake_all();
        self.icmp.wake_echo_waiters();
        self.icmpv6.wake_echo_waiters();
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

#[cfg(test)]
mod ethernet_tests;
#[cfg(test)]
mod ipv6_tests;
#[cfg(test)]
mod pmtu_tests;
mod sockets;
#[cfg(test)]
mod tests;
