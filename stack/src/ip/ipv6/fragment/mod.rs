//! IPv6 fragmentation and reassembly ([RFC 8200 section 4.5]).
//!
//! In IPv6 only the source fragments: a router drops a packet too big for its next link and
//! sends back an ICMPv6 Packet Too Big. A packet larger than the path MTU leaves its source as
//! fragment packets, each made of the **Unfragmentable Part** (the IPv6 header and the
//! extension headers every router on the way may read: Hop-by-Hop Options, Routing), a
//! Fragment header, and one piece of the **Fragmentable Part** (everything after: further
//! extension headers, the upper-layer header, the data):
//!
//! ```text
//! original packet:
//! +------------------+--------------+--------------+--//--+----------+
//! |  Unfragmentable  |    first     |    second    |      |   last   |
//! |       Part       |   fragment   |   fragment   | .... | fragment |
//! +------------------+--------------+--------------+--//--+----------+
//!
//! fragment packets:
//! +------------------+--------+--------------+
//! |  Unfragmentable  |Fragment|    first     |
//! |       Part       | Header |   fragment   |
//! +------------------+--------+--------------+
//!
//! +------------------+--------+--------------+
//! |  Unfragmentable  |Fragment|    second    |
//! |       Part       | Header |   fragment   |
//! +------------------+--------+--------------+
//!                        o
//!                        o
//! +------------------+--------+----------+
//! |  Unfragmentable  |Fragment|   last   |
//! |       Part       | Header | fragment |
//! +------------------+--------+----------+
//! ```
//!
//! The Fragment header (its layout is in [`super::ext`]) says where the piece goes, in 8-byte
//! units, whether more follow (M), the 32-bit Identification that all pieces of one packet
//! share, and the Next Header the Fragmentable Part starts with. Compared with IPv4's
//! fragmentation ([`crate::ip::fragment`]) the fields moved from the fixed header into an
//! extension header that only fragments carry, and the Identification grew from 16 to 32 bits.
//!
//! - `input.rs`, [`reassemble`]: a fragment in, a whole packet out, on the same generic
//!   [`Reassembler`] IPv4 uses, keyed by [`Ipv6FragKey`] and limited by [`REASSEMBLY_CONFIG`]
//!   (60 s, 4 MiB). The IPv6 input calls it when [`super::walk`] stops at a Fragment header.
//! - `output.rs`, [`plan`] and [`emit_fragment`]: a packet too big for the path MTU out, as
//!   fragments no larger than it.
//!
//! When [`Reassembler::expire`] reports a datagram whose time ran out, its
//! [`Expired::first`](crate::ip::fragment::reassembly::Expired::first) is, when the fragment at
//! offset 0 had come, that fragment packet as it arrived (header bytes up to and including its
//! Fragment header, then its data): the IPv6 input quotes it in an ICMPv6 Time Exceeded, code 1
//! ("fragment reassembly time exceeded"), sent to the key's source. Nothing is sent when the
//! first fragment had not come (section 4.5).
//!
//! [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5

use std::net::Ipv6Addr;
use std::time::Duration;

use crate::ip::fragment::{Reassembler, ReassemblyConfig};

mod input;
mod output;

pub use input::{reassemble, Dropped, ParamProblem, Reassembly};
pub(crate) use output::queue_fragments;
pub use output::{
    emit_fragment, fragment_len, max_fragment_data, plan, write_fragment_header, MIN_MTU,
};

/// What names an IPv6 packet in reassembly ([RFC 8200 section 4.5]: "fragments with the same
/// Source Address, Destination Address, and Fragment Identification"). Unlike IPv4's key, the
/// upper-layer protocol is not part of it: it is only known once the first fragment has come.
///
/// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv6FragKey {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// The Fragment header's Identification.
    pub ident: u32,
}

/// A reassembler of IPv6 packets.
pub type Ipv6Reassembler = Reassembler<Ipv6FragKey>;

/// The limits of IPv6 reassembly: a packet has 60 seconds to arrive whole from its first
/// fragment ([RFC 8200 section 4.5]; Linux's `ip6frag_time` is 60 s too, where IPv4 has 30 s),
/// 4 MiB for all packets in reassembly (Linux's `ip6frag_high_thresh`), 64 fragments each (a
/// 65,535-byte packet at the minimum MTU of 1280 takes 54), and a Fragmentable Part of at
/// most 65,535 bytes (the input checks the exact bound, which depends on the Unfragmentable
/// Part, before a fragment gets here).
///
/// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
pub const REASSEMBLY_CONFIG: ReassemblyConfig = ReassemblyConfig {
    timeout: Duration::from_secs(60),
    memory_limit: 4 << 20,
    max_fragments: 64,
    max_payload: 65_535,
};

/// An empty IPv6 reassembler with [`REASSEMBLY_CONFIG`].
pub fn reassembler() -> Ipv6Reassembler {
    Reassembler::new(REASSEMBLY_CONFIG)
}

#[cfg(test)]
mod tests;
