//! IPv6 fragmentation and reassembly (`tunstack::ip::ipv6::fragment`) against etherparse and
//! smoltcp::wire:
//!
//! - every fragment we cut reads back in etherparse's and smoltcp's IPv6 and Fragment header
//!   readers with the fields we meant (addresses, Hop Limit, Traffic Class, Flow Label, Payload
//!   Length, Next Header 44, the Fragment header's Next Header, offset, M, Identification) and
//!   the right piece of data, within the MTU; and etherparse's reassembler (`IpDefragPool`),
//!   given them in any order, joins the payload we cut;
//! - fragments etherparse writes (with Hop-by-Hop and Destination Options headers before the
//!   Fragment header or not), given to our reassembler in any order, join into the packet
//!   etherparse writes without a Fragment header.

mod common;

use std::net::Ipv6Addr;

use common::config;
use etherparse::defrag::IpDefragPool;
use etherparse::{
    IpFragOffset, IpNumber, Ipv6ExtensionSlice, Ipv6Extensions, Ipv6FlowLabel, Ipv6FragmentHeader,
    Ipv6Header, Ipv6RawExtHeader, Ipv6Slice, SlicedPacket,
};
use proptest::prelude::*;
use smoltcp::wire::{
    IpProtocol as SmolProtocol, Ipv6ExtHeader, Ipv6FragmentHeader as SmolFragment, Ipv6Packet,
    Ipv6Repr,
};
use tunstack::ip::fragment::Piece;
use tunstack::ip::ipv6::ext::FRAGMENT_HEADER_LEN;
use tunstack::ip::ipv6::fragment::{
    emit_fragment, fragment_len, plan, reassemble, reassembler, Reassembly, MIN_MTU,
};
use tunstack::ip::ipv6::{walk, Chain, NextHeader, Packet, Repr, HEADER_LEN};
use tunstack::time::Instant;

/// Payloads too big for the minimum MTU: mostly a few fragments, sometimes the largest packet.
fn arb_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (1241usize..6000, any::<u8>()),
        1 => (1241usize..=65_535, any::<u8>()),
    ]
    .prop_map(|(len, seed)| {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(seed) ^ (i >> 8) as u8)
            .collect()
    })
}

/// A header as our output would be given it: UDP, any addresses and marks.
fn arb_header() -> impl Strategy<Value = Repr> {
    (any::<[u128; 2]>(), any::<u8>(), any::<u8>(), 0u32..=0xfffff).prop_map(
        |([src, dst], hop_limit, traffic_class, flow_label)| Repr {
            src_addr: Ipv6Addr::from(src),
            dst_addr: Ipv6Addr::from(dst),
            next_header: NextHeader::from(17),
            hop_limit,
            traffic_class,
            flow_label,
            payload_len: 0,
        },
    )
}

/// `items` in another order: rotated by `turn`, then reversed or not.
fn reorder<T>(mut items: Vec<T>, turn: usize, reverse: bool) -> Vec<T> {
    let len = items.len().max(1);
    items.rotate_left(turn % len);
    if reverse {
        items.reverse();
    }
    items
}

/// Checks one fragment we wrote against etherparse's and smoltcp's readers.
fn check_fragment(bytes: &[u8], header: &Repr, ident: u32, piece: &Piece, payload: &[u8]) {
    let data = &payload[piece.offset..piece.offset + piece.len];
    let slice = Ipv6Slice::from_slice(bytes).expect("etherparse reads it");
    let ip = slice.header();
    assert_eq!(
        (ip.source_addr(), ip.destination_addr()),
        (header.src_addr, header.dst_addr)
    );
    assert_eq!(
        (ip.hop_limit(), ip.traffic_class()),
        (header.hop_limit, header.traffic_class)
    );
    assert_eq!(ip.flow_label().value(), header.flow_label);
    assert_eq!(
        usize::from(ip.payload_length()),
        FRAGMENT_HEADER_LEN + piece.len
    );
    assert_eq!(ip.next_header(), IpNumber::IPV6_FRAGMENTATION_HEADER);
    let fragments: Vec<_> = slice
        .extensions()
        .clone()
        .into_iter()
        .filter_map(|ext| match ext {
            Ipv6ExtensionSlice::Fragment(f) => Some(f.to_header()),
            _ => None,
        })
        .collect();
    let expected = Ipv6FragmentHeader::new(
        IpNumber::UDP,
        IpFragOffset::try_new((piece.offset / 8) as u16).expect("13 bits"),
        piece.more,
        ident,
    );
    assert_eq!(fragments, [expected]);
    assert_eq!(slice.payload().payload, data);

    let packet = Ipv6Packet::new_checked(bytes).expect("smoltcp reads it");
    let repr = Ipv6Repr::parse(&packet).expect("smoltcp parses it");
    assert_eq!(repr.next_header, SmolProtocol::Ipv6Frag);
    assert_eq!(repr.payload_len, FRAGMENT_HEADER_LEN + piece.len);
    let ext = Ipv6ExtHeader::new_checked(packet.payload()).expect("an extension header");
    assert_eq!(ext.next_header(), SmolProtocol::Udp);
    let fragment = SmolFragment::new_checked(ext.payload()).expect("a Fragment header");
    assert_eq!(usize::from(fragment.frag_offset()) * 8, piece.offset);
    assert_eq!(
        (fragment.more_frags(), fragment.ident()),
        (piece.more, ident)
    );
}

/// An options header of `units` 8-byte units after the first, holding one PadN: it names UDP
/// until etherparse's `set_next_headers` links it into a chain.
fn padding_header(units: usize) -> Ipv6RawExtHeader {
    let mut body = vec![1, (4 + 8 * units) as u8];
    body.resize(6 + 8 * units, 0);
    Ipv6RawExtHeader::new_raw(IpNumber::UDP, &body).expect("a valid length")
}

/// A packet etherparse writes: `header` and `exts` (their Next Headers linked up to UDP),
/// then `data`.
fn etherparse_packet(header: &Ipv6Header, exts: &Ipv6Extensions, data: &[u8]) -> Vec<u8> {
    let mut exts = exts.clone();
    let mut header = header.clone();
    header.next_header = exts.set_next_headers(IpNumber::UDP);
    header
        .set_payload_length(exts.header_len() + data.len())
        .expect("fits");
    let mut bytes = header.to_bytes().to_vec();
    exts.write(&mut bytes, header.next_header).expect("writes");
    bytes.extend_from_slice(data);
    bytes
}

proptest! {
    #![proptest_config(config())]

    /// What we cut reads back field by field, stays within the MTU, and etherparse's
    /// reassembler joins it in any order.
    #[test]
    fn our_fragments_read_back_and_join_in_etherparse(
        payload in arb_payload(),
        header in arb_header(),
        mtu in MIN_MTU..=9000usize,
        ident in any::<u32>(),
        (turn, reverse) in (any::<usize>(), any::<bool>()),
    ) {
        // Only what does not fit is cut.
        let mtu = mtu.min(HEADER_LEN + payload.len() - 1);
        let pieces = plan(payload.len(), mtu);
        prop_assert!(pieces.len() > 1);
        let mut fragments = Vec::new();
        for piece in &pieces {
            let mut buf = vec![0; fragment_len(piece)];
            emit_fragment(&mut buf, &header, ident, &payload, piece);
            prop_assert!(buf.len() <= mtu);
            check_fragment(&buf, &header, ident, piece, &payload);
            fragments.push(buf);
        }
        let mut pool: IpDefragPool = IpDefragPool::new();
        let mut joined = None;
        for fragment in reorder(fragments, turn, reverse) {
            let sliced = SlicedPacket::from_ip(&fragment).expect("etherparse slices it");
            let out = pool.process_sliced_packet(&sliced, (), ()).expect("etherparse joins it");
            prop_assert!(joined.is_none(), "joined before the last fragment");
            joined = out;
        }
        let joined = joined.expect("joined");
        prop_assert_eq!(joined.ip_number, IpNumber::UDP);
        prop_assert_eq!(joined.payload, payload);
    }

    /// Fragments etherparse writes, with or without extension headers before the Fragment
    /// header, join in our reassembler into the packet etherparse writes unfragmented.
    #[test]
    fn etherparse_fragments_join_in_ours(
        payload in arb_payload(),
        hop_by_hop in proptest::option::of(0usize..3),
        destination in proptest::option::of(0usize..3),
        per in (1usize..200).prop_map(|units| units * 8 + 1024),
        ident in any::<u32>(),
        (turn, reverse) in (any::<usize>(), any::<bool>()),
    ) {
        let header = Ipv6Header {
            traffic_class: 0,
            flow_label: Ipv6FlowLabel::try_new(0x5eed).expect("20 bits"),
            payload_length: 0,
            next_header: IpNumber::UDP,
            hop_limit: 64,
            source: [0xfd, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            destination: [0xfd, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        };
        let exts = Ipv6Extensions {
            hop_by_hop_options: hop_by_hop.map(padding_header),
            destination_options: destination.map(padding_header),
            ..Ipv6Extensions::default()
        };
        // The Unfragmentable Part takes room from the last piece's 65,535 bytes.
        prop_assume!(exts.header_len() + payload.len() <= 65_535);
        let whole = etherparse_packet(&header, &exts, &payload);
        let mut fragments = Vec::new();
        let mut offset = 0;
        while offset < payload.len() {
            let end = payload.len().min(offset + per / 8 * 8);
            let mut cut = exts.clone();
            let units = IpFragOffset::try_new((offset / 8) as u16).expect("13 bits");
            cut.fragment = Some(Ipv6FragmentHeader::new(IpNumber::UDP, units, end < payload.len(), ident));
            fragments.push(etherparse_packet(&header, &cut, &payload[offset..end]));
            offset = end;
        }
        prop_assume!(fragments.len() <= 64);
        let mut r = reassembler();
        let mut joined = None;
        for fragment in reorder(fragments, turn, reverse) {
            let packet = Packet::new_checked(&fragment[..]).expect("valid");
            let Ok(Chain::Fragment { header, offset }) =
                walk(packet.next_header(), packet.payload(), false)
            else {
                panic!("not a fragment");
            };
            let at = offset - FRAGMENT_HEADER_LEN;
            prop_assert_eq!(at + HEADER_LEN, whole.len() - payload.len());
            prop_assert!(joined.is_none(), "joined before the last fragment");
            match reassemble(&mut r, Instant::ZERO, &packet, at, header) {
                Reassembly::Held => {}
                Reassembly::Complete { packet, .. } => joined = Some(packet),
                Reassembly::Dropped(dropped) => panic!("dropped: {dropped:?}"),
            }
        }
        prop_assert_eq!(joined, Some(whole));
        prop_assert!(r.is_empty());
    }
}
