//! An Ethernet interface: the link layer between the IP layer and a device that carries frames.
//!
//! Going down, [`EthernetInterface::send`] takes an IP packet (IPv4 or IPv6, by its version
//! nibble), finds its next hop (the destination itself when it is on our network, else the
//! gateway), looks up the next hop's MAC address in the neighbour cache, and puts the 14-byte
//! Ethernet header in front:
//!
//! ```text
//!  ┌──────────────────────┬─────────────────────────────────────┐
//!  │ Ethernet header      │ IP packet (from the IP layer)       │   one frame on the device
//!  │ dst MAC, src MAC,    │                                     │   (the FCS a NIC adds after
//!  │ EtherType 0x0800 or  │                                     │   it is not on a TAP device)
//!  │ 0x86DD (IPv6)        │                                     │
//!  └──────────────────────┴─────────────────────────────────────┘
//! ```
//!
//! Without an address for the next hop the packet waits in the cache, and an ARP request
//! (IPv4) or a Neighbor Solicitation (IPv6) asks for it; when the answer comes, the packets
//! that waited go out ([`super::neighbour`]). A multicast destination needs no question: its
//! MAC address is made from the group address.
//!
//! Going up, [`EthernetInterface::receive`] checks that a frame is for us (our MAC, broadcast,
//! or with IPv6 on an IPv6 multicast MAC), answers and learns from ARP (`arp.rs`) and from
//! Neighbor Discovery (`ndp.rs`, [`super::ndp`]), and hands every other IPv4 and IPv6 packet to
//! the IP layer. With IPv6 on, it also checks that our IPv6 addresses are free before they are
//! used (duplicate address detection).
//!
//! This is the sans-IO part of CS144's `NetworkInterface` and of smoltcp's
//! `Medium::Ethernet`: no device, no clock; time comes in as an argument, and frames go out
//! through [`EthernetInterface::transmit`].

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tracing::debug;

use super::ethernet::header::{self as ethernet, EtherType, Frame};
use super::ethernet::MacAddr;
use super::ndp::dad::OurAddrs;
use super::ndp::message;
use super::ndp::DadStats;
use super::neighbour::{Action, Held, Lookup, NeighbourCache, NeighbourConfig};
use super::reason::Reason;
use crate::ip::addr6::{is_link_local, link_local_for};
use crate::ip::{header as ip_header, ipv6, Ipv4Cidr, Ipv6Cidr};
use crate::stats::{DropReason, LayerStats};
use crate::time::Instant;

mod arp;
mod ndp;
#[cfg(test)]
mod tests;

/// How many frames of our own (ARP, NDP, and packets that waited) may wait for the device;
/// past that, new ARP and NDP messages are dropped and counted.
const READY_MAX: usize = 512;

/// A packet that could not go, and why: its sender should hear of it.
#[derive(Debug)]
pub(crate) struct Undeliverable {
    /// The IP packet (IPv4 or IPv6).
    pub(crate) packet: Vec<u8>,
    /// No route (no gateway for an address off our network), or no answer from the next hop.
    pub(crate) no_route: bool,
}

/// The link layer of a host on an Ethernet device.
#[derive(Debug)]
pub(crate) struct EthernetInterface {
    /// Our MAC address.
    mac: MacAddr,
    /// Our address and network: who is on-link.
    addr: Ipv4Cidr,
    /// Where packets for other networks go.
    gateway: Option<Ipv4Addr>,
    /// Our IPv6 address and network; `None`: IPv6 is off.
    addr6: Option<Ipv6Cidr>,
    /// Where IPv6 packets for other networks go.
    gateway6: Option<Ipv6Addr>,
    /// Our IPv6 addresses (the link-local one and `addr6`'s) and whether they are checked.
    ours6: OurAddrs,
    /// Who is at which MAC address, and the packets waiting to know.
    pub(crate) neighbours: NeighbourCache,
    /// Frames of our own ready for the device, oldest first, with why they were sent.
    ready: VecDeque<(Vec<u8>, Option<Reason>)>,
    /// Packets that could not be delivered, for the host to report to their senders.
    undeliverable: Vec<Undeliverable>,
    /// Ethernet frames: received, delivered up, sent, dropped.
    pub(crate) stats: LayerStats,
    /// ARP packets: received, answered or learned from, sent, dropped.
    pub(crate) arp_stats: LayerStats,
    /// Neighbor Discovery messages: received, acted on, sent, dropped.
    pub(crate) ndp_stats: LayerStats,
}

impl EthernetInterface {
    /// An interface with MAC address `mac` for `addr` (and, with IPv6 on, `addr6` and the
    /// link-local address made from `mac`), which announces itself at once: the first frame
    /// it sends is a gratuitous ARP ([RFC 5227 3]), so that neighbours with an old entry for
    /// our address learn the new MAC address. Then, with IPv6 on, each IPv6 address is
    /// checked before it is used ([RFC 4862 5.4]): the check starts with the first call to
    /// [`EthernetInterface::transmit`], which is where the interface first learns the time.
    ///
    /// [RFC 5227 3]: https://www.rfc-editor.org/rfc/rfc5227#section-3
    /// [RFC 4862 5.4]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4
    pub(crate) fn new(
        mac: MacAddr,
        addr: Ipv4Cidr,
        gateway: Option<Ipv4Addr>,
        addr6: Option<Ipv6Cidr>,
        gateway6: Option<Ipv6Addr>,
        config: NeighbourConfig,
    ) -> EthernetInterface {
        let ours6 = match addr6 {
            Some(cidr) => vec![link_local_for(mac), cidr.address()],
            None => Vec::new(),
        };
        let ours6 = OurAddrs::new(&ours6, config.dad_transmits, config.retrans_time);
        let mut interface = EthernetInterface {
            mac,
            addr,
            gateway,
            addr6,
            gateway6,
            ours6,
            neighbours: NeighbourCache::new(config),
            ready: VecDeque::new(),
            undeliverable: Vec::new(),
            stats: LayerStats::default(),
            arp_stats: LayerStats::default(),
            ndp_stats: LayerStats::default(),
        };
        interface.announce();
        interface
    }

    /// Our MAC address.
    pub(crate) fn mac(&self) -> MacAddr {
        self.mac
    }

    /// Up: takes a frame from the device. Returns the IPv4 or IPv6 packet inside, for the IP
    /// layer; ARP and Neighbor Discovery are handled here, and anything else is dropped and
    /// counted.
    pub(crate) fn receive<'a>(&mut self, now: Instant, frame: &'a [u8]) -> Option<&'a [u8]> {
        self.stats.received += 1;
        let frame = match Frame::new_checked(frame) {
            Ok(frame) => frame,
            Err(err) => return self.stats.drop(err.into()),
        };
        let dst = frame.dst_addr();
        let ipv6 = self.addr6.is_some();
        if dst != self.mac && !dst.is_broadcast() && !(ipv6 && dst.is_ipv6_multicast()) {
            // Another host's unicast, or a multicast group we did not join.
            debug!(%dst, "ethernet: frame for another MAC address, dropped");
            return self.stats.drop(DropReason::NotForUs);
        }
        let src = frame.src_addr();
        if src == self.mac || src.is_multicast() {
            // Our own frame looped back, or a source no card may use.
            return self.stats.drop(DropReason::BadSource);
        }
        let ethertype = frame.ethertype();
        let payload = frame.into_inner().get(ethernet::HEADER_LEN..)?;
        debug!(%src, %dst, %ethertype, len = payload.len(), "ethernet: unwrap");
        match ethertype {
            EtherType::Ipv4 => {
                self.stats.delivered += 1;
                Some(payload)
            }
            EtherType::Arp => {
                self.stats.delivered += 1;
                self.receive_arp(now, src, payload);
                None
            }
            EtherType::Ipv6 if ipv6 => {
                self.stats.delivered += 1;
                match message::read(payload) {
                    None => Some(payload),
                    Some(message) => {
                        self.receive_ndp(now, src, message);
                        None
                    }
                }
            }
            EtherType::Ipv6 | EtherType::Unknown(_) => self.stats.drop(DropReason::UnknownProtocol),
        }
    }

    /// Down: wraps the IP packet in `buf` (IPv4 or IPv6) in a frame for its next hop. Returns
    /// true when `buf` holds the frame to send; false when the packet waits for the next hop's
    /// MAC address (an ARP request or a neighbour solicitation may then be ready: see
    /// [`EthernetInterface::transmit`]) or was dropped.
    pub(crate) fn send(
        &mut self,
        now: Instant,
        buf: &mut Vec<u8>,
        why: &mut Option<Reason>,
    ) -> bool {
        let Some(dst) = destination(buf) else {
            self.stats.dropped.add(DropReason::Truncated);
            return false;
        };
        let mac = match self.next_hop(dst) {
            NextHop::Mac(mac) => mac,
            NextHop::Ip(hop) => {
                let lookup = self.neighbours.lookup(now, hop, || Held {
                    packet: std::mem::take(buf),
                    why: why.take(),
                });
                match lookup {
                    Lookup::Send(mac) => mac,
                    Lookup::Held { .. } | Lookup::Dropped => {
                        self.take_actions();
                        return false;
                    }
                }
            }
            NextHop::None => {
                debug!(%dst, "ethernet: no route to {dst}: not on our network, and no gateway");
                self.stats.dropped.add(DropReason::NoRoute);
                self.undeliverable.push(Undeliverable {
                    packet: std::mem::take(buf),
                    no_route: true,
                });
                return false;
            }
        };
        let ethertype = ethertype_of(buf);
        self.frame(buf, mac, ethertype);
        true
    }

    /// Puts an Ethernet header to `dst` in front of `buf`.
    fn frame(&mut self, buf: &mut Vec<u8>, dst: MacAddr, ethertype: EtherType) {
        let header = ethernet::Repr {
            dst_addr: dst,
            src_addr: self.mac,
            ethertype,
        };
        let mut bytes = [0; ethernet::HEADER_LEN];
        header.emit(&mut bytes);
        buf.splice(0..0, bytes);
        debug!(
            "ethernet: wrap {} bytes -> {header}",
            buf.len() - bytes.len()
        );
        self.stats.sent += 1;
    }

    /// An upper layer saw that `peer` hears us (a TCP ACK for new data): the neighbour on the
    /// way to it is reachable, with no need to ask (RFC 4861 7.3.1; Linux's `dst_confirm`).
    pub(crate) fn confirm(&mut self, now: Instant, peer: impl Into<IpAddr>) {
        if let NextHop::Ip(hop) = self.next_hop(peer.into()) {
            self.neighbours.confirm(now, hop);
        }
    }

    /// Where a packet to `dst` goes first.
    fn next_hop(&self, dst: IpAddr) -> NextHop {
        match dst {
            IpAddr::V4(dst) => self.next_hop_v4(dst),
            IpAddr::V6(dst) => self.next_hop_v6(dst),
        }
    }

    /// Where an IPv4 packet goes first.
    fn next_hop_v4(&self, dst: Ipv4Addr) -> NextHop {
        if dst.is_broadcast() || (self.addr.contains(dst) && dst == self.addr.broadcast()) {
            return NextHop::Mac(MacAddr::BROADCAST);
        }
        if dst.is_multicast() {
            return NextHop::Mac(MacAddr::ipv4_multicast(dst));
        }
        if self.addr.contains(dst) {
            return NextHop::Ip(dst.into());
        }
        match self.gateway {
            Some(gateway) => NextHop::Ip(gateway.into()),
            None => NextHop::None,
        }
    }

    /// Where an IPv6 packet goes first: a multicast group's MAC address; the destination
    /// itself when it is on-link (link-local, or on our network, [RFC 4861 5.2]); else the
    /// gateway.
    ///
    /// [RFC 4861 5.2]: https://www.rfc-editor.org/rfc/rfc4861#section-5.2
    fn next_hop_v6(&self, dst: Ipv6Addr) -> NextHop {
        let Some(cidr) = self.addr6 else {
            return NextHop::None;
        };
        if dst.is_multicast() {
            return NextHop::Mac(MacAddr::ipv6_multicast(dst));
        }
        if is_link_local(dst) || cidr.contains(dst) {
            return NextHop::Ip(dst.into());
        }
        match self.gateway6 {
            Some(gateway) => NextHop::Ip(gateway.into()),
            None => NextHop::None,
        }
    }

    /// The next frame of our own for the device, if any, after running the timers (the
    /// neighbour cache's, duplicate address detection's): ARP and NDP packets, and packets
    /// whose next hop has just answered.
    pub(crate) fn transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Option<Reason>> {
        self.run_dad(now);
        self.neighbours.poll(now);
        self.take_actions();
        let (frame, why) = self.ready.pop_front()?;
        *buf = frame;
        Some(why)
    }

    /// Turns what the neighbour cache decided into frames.
    fn take_actions(&mut self) {
        while let Some(action) = self.neighbours.next_action() {
            match action {
                Action::Request {
                    target: IpAddr::V4(target),
                    to,
                    attempt,
                    waiting,
                } => self.request(target, to, attempt, waiting),
                Action::Request {
                    target: IpAddr::V6(target),
                    to,
                    attempt,
                    waiting,
                } => self.solicit(target, to, attempt, waiting),
                Action::Release { mac, packets } => {
                    for Held { mut packet, why } in packets {
                        let ethertype = ethertype_of(&packet);
                        self.frame(&mut packet, mac, ethertype);
                        self.ready.push_back((packet, why));
                    }
                }
                Action::Unreachable { ip, packets } => {
                    debug!(%ip, lost = packets.len(), "link: {ip} never answered: host unreachable");
                    let packets = packets.into_iter().map(|held| Undeliverable {
                        packet: held.packet,
                        no_route: false,
                    });
                    self.undeliverable.extend(packets);
                }
            }
        }
    }

    /// Queues a frame of our own (an ARP or NDP packet) to `dst`, unless too many wait;
    /// returns whether it was queued.
    fn queue(
        &mut self,
        mut packet: Vec<u8>,
        dst: MacAddr,
        ethertype: EtherType,
        why: Reason,
    ) -> bool {
        if self.ready.len() >= READY_MAX {
            return false;
        }
        self.frame(&mut packet, dst, ethertype);
        self.ready.push_back((packet, Some(why)));
        true
    }

    /// Packets that could not be delivered since the last call.
    pub(crate) fn take_undeliverable(&mut self) -> Vec<Undeliverable> {
        std::mem::take(&mut self.undeliverable)
    }

    /// When the interface next needs [`EthernetInterface::transmit`] called: the neighbour
    /// cache's next timer, or the end of a duplicate address check.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        let dad = self.ours6.poll_at();
        [self.neighbours.poll_at(), dad].into_iter().flatten().min()
    }

    /// Whether frames of our own are ready now (a duplicate address check that has not
    /// started counts: its first solicitation is ready).
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty() || self.ours6.unstarted()
    }

    /// Whether anything is ready or waiting for an answer.
    pub(crate) fn is_busy(&self) -> bool {
        self.has_ready() || self.neighbours.has_pending()
    }

    /// Duplicate address detection's counters.
    pub(crate) fn dad_stats(&self) -> DadStats {
        self.ours6.stats
    }
}

/// What the host's IPv6 layer asks the link layer: which of our addresses duplicate address
/// detection lets it use. (The IPv6 layer keeps the addresses and picks sources itself, as on
/// a TUN device, where there is no detection; the rest is here for tests.)
impl EthernetInterface {
    /// Whether `addr` is one of our IPv6 addresses and checked: the host may use it as a
    /// source, and takes packets sent to it. A tentative address (being checked) or a
    /// duplicate one (another host has it) is not usable ([RFC 4862 5.4]).
    ///
    /// [RFC 4862 5.4]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4
    pub(crate) fn ipv6_usable(&self, addr: Ipv6Addr) -> bool {
        self.ours6.usable(addr)
    }

    /// Whether `addr` is one of ours still being checked.
    pub(crate) fn ipv6_tentative(&self, addr: Ipv6Addr) -> bool {
        matches!(
            self.ours6.state(addr),
            Some(crate::link::ndp::dad::AddrState::Tentative { .. })
        )
    }

    /// Our usable IPv6 addresses, the link-local one first; none with IPv6 off.
    #[cfg(test)]
    pub(crate) fn ipv6_addrs(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.ours6.usable_addrs()
    }

    /// The source address for an IPv6 packet to `dst`: the link-local address for a
    /// link-local or link-scope multicast destination, the configured one otherwise, the
    /// other one if the better one is not usable; `None` when neither is.
    #[cfg(test)]
    pub(crate) fn ipv6_source(&self, dst: Ipv6Addr) -> Option<Ipv6Addr> {
        self.ours6.source_for(dst)
    }

    /// Whether we listen to the IPv6 multicast `group`: all nodes (ff02::1), or the
    /// solicited-node group of one of our addresses.
    #[cfg(test)]
    pub(crate) fn ipv6_joined(&self, group: Ipv6Addr) -> bool {
        self.addr6.is_some() && self.ours6.joined(group)
    }
}

/// The destination of an IPv4 or IPv6 packet, by its version nibble; `None` if the header is
/// short or the version is neither. A BIG TCP super-packet (Total Length 0) has one too.
fn destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => ip_header::Packet::new_checked_super(packet)
            .ok()
            .map(|p| p.dst_addr().into()),
        6 => ipv6::Packet::new_checked(packet)
            .ok()
            .map(|p| p.dst_addr().into()),
        _ => None,
    }
}

/// The EtherType of a frame carrying `packet`: IPv6 for version 6, IPv4 otherwise.
fn ethertype_of(packet: &[u8]) -> EtherType {
    match packet.first().map(|b| b >> 4) {
        Some(6) => EtherType::Ipv6,
        _ => EtherType::Ipv4,
    }
}

/// The first stop of a packet.
enum NextHop {
    /// A MAC address known without asking: broadcast, or a multicast group's.
    Mac(MacAddr),
    /// A neighbour on the link, whose MAC address the cache knows or finds.
    Ip(IpAddr),
    /// Nowhere: off our network, with no gateway (or IPv6 with IPv6 off).
    None,
}
