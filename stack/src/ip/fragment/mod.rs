//! Fragmentation and reassembly ([RFC 791 section 3.2]).
//!
//! A datagram larger than the link's MTU travels as fragments: pieces of its payload, each
//! behind a copy of its header with the same Identification, an offset in 8-byte units, and
//! More Fragments set on all but the last. The receiver joins them again.
//!
//! - `reassembly.rs`: the receiving side, generic over the key that names a datagram, so that
//!   IPv6 can use it too.
//! - [`plan`]: the sending side's arithmetic, where each fragment starts and how long it is.
//!   `ip/output.rs` uses it for UDP and ICMP; TCP never fragments (it sizes its segments to
//!   the MTU and sets Don't Fragment).
//!
//! IPv6 ([RFC 8200 section 4.5]) fragments only at the source, in a Fragment extension header
//! with a 32-bit Identification; [`crate::ip::ipv6::fragment`] joins its fragments with this
//! same [`Reassembler`] (keyed by source, destination and Identification, with a 60-second
//! timeout) and cuts its packets with this same [`plan`].
//!
//! [RFC 791 section 3.2]: https://www.rfc-editor.org/rfc/rfc791#section-3.2
//! [RFC 8200 section 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5

use std::net::Ipv4Addr;

use super::header::IpProtocol;

pub mod reassembly;

pub use reassembly::{Fragment, Outcome, Reassembled, Reassembler, ReassemblyConfig};

/// What names an IPv4 datagram in reassembly ([RFC 791 section 3.2]: "the identification
/// field is used together with the source and destination address, and the protocol fields").
///
/// [RFC 791 section 3.2]: https://www.rfc-editor.org/rfc/rfc791#section-3.2
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4FragKey {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol number.
    pub protocol: u8,
    /// Identification.
    pub ident: u16,
}

impl Ipv4FragKey {
    /// The key of a packet with these header values.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, ident: u16) -> Ipv4FragKey {
        Ipv4FragKey {
            src,
            dst,
            protocol: protocol.into(),
            ident,
        }
    }
}

/// One fragment to send: `len` bytes of the payload from `offset`, and whether more follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Offset in the payload, in bytes (a multiple of 8).
    pub offset: usize,
    /// Bytes of payload in this fragment.
    pub len: usize,
    /// More Fragments.
    pub more: bool,
}

/// How a payload of `payload_len` bytes is cut for a link that carries `max_data` bytes after
/// the header: as many full pieces as fit, each a multiple of 8 bytes, then the rest. Empty when
/// `max_data` is below 8 (no fragment could carry anything).
pub fn plan(payload_len: usize, max_data: usize) -> Vec<Piece> {
    let per = max_data & !7;
    if per == 0 {
        return Vec::new();
    }
    let mut pieces = Vec::with_capacity(payload_len.div_ceil(per));
    let mut offset = 0;
    while offset < payload_len {
        let len = per.min(payload_len - offset);
        offset += len;
        pieces.push(Piece {
            offset: offset - len,
            len,
            more: offset < payload_len,
        });
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_pieces_of_a_multiple_of_eight() {
        // A 4008-byte ICMP message (ping -s 4000) on MTU 1500: 1480 + 1480 + 1048.
        let pieces = plan(4008, 1480);
        let expected = [(0, 1480, true), (1480, 1480, true), (2960, 1048, false)];
        let got: Vec<_> = pieces.iter().map(|p| (p.offset, p.len, p.more)).collect();
        assert_eq!(got, expected);
        // An MTU whose room is not a multiple of 8 (1006 - 20 = 986): 984-byte pieces.
        let pieces = plan(2000, 986);
        assert!(pieces[..pieces.len() - 1].iter().all(|p| p.len == 984));
        assert_eq!(pieces.iter().map(|p| p.len).sum::<usize>(), 2000);
        assert!(plan(100, 7).is_empty());
    }
}
