//! The host's way up: a packet from the link through IPv4 or IPv6 to a transport, and what a
//! transport hears back from ICMP and ICMPv6 about its own packets.

use std::net::IpAddr;

use bytes::Bytes;
use tracing::debug;

use super::Host;
use crate::device::{PacketInfo, Tail};
use crate::ip::error::{IcmpError, Problem};
use crate::ip::header::IpProtocol;
use crate::ip::icmp::header::DstUnreachable;
use crate::ip::icmpv6::ParamProblem;
use crate::ip::input::{Head, Inbound, Received};
use crate::ip::ipv6::input::{Inbound6, Received6};
use crate::stats::DropReason;
use crate::tcp::demux::Progress;
use crate::time::Instant;
use crate::udp::input::Delivery;

/// The IP version and where the TCP header starts, when `head` is an IP header for TCP (IPv4
/// with any options, or IPv6's fixed header with TCP next), then a whole TCP header, and
/// nothing else: the headers [`Host::transmit_parts`] puts in front of a segment's data.
/// `None` for anything else.
fn tcp_after_ip(head: &[u8]) -> Option<(u8, usize)> {
    let first = *head.first()?;
    let (ip_len, protocol) = match first >> 4 {
        4 => (usize::from(first & 0x0f) * 4, *head.get(9)?),
        6 => (40, *head.get(6)?),
        _ => return None,
    };
    let tcp_len = usize::from(head.get(ip_len + 12)? >> 4) * 4;
    let tcp = protocol == u8::from(IpProtocol::Tcp);
    (tcp && head.len() == ip_len + tcp_len).then_some((first >> 4, ip_len))
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

impl Host {
    /// Takes one packet (a frame, on an Ethernet device) from the link, at time `now`, up
    /// through the layers: IPv4 or IPv6 by the version in its first four bits.
    pub fn receive(&mut self, now: Instant, bytes: &[u8]) {
        self.receive_info(now, bytes, PacketInfo::PLAIN);
    }

    /// Like [`Host::receive`], with what the device said about the packet: a transport checksum
    /// it vouches for ([`PacketInfo::checksum_trusted`]) is not verified again. A super-packet
    /// needs nothing else: TCP takes a segment of any length its window has room for.
    pub fn receive_info(&mut self, now: Instant, bytes: &[u8], info: PacketInfo) {
        self.receive_up(now, bytes, info, None);
    }

    /// Like [`Host::receive_info`], with the packet in a shared buffer: TCP may keep slices
    /// of it (the data of in-order segments) in its receive buffers instead of copying them,
    /// until the application has read them. Worth it only when most of the buffer is packet,
    /// since a slice keeps the whole buffer alive.
    pub fn receive_shared(&mut self, now: Instant, packet: &Bytes, info: PacketInfo) {
        self.receive_up(now, packet, info, Some(packet));
    }

    /// Like [`Host::receive_info`], for a packet that came in parts, as
    /// [`Host::transmit_parts`] sends it: `head` (its headers), then the pieces of `tail`.
    ///
    /// A TCP segment over IPv4 or IPv6 (without extension headers) whose data is one piece
    /// goes up without being joined, and TCP may keep that piece instead of copying it (as
    /// [`Host::receive_shared`]); any other packet is joined first, then taken as
    /// [`Host::receive_info`] takes it.
    pub fn receive_parts(&mut self, now: Instant, head: &[u8], tail: &Tail, info: PacketInfo) {
        if !self.receive_split(now, head, tail, info) {
            let mut joined = Vec::with_capacity(head.len() + tail.len());
            joined.extend_from_slice(head);
            tail.append_to(&mut joined);
            self.receive_info(now, &joined, info);
        }
    }

    /// [`Host::receive_parts`]'s way for a TCP segment that is all headers in `head` and all
    /// data in `tail`'s first piece. Returns `false`, having done nothing, for any other
    /// packet.
    fn receive_split(&mut self, now: Instant, head: &[u8], tail: &Tail, info: PacketInfo) -> bool {
        let Some(data) = tail.single() else {
            return false;
        };
        let Some((version, ip_len)) = tcp_after_ip(head).filter(|_| self.link.is_none()) else {
            return false;
        };
        self.expire_fragments(now);
        let head_of = if version == 6 {
            let Some(v6) = self.ip.v6.as_mut() else {
                return false; // no IPv6 here: the whole packet's path drops it
            };
            v6.receive_head(head, data.len())
                .map(|h| (h.src_addr.into(), h.dst_addr.into()))
        } else {
            self.ip
                .v4
                .receive_head(head, data.len())
                .map(|h| (h.src_addr.into(), h.dst_addr.into()))
        };
        let addrs: (IpAddr, IpAddr) = match head_of {
            Head::Join => return false,
            Head::Dropped => return true,
            Head::Ours(addrs) => addrs,
        };
        let tcp = &head[ip_len..];
        let (ip, out) = (&mut self.ip, &mut self.out);
        let trusted = info.checksum_trusted();
        self.tcp
            .receive_parts(now, ip, out, addrs, (tcp, data), trusted);
        true
    }

    /// Up through the layers; `shared` is the buffer `bytes` lies in, when TCP may keep it.
    fn receive_up(&mut self, now: Instant, bytes: &[u8], info: PacketInfo, shared: Option<&Bytes>) {
        let trusted = info.checksum_trusted();
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
            Some(6) if self.ip.v6.is_some() => self.receive_v6(now, bytes, (trusted, shared)),
            // Anything else is IPv4's to check (and drop, if it is not IPv4).
            _ => self.receive_v4(now, bytes, (trusted, shared)),
        }
    }

    /// Which of our IPv6 addresses duplicate address detection has passed, on an Ethernet
    /// device: the IPv6 layer neither takes packets for a tentative address nor sends from it
    /// ([RFC 4862 5.4]). On a TUN device there is no detection, and every address is usable.
    ///
    /// [RFC 4862 5.4]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4
    pub(super) fn sync_usable_addresses(&mut self) {
        if let (Some(link), Some(v6)) = (self.link.as_ref(), self.ip.v6.as_mut()) {
            for ours in &mut v6.addrs {
                ours.usable = link.ipv6_usable(ours.cidr.address());
            }
        }
    }

    /// An IPv4 packet, up through IPv4 to ICMP, UDP or TCP. `trusted`: the device vouches for
    /// the transport checksum; `shared`: the buffer TCP may keep slices of.
    fn receive_v4(
        &mut self,
        now: Instant,
        bytes: &[u8],
        (mut trusted, mut shared): (bool, Option<&Bytes>),
    ) {
        let reassembled;
        let inbound = match self.ip.v4.receive(now, bytes) {
            None => return,
            Some(Received::Packet(inbound)) => inbound,
            Some(Received::Reassembled(datagram)) => {
                // The device spoke of the last fragment only, and the datagram is a new buffer.
                (trusted, shared) = (false, None);
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
        let addrs = (src.into(), dst.into());
        let arrival = (trusted, shared);
        let reason = match self.deliver(now, addrs, header.protocol, payload, arrival) {
            Delivered::Done => return,
            Delivered::NoPort(_) => DstUnreachable::PortUnreachable,
            // RFC 1122 3.2.2.1: a host SHOULD send protocol unreachable.
            Delivered::NoProtocol => DstUnreachable::ProtoUnreachable,
        };
        let (ip, out) = (&mut self.ip.v4, &mut self.out);
        self.icmp
            .send_unreachable(now, ip, out, reason, src, packet);
    }

    /// An IPv6 packet, up through IPv6 to ICMPv6, UDP or TCP. `trusted`: the device vouches
    /// for the transport checksum; `shared`: the buffer TCP may keep slices of.
    fn receive_v6(
        &mut self,
        now: Instant,
        bytes: &[u8],
        (mut trusted, mut shared): (bool, Option<&Bytes>),
    ) {
        let Some(v6) = self.ip.v6.as_mut() else {
            return;
        };
        let reassembled;
        let inbound = match v6.receive(now, bytes) {
            None => return,
            Some(Received6::Packet(inbound)) => inbound,
            Some(Received6::Reassembled(datagram)) => {
                (trusted, shared) = (false, None);
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
            (trusted, shared),
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

    /// Hands a transport segment from `src` to `dst` (of either version) to UDP or TCP;
    /// `trusted`: its checksum need not be verified; `shared`: the buffer TCP may keep slices
    /// of.
    fn deliver(
        &mut self,
        now: Instant,
        (src, dst): (IpAddr, IpAddr),
        protocol: IpProtocol,
        payload: &[u8],
        (trusted, shared): (bool, Option<&Bytes>),
    ) -> Delivered {
        match protocol {
            IpProtocol::Udp => match self.udp.receive(src, dst, payload, trusted) {
                Delivery::NoSocket => Delivered::NoPort(crate::wire::read_u16(payload, 2)),
                _ => Delivered::Done,
            },
            IpProtocol::Tcp => {
                let (ip, out) = (&mut self.ip, &mut self.out);
                let arrival = (trusted, shared);
                let progress = self.tcp.receive(now, ip, out, (src, dst), payload, arrival);
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
    pub(super) fn transport_error(&mut self, now: Instant, error: &IcmpError) {
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
    pub(super) fn expire_paths(&mut self, now: Instant) {
        if self.ip.pmtu.poll_at().is_none_or(|at| at > now) {
            return;
        }
        for dst in self.ip.pmtu.expire(now) {
            let mss = self.ip.path_mss(dst);
            self.tcp.path_mtu_changed(now, dst, mss);
        }
    }
}
