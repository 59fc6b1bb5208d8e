//! ICMP and ICMPv6 errors, as the transports see them.
//!
//! ICMP ([RFC 792]) and ICMPv6 ([RFC 4443]) number their errors differently, but a transport
//! asks the same two questions of either: which of my datagrams is this about (the quote:
//! the offending packet's IP header and the first 8 bytes of its transport header, which hold
//! the ports), and what does it mean for me (refused, unreachable, too big, too far)?
//! [`IcmpError`] is the answer, whichever version brought it.
//!
//! [RFC 792]: https://www.rfc-editor.org/rfc/rfc792
//! [RFC 4443]: https://www.rfc-editor.org/rfc/rfc4443

use std::io;
use std::net::{IpAddr, SocketAddr};

use tracing::debug;

use super::header::{parse_quoted, IpProtocol};
use super::ipv6::{self, NextHeader};
use crate::stats::DropReason;

/// What an ICMP or ICMPv6 error says happened to our datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Port or protocol unreachable (ICMPv6: port unreachable): nobody there takes it.
    Refused,
    /// Network unreachable (ICMPv6: no route to destination).
    NetUnreachable,
    /// Host unreachable, or an administrative prohibition (ICMPv6: address unreachable, ...).
    HostUnreachable,
    /// Fragmentation needed (ICMP) or Packet Too Big (ICMPv6): a link on the path carries
    /// packets of at most `mtu` bytes (0: the router did not say, [RFC 1191]'s old routers).
    ///
    /// [RFC 1191]: https://www.rfc-editor.org/rfc/rfc1191
    TooBig {
        /// The next hop's MTU, as the router reported it.
        mtu: u32,
    },
    /// Time exceeded: TTL or Hop Limit ran out on the way (a routing loop), or reassembly.
    TimeExceeded,
    /// Parameter Problem: something in our header was not understood.
    BadHeader,
}

impl Problem {
    /// The error a socket reports for it, if it is a hard one: `None` for what only hints
    /// (too big, time exceeded, parameter problem).
    pub(crate) fn kind(self) -> Option<io::ErrorKind> {
        match self {
            Problem::Refused => Some(io::ErrorKind::ConnectionRefused),
            Problem::NetUnreachable => Some(io::ErrorKind::NetworkUnreachable),
            Problem::HostUnreachable => Some(io::ErrorKind::HostUnreachable),
            Problem::TooBig { .. } | Problem::TimeExceeded | Problem::BadHeader => None,
        }
    }
}

/// An ICMP or ICMPv6 error about a datagram we sent, for the transport that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IcmpError {
    /// What happened.
    pub(crate) problem: Problem,
    /// The transport protocol of the offending datagram.
    pub(crate) protocol: IpProtocol,
    /// Our address and port in the offending datagram (its source).
    pub(crate) local: SocketAddr,
    /// Where the offending datagram was going.
    pub(crate) remote: SocketAddr,
    /// The offending packet's length, as its header says (the quote may be cut short): what
    /// did not fit, for a router that did not say what would (RFC 1191 section 7).
    pub(crate) sent_len: usize,
    /// The quoted transport header's bytes 4 to 7, if quoted: a TCP segment's sequence number,
    /// which shows whether the error can be about anything we have in flight (RFC 5927 4.1).
    pub(crate) quoted_seq: Option<u32>,
}

impl IcmpError {
    /// The error `problem` about `invoking`, a datagram of ours as quoted by the error
    /// message: an IPv4 or IPv6 packet, by its version. The link layer uses it too, for a
    /// packet whose next hop never answered, as Linux does (`arp_error_report`).
    pub(crate) fn about(problem: Problem, invoking: &[u8]) -> Result<IcmpError, DropReason> {
        let (src, dst, protocol, at, sent_len) = match invoking.first().map(|b| b >> 4) {
            Some(6) => quoted_v6(invoking)?,
            _ => {
                let Ok((quoted, header_len)) = parse_quoted(invoking) else {
                    debug!("icmp: error quotes no readable IP header");
                    return Err(DropReason::Truncated);
                };
                let (src, dst) = (quoted.src_addr.into(), quoted.dst_addr.into());
                let sent_len = header_len + quoted.payload_len;
                (src, dst, quoted.protocol, header_len, sent_len)
            }
        };
        let Some(ports) = invoking.get(at..at + 4) else {
            debug!("icmp: error quotes too little of the datagram to find its ports");
            return Err(DropReason::Truncated);
        };
        let quoted_seq = invoking
            .get(at + 4..at + 8)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let port = |i: usize| u16::from_be_bytes([ports[i], ports[i + 1]]);
        Ok(IcmpError {
            problem,
            protocol,
            local: SocketAddr::new(src, port(0)),
            remote: SocketAddr::new(dst, port(2)),
            sent_len,
            quoted_seq,
        })
    }
}

/// The addresses, the upper-layer protocol and where its header starts in a quoted IPv6
/// packet. The quote may be cut anywhere, so extension headers are stepped over by their
/// lengths alone; a quote of a fragment other than the first has no transport header.
type Quoted = (IpAddr, IpAddr, IpProtocol, usize, usize);

fn quoted_v6(invoking: &[u8]) -> Result<Quoted, DropReason> {
    let fixed = invoking
        .get(..ipv6::HEADER_LEN)
        .ok_or(DropReason::Truncated)?;
    let header = ipv6::Packet::new_unchecked(fixed);
    let (src, dst) = (header.src_addr().into(), header.dst_addr().into());
    let sent_len = ipv6::HEADER_LEN + usize::from(header.payload_len());
    let mut next = header.next_header();
    let mut at = ipv6::HEADER_LEN;
    for _ in 0..=ipv6::ext::MAX_EXT_HEADERS {
        let bytes = invoking.get(at..at + 8).ok_or(DropReason::Truncated)?;
        let len = match next {
            NextHeader::Protocol(protocol) => return Ok((src, dst, protocol, at, sent_len)),
            NextHeader::NoNextHeader => return Err(DropReason::Unhandled),
            NextHeader::Fragment if u16::from_be_bytes([bytes[2], bytes[3]]) & 0xfff8 != 0 => {
                return Err(DropReason::Unhandled)
            }
            NextHeader::Fragment => ipv6::ext::FRAGMENT_HEADER_LEN,
            _ => (usize::from(bytes[1]) + 1) * 8,
        };
        next = NextHeader::from(bytes[0]);
        at += len;
    }
    Err(DropReason::ExtensionHeader)
}
