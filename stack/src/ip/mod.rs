//! The internet layer: IPv4 ([RFC 791]) and its control messages, ICMP ([RFC 792]); IPv6
//! ([RFC 8200], [`ipv6`]) and ICMPv6 ([`icmpv6`]) beside them. `layer.rs` puts either
//! version's header in front of a transport's segment, so UDP and TCP are written once;
//! [`pmtu`] remembers the paths narrower than our link.
//!
//! Going up (`input.rs`): check that a packet from the link is a valid IPv4 packet for us,
//! join it with the rest of its datagram if it is a fragment (`fragment/`), strip the header and
//! hand the payload to ICMP, UDP or TCP by the Protocol field. Going down (`output.rs`): put an
//! IPv4 header in front of what a transport layer built and queue the packet for the link, in
//! fragments when it is larger than the MTU (UDP and echo replies; TCP never is).
//!
//! [RFC 791]: https://www.rfc-editor.org/rfc/rfc791
//! [RFC 792]: https://www.rfc-editor.org/rfc/rfc792
//! [RFC 8200]: https://www.rfc-editor.org/rfc/rfc8200

use std::net::Ipv4Addr;

use crate::stats::LayerStats;
use fragment::{Ipv4FragKey, Reassembler, ReassemblyConfig};

pub mod addr;
pub mod addr6;
pub mod checksum;
pub(crate) mod error;

pub mod fragment;
pub mod header;
pub mod icmp;
pub mod icmpv6;
pub(crate) mod input;
pub mod ipv6;
pub(crate) mod layer;
pub(crate) mod output;
pub mod pmtu;

pub use addr::{CidrParseError, HostError, Ipv4Cidr, NotAHost};
pub use addr6::Ipv6Cidr;
pub use header::IpProtocol;

/// The default Time to Live of packets we send (Linux's default, `net.ipv4.ip_default_ttl`).
pub const DEFAULT_TTL: u8 = 64;

/// The IPv4 layer's state: our address, the next Identification value, and counters.
#[derive(Debug)]
pub(crate) struct Ipv4Layer {
    /// Our address and the network it is on.
    pub(crate) cidr: Ipv4Cidr,
    /// TTL for packets we send.
    pub(crate) ttl: u8,
    /// Identification of the next packet: a counter from a random start ([RFC 6864] allows any
    /// value for atomic, DF-marked datagrams; a counter keeps captures easy to follow).
    ///
    /// [RFC 6864]: https://www.rfc-editor.org/rfc/rfc6864
    pub(crate) next_ident: u16,
    /// The link's MTU: a datagram larger than this goes out in fragments (UDP, ICMP).
    pub(crate) mtu: usize,
    /// Datagrams whose fragments are arriving.
    pub(crate) reassembler: Reassembler<Ipv4FragKey>,
    /// Counters.
    pub(crate) stats: LayerStats,
}

impl Ipv4Layer {
    pub(crate) fn new(cidr: Ipv4Cidr, ttl: u8, first_ident: u16) -> Ipv4Layer {
        Ipv4Layer {
            cidr,
            ttl,
            next_ident: first_ident,
            mtu: 1500,
            reassembler: Reassembler::new(ReassemblyConfig::default()),
            stats: LayerStats::default(),
        }
    }

    /// Our address.
    pub(crate) fn addr(&self) -> Ipv4Addr {
        self.cidr.address()
    }
}
