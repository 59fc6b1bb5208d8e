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
use std::net::{Ipv4Addr, Ipv6Addr};
use std::task::{Context, Waker};

use tracing::debug;

use crate::device::{Medium, PacketInfo, Tail};
use crate::ip::addr6::link_local_for;
use crate::ip::fragment::Reassembler;
use crate::ip::icmp::IcmpLayer;
use crate::ip::icmpv6::layer::Icmpv6Layer;
use crate::ip::ipv6::layer::Ipv6Layer;
use crate::ip::layer::IpLayer;
use crate::ip::pmtu::PathMtus;
use crate::ip::Ipv4Layer;
use crate::link::ethernet::MacAddr;
use crate::link::interface::EthernetInterface;
use crate::link::neighbour::NeighbourInfo;
use crate::link::Reason;
use crate::queue::PacketQueue;
use crate::stats::Stats;
use crate::tcp::TcpLayer;
use crate::time::Instant;
use crate::udp::UdpLayer;

pub use config::Config;

/// What [`Host::transmit`] gives back besides the packet: why it was sent, when that is worth
/// telling (captures show it as the frame comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Why it was sent, when that is worth telling: captures word it as the frame comment
    /// (e.g. "retransmission #2 after RTO 400 ms").
    pub why: Option<Reason>,
    /// What the device is to do for it: complete its checksum, cut it into segments (only
    /// with the device's [`Offloads`](crate::device::Offloads), or with trains:
    /// [`Host::set_trains`]).
    pub info: PacketInfo,
    /// The rest of the packet, when it is not in the buffer: a TCP segment's data, still in
    /// the send buffer it was written to, in a few pieces (none: the packet is whole).
    /// Only [`Host::transmit_parts`] leaves data here; the packet is then the buffer's bytes
    /// followed by these.
    pub tail: Tail,
}

impl Transmit {
    /// A plain packet: whole checksums, no larger than the MTU.
    pub fn plain(why: Option<Reason>) -> Transmit {
        Transmit {
            why,
            info: PacketInfo::PLAIN,
            tail: Default::default(),
        }
    }
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
        // One echo identifier for both versions, as one `ping` process has; drawn before
        // anything IPv6 needs, so an IPv4-only host draws what it always drew.
        let echo_ident = rng.u16(..);
        let v6 = config.addr6.map(|addr6| {
            let link_local = link_local_for(config.mac);
            let mut v6 = Ipv6Layer::new(link_local, addr6, config.ttl, rng.u32(..));
            v6.mtu = config.mtu;
            v6.reassembler = Reassembler::new(config.reassembly6);
            v6
        });
        let icmp = IcmpLayer::new(config.icmp_rate_limit, echo_ident, config.mtu);
        let icmpv6 = Icmpv6Layer::new(config.icmp_rate_limit, echo_ident);
        let mut host = Host {
            ip: IpLayer {
                v4,
                v6,
                pmtu: PathMtus::new(config.mtu),
                offloads: config.offloads,
                trains: false,
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
        };
        // On Ethernet our IPv6 addresses wait for duplicate address detection from the start.
        host.sync_usable_addresses();
        Ok(host)
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

    /// Whether one of our IPv6 addresses is still tentative: duplicate address detection has
    /// not yet passed it (on an Ethernet device; never on TUN).
    pub fn ipv6_tentative(&self) -> bool {
        let (Some(link), Some(v6)) = (self.link.as_ref(), self.ip.v6.as_ref()) else {
            return false;
        };
        v6.addrs
            .iter()
            .any(|a| link.ipv6_tentative(a.cidr.address()))
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

    /// The next packet for the link (a frame, on an Ethernet device), in `buf`; `None` when
    /// there is nothing to send. Runs the timers that are due first.
    ///
    /// On Ethernet, the link layer's own frames go first (ARP, and packets whose next hop has
    /// just answered); then every packet is framed for its next hop, or waits for ARP's
    /// answer while the next one is tried.
    pub fn transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.transmit_with(now, buf, false)
    }

    /// Like [`Host::transmit`], but a TCP segment's data may stay where it is, in the send
    /// buffer: `buf` then holds the headers, and [`Transmit::tail`] the data, which the device
    /// sends after them (`writev`) with no copy into a packet. On an Ethernet device, whose
    /// frames may wait for ARP, every packet is whole in `buf`.
    pub fn transmit_parts(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.transmit_with(now, buf, true)
    }

    /// [`Host::transmit`], with the data left in the send buffer when `parts` says so.
    fn transmit_with(&mut self, now: Instant, buf: &mut Vec<u8>, parts: bool) -> Option<Transmit> {
        self.expire_fragments(now);
        self.expire_paths(now);
        if self.link.is_none() {
            return self.transmit_ip(now, buf, parts);
        }
        loop {
            let link = self.link.as_mut()?;
            let own = link.transmit(now, buf);
            // Detection may have just passed (or found a duplicate).
            self.sync_usable_addresses();
            // Before TCP's timers run: a connect that has just failed sends no more SYNs.
            self.report_undeliverable(now);
            if let Some(why) = own {
                return Some(Transmit::plain(why));
            }
            let mut transmit = self.transmit_ip(now, buf, false)?;
            let link = self.link.as_mut()?;
            if link.send(now, buf, &mut transmit.why) {
                // The offsets the device needs now count the Ethernet header too.
                transmit.info = transmit.info.shifted(Medium::Ethernet.header_len() as u16);
                return Some(transmit);
            }
            // It waits for ARP (a request may now be ready), or could not go: next.
        }
    }

    /// The next IP packet, in `buf`: packets built on arrival (echo replies, ICMP errors,
    /// resets, UDP datagrams) first, in order; then TCP's segments, one connection after
    /// another.
    fn transmit_ip(&mut self, now: Instant, buf: &mut Vec<u8>, parts: bool) -> Option<Transmit> {
        if let Some(why) = self.out.pop_into(buf) {
            for waker in self.out_waiters.drain(..) {
                waker.wake();
            }
            return Some(Transmit::plain(why));
        }
        self.tcp.transmit(now, &mut self.ip, buf, parts)
    }

    /// Lets TCP send trains of segments (see [`Config::gso`]), as [`Stack::new`](crate::Stack::new)
    /// does for a device without TSO. A host driven by hand that turns them on must do what
    /// the driver does: a packet whose [`Transmit::info`] has a [`Gso`](crate::device::offload::Gso)
    /// is cut with [`offload::segment`](crate::device::offload::segment) (or
    /// [`segment_parts`](crate::device::offload::segment_parts)) before it goes on a wire.
    pub fn set_trains(&mut self, on: bool) {
        self.ip.trains = on;
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
        self.icmp.echoes.wake_all();
        self.icmpv6.echoes.wake_all();
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

mod config;
#[cfg(test)]
mod ethernet_tests;
mod input;
#[cfg(test)]
mod ipv6_tests;
#[cfg(test)]
mod parts_tests;
#[cfg(test)]
mod pmtu_tests;
mod sockets;
#[cfg(test)]
mod tests;
mod timers;
