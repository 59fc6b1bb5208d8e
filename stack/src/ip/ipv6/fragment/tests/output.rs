//! Fragmenting: the plan's arithmetic, the bytes of a fragment, the queue, and the round trip
//! through our own reassembly.

use super::*;
use crate::ip::fragment::Piece;
use crate::link::Reason;
use crate::queue::PacketQueue;

/// The header a packet of `payload_len` bytes of UDP would have had, unfragmented.
fn udp_header(payload_len: usize) -> Repr {
    Repr {
        src_addr: SRC,
        dst_addr: DST,
        next_header: NextHeader::from(UDP),
        hop_limit: 61,
        traffic_class: 0xb8,
        flow_label: 0xabcde,
        payload_len,
    }
}

/// The fragment packets of `payload` for `mtu`, as `emit_fragment` writes them.
fn emit_all(header: &Repr, ident: u32, payload: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    plan(payload.len(), mtu)
        .iter()
        .map(|piece| {
            let mut buf = vec![0; fragment_len(piece)];
            emit_fragment(&mut buf, header, ident, payload, piece);
            buf
        })
        .collect()
}

#[test]
fn the_plan_cuts_multiples_of_8_within_the_mtu() {
    assert_eq!(
        (max_fragment_data(1280), max_fragment_data(1500)),
        (1232, 1448)
    );
    for mtu in [1280, 1281, 1287, 1288, 1500, 9000, 65_575] {
        for len in [1, 1232, 1233, 1448, 3000, 65_535] {
            let pieces = plan(len, mtu);
            let mut next = 0;
            for (i, piece) in pieces.iter().enumerate() {
                let last = i + 1 == pieces.len();
                assert_eq!(piece.offset, next, "mtu {mtu} len {len}");
                assert!(fragment_len(piece) <= mtu);
                assert!(piece.len > 0 && (last || piece.len.is_multiple_of(8)));
                assert_eq!(piece.more, !last);
                next += piece.len;
            }
            assert_eq!(next, len);
        }
    }
    assert!(
        plan(3000, MIN_MTU - 1).is_empty(),
        "below IPv6's minimum MTU"
    );
    assert!(plan(65_536, 1500).is_empty(), "more than a packet carries");
    assert!(plan(0, 1500).is_empty());
}

#[test]
fn a_fragment_in_known_bytes() {
    // The second fragment of a UDP datagram: offset 1448 (181 units), M set, ident 0xdeadbeef.
    let header = udp_header(3000);
    let payload = [b"fragment".repeat(181), b"fragment".to_vec()].concat();
    let piece = Piece {
        offset: 1448,
        len: 8,
        more: true,
    };
    let mut buf = vec![0; fragment_len(&piece)];
    emit_fragment(&mut buf, &header, 0xdead_beef, &payload, &piece);
    #[rustfmt::skip]
    let expected: [u8; 56] = [
        0x6b, 0x8a, 0xbc, 0xde, // version 6, traffic class 0xb8, flow label 0xabcde
        0x00, 0x10, FRAGMENT, 61, // Payload Length 16 (8 + 8), Next Header 44, Hop Limit 61
        0xfd, 0x00, 0x00, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // source
        0xfd, 0x00, 0x00, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // destination
        UDP, 0x00, 0x05, 0xa9, // Next Header 17, reserved, offset 181 << 3 | M
        0xde, 0xad, 0xbe, 0xef, // Identification
        b'f', b'r', b'a', b'g', b'm', b'e', b'n', b't',
    ];
    assert_eq!(buf, expected);
}

#[test]
fn fragments_parse_with_the_fields_of_the_packet() {
    let payload = data(4000);
    let header = udp_header(payload.len());
    let fragments = emit_all(&header, 77, &payload, 1500);
    assert_eq!(fragments.len(), 3);
    for (fragment, piece) in fragments.iter().zip(plan(payload.len(), 1500)) {
        let packet = Packet::new_checked(&fragment[..]).expect("valid");
        let repr = Repr::parse(&packet);
        let expected = Repr {
            next_header: NextHeader::Fragment,
            payload_len: FRAGMENT_HEADER_LEN + piece.len,
            ..header
        };
        assert_eq!(repr, expected);
        let chain = walk(packet.next_header(), packet.payload(), false);
        let fields = FragmentHeader {
            next_header: NextHeader::from(UDP),
            offset: piece.offset as u16,
            more_fragments: piece.more,
            ident: 77,
        };
        assert_eq!(
            chain,
            Ok(Chain::Fragment {
                header: fields,
                offset: FRAGMENT_HEADER_LEN
            })
        );
        let data = &packet.payload()[FRAGMENT_HEADER_LEN..];
        assert_eq!(data, &payload[piece.offset..piece.offset + piece.len]);
    }
}

#[test]
fn what_we_cut_we_join_again_in_any_order() {
    let mut rng = fastrand::Rng::with_seed(1280);
    for round in 0..50 {
        let payload = data(rng.usize(1233..=65_535));
        let mtu = rng.usize(MIN_MTU..=9000);
        let header = udp_header(payload.len());
        let mut fragments = emit_all(&header, round, &payload, mtu);
        if fragments.len() > REASSEMBLY_CONFIG.max_fragments {
            continue;
        }
        rng.shuffle(&mut fragments);
        let mut whole = vec![0; HEADER_LEN];
        header.emit(&mut whole);
        whole.extend_from_slice(&payload);
        let (packet, count) = complete(feed_all(&mut reassembler(), &fragments));
        assert_eq!(packet, whole, "round {round}, mtu {mtu}");
        assert_eq!(count, fragments.len());
    }
}

#[test]
fn queueing_is_all_or_nothing_and_says_why() {
    let payload = data(3000);
    let header = udp_header(payload.len());
    let mut out = PacketQueue::new(2);
    assert!(
        !queue_fragments(&mut out, &header, 5, &payload, 1500),
        "3 fragments, 2 slots"
    );
    assert_eq!(out.len(), 0);
    assert!(
        !queue_fragments(&mut out, &header, 5, &payload, 1000),
        "below 1280"
    );
    let mut out = PacketQueue::new(4);
    assert!(queue_fragments(&mut out, &header, 5, &payload, 1500));
    let expected = emit_all(&header, 5, &payload, 1500);
    let mut buf = Vec::new();
    for (i, fragment) in expected.iter().enumerate() {
        let why = out.pop_into(&mut buf).expect("queued");
        let total_len = HEADER_LEN + payload.len();
        assert_eq!(
            why,
            Some(Reason::Fragment {
                index: i + 1,
                count: 3,
                total_len
            })
        );
        assert_eq!(&buf, fragment);
    }
    assert_eq!(out.pop_into(&mut buf), None);
}
