//! An Ethernet interface: the link layer between the IP layer and a device that carries frames.
//!
//! Going down, [`EthernetInterface::send`] takes an IP packet, finds its next hop (the
//! destination itself when it is on our network, else the gateway), looks up the next hop's MAC
//! address in the neighbour cache, and puts the 14-byte Ethernet header in front:
//!
//! ```text
//!  ┌──────────────────────┬─────────────────────────────────────┐
//!  │ Ethernet header      │ IP packet (from the IP layer)       │   one frame on the device
//!  │ dst MAC, src MAC,    │                                     │   (the FCS a NIC adds after
//!  │ EtherType 0x0800     │                                     │   it is not on a TAP device)
//!  └──────────────────────┴─────────────────────────────────────┘
//! ```
//!
//! Without an address for the next hop the packet waits in the cache, and an ARP request asks
//! for it; when the answer comes, the packets that waited go out ([`super::neighbour`]).
//!
//! Going up, [`EthernetInterface::receive`] checks that a frame is for us (our MAC, or
//! broadcast), answers and learns from ARP, and hands IPv4 packets to the IP layer.
//!
//! This is the sans-IO part of CS144's `NetworkInterface` and of smoltcp's
//! `Medium::Ethernet`: no device, no clock; time comes in as an argument, and frames go out
//! through [`EthernetInterface::transmit`].

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

use tracing::debug;

use super::arp::header::{self as arp, Operation};
use super::ethernet::header::{self as ethernet, EtherType, Frame};
use super::ethernet::MacAddr;
use super::neighbour::{Action, Held, Learned, Lookup, NeighbourCache, NeighbourConfig};
use super::reason::{ArpWhy, Reason};
use crate::ip::header as ip_header;
use crate::ip::Ipv4Cidr;
use crate::stats::{DropReason, LayerStats};
use crate::time::Instant;

/// How many frames of our own (ARP, and packets that waited) may wait for the device; past
/// that, new ARP answers are dropped and counted.
const READY_MAX: usize = 512;

/// A packet that could not go, and why: its sender should hear of it.
#[derive(Debug)]
pub(crate) struct Undeliverable {
    /// The IP packet.
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
}

impl EthernetInterface {
    /// An interface with MAC address `mac` for `addr`, which announces itself at once: the
    /// first frame it sends is a gratuitous ARP ([RFC 5227 3]), so that neighbours with an old
    /// entry for our address learn the new MAC address.
    ///
    /// [RFC 5227 3]: https://www.rfc-editor.org/rfc/rfc5227#section-3
    pub(crate) fn new(
        mac: MacAddr,
        addr: Ipv4Cidr,
        gateway: Option<Ipv4Addr>,
        config: NeighbourConfig,
    ) -> EthernetInterface {
        let mut interface = EthernetInterface {
            mac,
            addr,
            gateway,
            neighbours: NeighbourCache::new(config),
            ready: VecDeque::new(),
            undeliverable: Vec::new(),
            stats: LayerStats::default(),
            arp_stats: LayerStats::default(),
        };
        let us = addr.address();
        let announce = arp::Repr {
            operation: Operation::Request,
            sender_mac: mac,
            sender_ip: us,
            target_mac: MacAddr::UNSPECIFIED,
            target_ip: us,
        };
        interface.send_arp(MacAddr::BROADCAST, &announce, ArpWhy::Announce { mac });
        interface
    }

    /// Our MAC address.
    pub(crate) fn mac(&self) -> MacAddr {
        self.mac
    }

    /// Up: takes a frame from the device. Returns the IPv4 packet inside, for the IP layer;
    /// ARP is handled here, and anything else is dropped and counted.
    pub(crate) fn receive<'a>(&mut self, now: Instant, frame: &'a [u8]) -> Option<&'a [u8]> {
        self.stats.received += 1;
        let frame = match Frame::new_checked(frame) {
            Ok(frame) => frame,
            Err(err) => return self.stats.drop(err.into()),
        };
        let dst = frame.dst_addr();
        if dst != self.mac && !dst.is_broadcast() {
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
            EtherType::Ipv6 | EtherType::Unknown(_) => self.stats.drop(DropReason::UnknownProtocol),
        }
    }

    /// An ARP packet: learn the sender (RFC 826's merge), and answer a request for our address.
    fn receive_arp(&mut self, now: Instant, src: MacAddr, payload: &[u8]) {
        self.arp_stats.received += 1;
        let repr = match arp::Packet::new_checked(payload).and_then(|p| arp::Repr::parse(&p)) {
            Ok(repr) => repr,
            Err(err) => {
                debug!(%err, "arp: dropped");
                self.arp_stats.dropped.add(err.into());
                return;
            }
        };
        debug!(%src, "arp: {repr}");
        let us = self.addr.address();
        let sender_ok = repr.sender_mac.is_unicast()
            && !repr.sender_ip.is_unspecified()
            && !repr.sender_ip.is_broadcast()
            && !repr.sender_ip.is_multicast()
            && repr.sender_mac != self.mac;
        if repr.sender_ip == us && repr.sender_mac != self.mac {
            // Someone else claims our address (RFC 5227 2.4): nothing to learn; say so.
            tracing::warn!(mac = %repr.sender_mac, "arp: another host uses our address {us}");
            self.arp_stats.dropped.add(DropReason::BadSource);
            return;
        }
        let for_us = repr.target_ip == us;
        if sender_ok {
            let how = match repr.operation {
                Operation::Reply if for_us => Learned::Answer,
                _ => Learned::Unsolicited { create: for_us },
            };
            let sender = repr.sender_ip.into();
            self.neighbours.learn(now, sender, repr.sender_mac, how);
            self.take_actions();
        }
        // A probe (sender 0.0.0.0) is answered; a sender no host may be (multicast,
        // broadcast, our own MAC) is not.
        let answerable = sender_ok || repr.sender_ip.is_unspecified();
        if repr.operation == Operation::Request && for_us && answerable {
            // The answer goes to the asker alone. A probe from a host checking whether our
            // address is free (sender 0.0.0.0, RFC 5227 2.1.1) is answered too: that is how it
            // learns that it is not.
            let reply = arp::Repr {
                operation: Operation::Reply,
                sender_mac: self.mac,
                sender_ip: us,
                target_mac: repr.sender_mac,
                target_ip: repr.sender_ip,
            };
            let to = repr.sender_ip;
            if repr.sender_mac.is_unicast() && repr.sender_mac != self.mac {
                self.send_arp(repr.sender_mac, &reply, ArpWhy::Reply { to });
            }
            self.arp_stats.delivered += 1;
        } else if !sender_ok {
            self.arp_stats.dropped.add(DropReason::BadSource);
        } else {
            self.arp_stats.delivered += 1;
        }
    }

    /// Down: wraps the IP packet in `buf` in a frame for its next hop. Returns true when `buf`
    /// holds the frame to send; false when the packet waits for the next hop's MAC address (an
    /// ARP request may then be ready: see [`EthernetInterface::transmit`]) or was dropped.
    pub(crate) fn send(
        &mut self,
        now: Instant,
        buf: &mut Vec<u8>,
        why: &mut Option<Reason>,
    ) -> bool {
        let Some(dst) = ip_header::Packet::new_checked(&buf[..])
            .ok()
            .map(|p| p.dst_addr())
        else {
            self.stats.dropped.add(DropReason::Truncated);
            return false;
        };
        let mac = match self.next_hop(dst) {
            NextHop::Mac(mac) => mac,
            NextHop::Ip(hop) => {
                let lookup = self.neighbours.lookup(now, hop.into(), || Held {
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
        self.frame(buf, mac, EtherType::Ipv4);
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
    pub(crate) fn confirm(&mut self, now: Instant, peer: Ipv4Addr) {
        if let NextHop::Ip(hop) = self.next_hop(peer) {
            self.neighbours.confirm(now, hop.into());
        }
    }

    /// Where a packet to `dst` goes first.
    fn next_hop(&self, dst: Ipv4Addr) -> NextHop {
        if dst.is_broadcast() || (self.addr.contains(dst) && dst == self.addr.broadcast()) {
            return NextHop::Mac(MacAddr::BROADCAST);
        }
        if dst.is_multicast() {
            return NextHop::Mac(MacAddr::ipv4_multicast(dst));
        }
        if self.addr.contains(dst) {
            return NextHop::Ip(dst);
        }
        match self.gateway {
            Some(gateway) => NextHop::Ip(gateway),
            None => NextHop::None,
        }
    }

    /// The next frame of our own for the device, if any, after running the cache's timers:
    /// ARP packets, and packets whose next hop has just answered.
    pub(crate) fn transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Option<Reason>> {
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
                    target,
                    to,
                    attempt,
                    waiting,
                } => self.request(target, to, attempt, waiting),
                Action::Release { mac, packets } => {
                    for Held { mut packet, why } in packets {
                        self.frame(&mut packet, mac, EtherType::Ipv4);
                        self.ready.push_back((packet, why));
                    }
                }
                Action::Unreachable { ip, packets } => {
                    debug!(%ip, lost = packets.len(), "arp: {ip} never answered: host unreachable");
                    let packets = packets.into_iter().map(|held| Undeliverable {
                        packet: held.packet,
                        no_route: false,
                    });
                    self.undeliverable.extend(packets);
                }
            }
        }
    }

    /// Sends "who has `target`?": to everyone, or to `to` alone when checking a stale entry.
    fn request(&mut self, target: IpAddr, to: Option<MacAddr>, attempt: u8, waiting: usize) {
        let IpAddr::V4(target) = target else {
            // Nothing sends IPv6 on the link yet, so the cache never asks for an IPv6 address.
            return;
        };
        let repr = arp::Repr {
            operation: Operation::Request,
            sender_mac: self.mac,
            sender_ip: self.addr.address(),
            target_mac: MacAddr::UNSPECIFIED,
            target_ip: target,
        };
        let why = ArpWhy::Request {
            target,
            attempt,
            waiting,
            probe: to,
        };
        self.send_arp(to.unwrap_or(MacAddr::BROADCAST), &repr, why);
    }

    /// Queues an ARP packet in a frame to `dst`.
    fn send_arp(&mut self, dst: MacAddr, repr: &arp::Repr, why: ArpWhy) {
        if self.ready.len() >= READY_MAX {
            self.arp_stats.dropped.add(DropReason::QueueFull);
            return;
        }
        debug!(%dst, "arp: {repr}");
        let mut frame = vec![0; repr.buffer_len()];
        repr.emit(&mut frame);
        self.frame(&mut frame, dst, EtherType::Arp);
        self.arp_stats.sent += 1;
        self.ready.push_back((frame, Some(Reason::Arp(why))));
    }

    /// Packets that could not be delivered since the last call.
    pub(crate) fn take_undeliverable(&mut self) -> Vec<Undeliverable> {
        std::mem::take(&mut self.undeliverable)
    }

    /// When the interface next needs [`EthernetInterface::transmit`] called.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.neighbours.poll_at()
    }

    /// Whether frames of our own are ready now.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Whether anything is ready or waiting for an answer.
    pub(crate) fn is_busy(&self) -> bool {
        self.has_ready() || self.neighbours.has_pending()
    }
}

/// The first stop of a packet.
enum NextHop {
    /// A MAC address known without asking: broadcast, or a multicast group's.
    Mac(MacAddr),
    /// A neighbour on the link, whose MAC address the cache knows or finds.
    Ip(Ipv4Addr),
    /// Nowhere: off our network, with no gateway.
    None,
}
