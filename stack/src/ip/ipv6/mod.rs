//! IPv6 ([RFC 8200]): the fixed header and the chain of extension headers behind it.
//!
//! What changed from IPv4 ([RFC 791]), and why the header is simpler for it:
//!
//! - **Addresses are 128 bits** ([RFC 4291]), written in hexadecimal groups (`2001:db8::1`),
//!   so the fixed header is 40 bytes, 32 of them addresses. [`std::net::Ipv6Addr`] holds them.
//! - **No header checksum.** The link (Ethernet's FCS) and the transport (UDP's and TCP's
//!   checksums, now over an IPv6 pseudo-header, and mandatory for UDP) already catch damage;
//!   routers no longer recompute a sum at each hop when they lower the Hop Limit.
//! - **No fragmentation by routers.** A packet too big for the next link is dropped and its
//!   sender gets an ICMPv6 Packet Too Big ([RFC 8201], path MTU discovery). Only the source
//!   fragments, with a Fragment extension header ([RFC 8200 section 4.5]); every link carries at
//!   least 1280 bytes.
//! - **No options in the fixed header**, so its length is fixed and there is no IHL field.
//!   What options did moves to **extension headers**, each naming the next one in a
//!   Next Header field, like a linked list that ends at the upper-layer protocol (TCP, UDP,
//!   ICMPv6) ([RFC 8200 section 4]):
//!
//! ```text
//! +---------------+------------------------+------------------------+--------------------
//! |  IPv6 header  | Hop-by-Hop Options     | Fragment header        | TCP header + data
//! |               |                        |                        |
//! | Next Header = | Next Header = Fragment | Next Header = TCP      |
//! |  Hop-by-Hop   |                        |                        |
//! +---------------+------------------------+------------------------+--------------------
//! ```
//!
//! [`header`] reads and writes the fixed header; [`ext`] walks the chain to the upper-layer
//! protocol, or to the verdict a bad chain earns (drop it, or drop it and answer with an
//! ICMPv6 Parameter Problem). [`fragment`] joins the fragments a walk stops at into whole
//! packets, and cuts packets too big for the path MTU into fragments. None of them is wired into
//! the host's input path yet.
//!
//! [RFC 8200]: https://www.rfc-editor.org/rfc/rfc8200
//! [RFC 8200 section 4]: https://www.rfc-editor.org/rfc/rfc8200#section-4
//! [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
//! [RFC 791]: https://www.rfc-editor.org/rfc/rfc791
//! [RFC 4291]: https://www.rfc-editor.org/rfc/rfc4291
//! [RFC 8201]: https://www.rfc-editor.org/rfc/rfc8201

use std::fmt;

use super::IpProtocol;

pub mod ext;
pub mod fragment;
pub mod header;
pub(crate) mod input;
pub(crate) mod layer;
pub(crate) mod output;

pub use ext::{walk, Chain, DropReason, FragmentHeader, ParamProblemCode, Verdict};
pub use header::{Packet, Repr, HEADER_LEN};

/// The Next Header value of IPv6: an extension header, or the upper-layer protocol
/// ([IANA protocol numbers], the registry IPv4's Protocol field uses too).
///
/// The extension headers are kept apart from [`IpProtocol`] because only the chain walk
/// ([`ext::walk`]) ever sees them; what it hands upwards is an [`IpProtocol`], the type the
/// transports share with IPv4. Extension headers this stack does not process (AH, ESP,
/// Mobility, HIP, Shim6) come out as [`NextHeader::Protocol`] of an unknown protocol, which the
/// input path answers as it answers any protocol it lacks ([RFC 8200 section 4]).
///
/// [IANA protocol numbers]: https://www.iana.org/assignments/protocol-numbers
/// [RFC 8200 section 4]: https://www.rfc-editor.org/rfc/rfc8200#section-4
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextHeader {
    /// Hop-by-Hop Options, 0 ([RFC 8200 section 4.3]); only right after the fixed header.
    ///
    /// [RFC 8200 section 4.3]: https://www.rfc-editor.org/rfc/rfc8200#section-4.3
    HopByHop,
    /// Routing, 43 ([RFC 8200 section 4.4]).
    ///
    /// [RFC 8200 section 4.4]: https://www.rfc-editor.org/rfc/rfc8200#section-4.4
    Routing,
    /// Fragment, 44 ([RFC 8200 section 4.5]).
    ///
    /// [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    Fragment,
    /// Destination Options, 60 ([RFC 8200 section 4.6]).
    ///
    /// [RFC 8200 section 4.6]: https://www.rfc-editor.org/rfc/rfc8200#section-4.6
    DestinationOptions,
    /// No Next Header, 59 ([RFC 8200 section 4.7]): nothing follows; bytes after it are ignored.
    ///
    /// [RFC 8200 section 4.7]: https://www.rfc-editor.org/rfc/rfc8200#section-4.7
    NoNextHeader,
    /// An upper-layer protocol (or an extension header this stack treats as one).
    Protocol(IpProtocol),
}

impl NextHeader {
    /// Whether this is one of the extension headers [`ext::walk`] steps through.
    pub const fn is_extension(self) -> bool {
        matches!(
            self,
            NextHeader::HopByHop
                | NextHeader::Routing
                | NextHeader::Fragment
                | NextHeader::DestinationOptions
        )
    }
}

impl From<u8> for NextHeader {
    fn from(value: u8) -> Self {
        match value {
            0 => NextHeader::HopByHop,
            43 => NextHeader::Routing,
            44 => NextHeader::Fragment,
            59 => NextHeader::NoNextHeader,
            60 => NextHeader::DestinationOptions,
            other => NextHeader::Protocol(IpProtocol::from(other)),
        }
    }
}

impl From<NextHeader> for u8 {
    fn from(value: NextHeader) -> u8 {
        match value {
            NextHeader::HopByHop => 0,
            NextHeader::Routing => 43,
            NextHeader::Fragment => 44,
            NextHeader::NoNextHeader => 59,
            NextHeader::DestinationOptions => 60,
            NextHeader::Protocol(protocol) => u8::from(protocol),
        }
    }
}

impl From<IpProtocol> for NextHeader {
    fn from(value: IpProtocol) -> Self {
        // `IpProtocol::Unknown(0)` and friends are extension headers: go through the number.
        NextHeader::from(u8::from(value))
    }
}

impl fmt::Display for NextHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHeader::HopByHop => f.write_str("hop-by-hop"),
            NextHeader::Routing => f.write_str("routing"),
            NextHeader::Fragment => f.write_str("fragment"),
            NextHeader::DestinationOptions => f.write_str("dst-opts"),
            NextHeader::NoNextHeader => f.write_str("no-next-header"),
            NextHeader::Protocol(protocol) => protocol.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_header_numbers_round_trip() {
        for n in 0..=u8::MAX {
            assert_eq!(u8::from(NextHeader::from(n)), n);
            assert_eq!(NextHeader::from(IpProtocol::from(n)), NextHeader::from(n));
        }
        assert_eq!(
            NextHeader::from(58),
            NextHeader::Protocol(IpProtocol::Icmpv6)
        );
        assert_eq!(NextHeader::from(44), NextHeader::Fragment);
        assert!(NextHeader::Routing.is_extension() && !NextHeader::NoNextHeader.is_extension());
    }
}
