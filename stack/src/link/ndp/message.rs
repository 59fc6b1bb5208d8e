//! A neighbour solicitation or advertisement in its IPv6 packet: reading one off the link with
//! every check of [RFC 4861 7.1], and building one.
//!
//! The ICMPv6 codec ([`crate::ip::icmpv6::header`]) reads the message and checks what the
//! message and its addresses tell; the one check it cannot make is here, because it needs the
//! IPv6 header: the Hop Limit must be 255. A router lowers the Hop Limit of what it forwards,
//! so 255 proves that the message was sent on this link, and a host far away cannot forge
//! one to poison our neighbour cache. For the same reason every message we send has Hop
//! Limit 255.
//!
//! [RFC 4861 7.1]: https://www.rfc-editor.org/rfc/rfc4861#section-7.1

use std::fmt;
use std::net::Ipv6Addr;

use crate::ip::icmpv6::header::{self as icmpv6, Repr};
use crate::ip::ipv6::{self, NextHeader};
use crate::ip::IpProtocol;
use crate::link::ethernet::MacAddr;
use crate::stats::DropReason;

/// The Hop Limit of every Neighbor Discovery message ([RFC 4861 7.1.1]).
///
/// [RFC 4861 7.1.1]: https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
pub(crate) const HOP_LIMIT: u8 = 255;

/// ICMPv6 type of a Neighbor Solicitation.
const NEIGHBOR_SOLICIT: u8 = 135;
/// ICMPv6 type of a Neighbor Advertisement.
const NEIGHBOR_ADVERT: u8 = 136;

/// ff02::1, the all-nodes group: where an advertisement nobody asked for by address goes.
pub(crate) const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The two Neighbor Discovery messages the link layer reads and sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ndp {
    /// "Who has `target`?" ([RFC 4861 4.3]).
    ///
    /// [RFC 4861 4.3]: https://www.rfc-editor.org/rfc/rfc4861#section-4.3
    Solicit {
        /// The address asked about.
        target: Ipv6Addr,
        /// The asker's MAC address, so that the answer needs no question back; none in
        /// duplicate address detection.
        source_mac: Option<MacAddr>,
    },
    /// "`target` is at `target_mac`" ([RFC 4861 4.4]).
    ///
    /// [RFC 4861 4.4]: https://www.rfc-editor.org/rfc/rfc4861#section-4.4
    Advert {
        /// S: the answer to a solicitation.
        solicited: bool,
        /// O: replaces a cached address.
        override_: bool,
        /// R: the sender is a router (read, not used: a host without router discovery).
        router: bool,
        /// The address advertised.
        target: Ipv6Addr,
        /// Its MAC address, if given.
        target_mac: Option<MacAddr>,
    },
}

/// A message that passed every check, with its addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Message {
    /// The IPv6 source: the sender's address, or unspecified (::) in duplicate address
    /// detection.
    pub(crate) src: Ipv6Addr,
    /// The IPv6 destination: one of our addresses, a solicited-node group or all nodes.
    pub(crate) dst: Ipv6Addr,
    /// What it says.
    pub(crate) ndp: Ndp,
}

/// Reads an IPv6 packet from the link: `None` if it is not a Neighbor Solicitation or
/// Advertisement (ICMPv6 right after the fixed header, type 135 or 136), so it goes up to the
/// IP layer; otherwise the message, or why it must be dropped ([RFC 4861 7.1.1, 7.1.2]).
///
/// [RFC 4861 7.1.1, 7.1.2]: https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
pub(crate) fn read(packet: &[u8]) -> Option<Result<Message, DropReason>> {
    // A packet the IPv6 header check refuses is the IP layer's to count.
    let ip = ipv6::Packet::new_checked(packet).ok()?;
    if ip.next_header() != NextHeader::Protocol(IpProtocol::Icmpv6) {
        return None;
    }
    let payload = ip.payload();
    match payload.first() {
        Some(&(NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT)) => Some(check(&ip, payload)),
        _ => None,
    }
}

/// The checks of RFC 4861 7.1: the Hop Limit here, the rest in the ICMPv6 codec.
fn check(ip: &ipv6::Packet<&[u8]>, payload: &[u8]) -> Result<Message, DropReason> {
    if ip.hop_limit() != HOP_LIMIT {
        return Err(DropReason::NotFromLink);
    }
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    if src.is_multicast() {
        return Err(DropReason::BadSource);
    }
    let icmp = icmpv6::Packet::new_checked(payload)?;
    let ndp = match Repr::parse(&icmp, src, dst)? {
        Repr::NeighborSolicit { target, source_mac } => Ndp::Solicit { target, source_mac },
        Repr::NeighborAdvert {
            router,
            solicited,
            override_,
            target,
            target_mac,
        } => Ndp::Advert {
            solicited,
            override_,
            router,
            target,
            target_mac,
        },
        // The type was read above: 135 and 136 parse as these two or not at all.
        _ => return Err(DropReason::Unhandled),
    };
    Ok(Message { src, dst, ndp })
}

impl Ndp {
    /// The ICMPv6 message.
    fn repr(self) -> Repr<'static> {
        match self {
            Ndp::Solicit { target, source_mac } => Repr::NeighborSolicit { target, source_mac },
            Ndp::Advert {
                solicited,
                override_,
                router,
                target,
                target_mac,
            } => Repr::NeighborAdvert {
                router,
                solicited,
                override_,
                target,
                target_mac,
            },
        }
    }

    /// The whole IPv6 packet from `src` to `dst`: the fixed header (Hop Limit 255, traffic
    /// class and flow label 0, as Linux sends them) and the ICMPv6 message, checksum filled.
    pub(crate) fn emit(self, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
        let icmp = self.repr();
        let header = ipv6::Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: NextHeader::Protocol(IpProtocol::Icmpv6),
            hop_limit: HOP_LIMIT,
            traffic_class: 0,
            flow_label: 0,
            payload_len: icmp.buffer_len(),
        };
        let mut packet = vec![0; header.total_len()];
        header.emit(&mut packet);
        icmp.emit(&mut packet[ipv6::HEADER_LEN..], src, dst);
        packet
    }
}

impl fmt::Display for Ndp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.repr().fmt(f)
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
