//! IPv6 fragmentation and reassembly on a virtual clock: fragment packets are built here byte
//! by byte (with extension headers before the Fragment header when a test wants them), fed to
//! [`reassemble`] as the IPv6 input will (walking the chain to the Fragment header first), and
//! what comes out is compared with the packet as it was before it was cut.

use std::net::Ipv6Addr;

use super::*;
use crate::ip::ipv6::ext::FRAGMENT_HEADER_LEN;
use crate::ip::ipv6::{
    walk, Chain, FragmentHeader, NextHeader, Packet, ParamProblemCode, Repr, HEADER_LEN,
};
use crate::ip::IpProtocol;
use crate::stats::DropReason;
use crate::time::Instant;

mod flood;
mod output;
mod reassembly;

const UDP: u8 = 17;
const TCP: u8 = 6;
const HOP_BY_HOP: u8 = 0;
const FRAGMENT: u8 = 44;
const DST_OPTS: u8 = 60;

const SRC: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const DST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);

/// An 8-byte Hop-by-Hop or Destination Options header holding one PadN of 4 bytes.
fn padded(next: u8) -> [u8; 8] {
    [next, 0, 1, 4, 0, 0, 0, 0]
}

/// `len` bytes of data that are not all alike.
fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + 7) ^ (i >> 8)) as u8).collect()
}

/// How a packet is laid out before it is cut: the fixed header's Next Header, the extension
/// headers of the Unfragmentable Part (their last Next Header byte is patched by
/// [`Layout::fragments`] and [`Layout::whole`]), and the upper-layer protocol.
#[derive(Clone)]
struct Layout {
    src: Ipv6Addr,
    first: u8,
    unfragmentable: Vec<u8>,
    upper: u8,
}

impl Layout {
    /// No extension headers: the Fragment header follows the fixed header.
    fn plain(upper: u8) -> Layout {
        Layout {
            src: SRC,
            first: upper,
            unfragmentable: Vec::new(),
            upper,
        }
    }

    /// Hop-by-Hop Options, then Destination Options, before the Fragment header.
    fn with_options(upper: u8) -> Layout {
        let mut unfragmentable = padded(DST_OPTS).to_vec();
        unfragmentable.extend_from_slice(&padded(upper));
        Layout {
            src: SRC,
            first: HOP_BY_HOP,
            unfragmentable,
            upper,
        }
    }

    /// The fixed header and extension headers, with the last Next Header set to `next`.
    fn headers(&self, next: u8, payload_len: usize) -> Vec<u8> {
        let first = if self.unfragmentable.is_empty() {
            next
        } else {
            self.first
        };
        let repr = Repr {
            src_addr: self.src,
            dst_addr: DST,
            next_header: NextHeader::from(first),
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0x12345,
            payload_len: self.unfragmentable.len() + payload_len,
        };
        let mut bytes = vec![0; HEADER_LEN];
        repr.emit(&mut bytes);
        bytes.extend_from_slice(&self.unfragmentable);
        // The last extension header's Next Header: 8 bytes from the end, as ours are 8 long.
        if let Some(at) = self.unfragmentable.len().checked_sub(8) {
            bytes[HEADER_LEN + at] = next;
        }
        bytes
    }

    /// The packet before it was cut.
    fn whole(&self, payload: &[u8]) -> Vec<u8> {
        let mut bytes = self.headers(self.upper, payload.len());
        bytes.extend_from_slice(payload);
        bytes
    }

    /// One fragment packet: `data` at `offset`, M as `more`.
    fn fragment(&self, ident: u32, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
        let mut bytes = self.headers(FRAGMENT, FRAGMENT_HEADER_LEN + data.len());
        let at = bytes.len();
        bytes.resize(at + FRAGMENT_HEADER_LEN, 0);
        let header = FragmentHeader {
            next_header: NextHeader::from(self.upper),
            offset: offset as u16,
            more_fragments: more,
            ident,
        };
        write_fragment_header(&mut bytes[at..], &header);
        bytes.extend_from_slice(data);
        bytes
    }

    /// The fragment packets of `payload`, cut in pieces of `per` bytes.
    fn fragments(&self, ident: u32, payload: &[u8], per: usize) -> Vec<Vec<u8>> {
        crate::ip::fragment::plan(payload.len(), per)
            .iter()
            .map(|p| self.fragment(ident, p.offset, p.more, &payload[p.offset..][..p.len]))
            .collect()
    }
}

/// Gives a fragment packet to `r` as the IPv6 input does: walk the chain to the Fragment header.
fn feed(r: &mut Ipv6Reassembler, now: Instant, bytes: &[u8]) -> Reassembly {
    let packet = Packet::new_checked(bytes).expect("a valid packet");
    match walk(packet.next_header(), packet.payload(), false) {
        Ok(Chain::Fragment { header, offset }) => {
            reassemble(r, now, &packet, offset - FRAGMENT_HEADER_LEN, header)
        }
        other => panic!("not a fragment: {other:?}"),
    }
}

/// Gives a fragment packet whose Fragment header is `at` bytes after the fixed header to `r`,
/// reading the header without the walk (which refuses some of what these tests send).
fn feed_at(r: &mut Ipv6Reassembler, now: Instant, bytes: &[u8], at: usize) -> Reassembly {
    let packet = Packet::new_checked(bytes).expect("a valid packet");
    let field = &packet.payload()[at..at + FRAGMENT_HEADER_LEN];
    let word = u16::from_be_bytes([field[2], field[3]]);
    let header = FragmentHeader {
        next_header: NextHeader::from(field[0]),
        offset: word & 0xfff8,
        more_fragments: word & 1 == 1,
        ident: u32::from_be_bytes([field[4], field[5], field[6], field[7]]),
    };
    reassemble(r, now, &packet, at, header)
}

/// Feeds `fragments` in order; every outcome but the last must be `Held`.
fn feed_all(r: &mut Ipv6Reassembler, fragments: &[Vec<u8>]) -> Reassembly {
    let mut last = Reassembly::Held;
    for (i, fragment) in fragments.iter().enumerate() {
        assert_eq!(last, Reassembly::Held, "before fragment {i}");
        last = feed(r, Instant::ZERO, fragment);
    }
    last
}

/// The packet a `Complete` outcome carries.
fn complete(outcome: Reassembly) -> (Vec<u8>, usize) {
    match outcome {
        Reassembly::Complete { packet, fragments } => (packet, fragments),
        other => panic!("not complete: {other:?}"),
    }
}

/// A drop of one fragment for `reason`, with a Parameter Problem or none.
fn dropped(reason: DropReason, problem: Option<(ParamProblemCode, u32)>) -> Reassembly {
    Reassembly::Dropped(Dropped {
        reason,
        fragments: 1,
        problem: problem.map(|(code, pointer)| ParamProblem { code, pointer }),
    })
}
