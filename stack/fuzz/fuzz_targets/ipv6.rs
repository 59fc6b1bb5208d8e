//! The IPv6 header codec and the extension-header walk on arbitrary bytes: checking, every
//! accessor, parsing, emit → the same header bytes, and the walk checked against a plain
//! re-reading of the chain that it ends where the chain says, within its bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::ip::ipv6::ext::{walk, Chain, MAX_EXT_HEADERS};
use tunstack::ip::ipv6::{NextHeader, Packet, Repr, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    // Most inputs are not IPv6: walk them anyway, the first byte naming the first header.
    if let Some((&first, rest)) = data.split_first() {
        for multicast in [false, true] {
            check_walk(NextHeader::from(first), rest, multicast);
        }
    }
    let Ok(packet) = Packet::new_checked(data) else {
        return;
    };
    let _ = (
        packet.version(),
        packet.traffic_class(),
        packet.flow_label(),
    );
    let _ = (packet.next_header(), packet.hop_limit());
    let _ = (packet.src_addr(), packet.dst_addr());
    assert_eq!(packet.payload().len(), usize::from(packet.payload_len()));
    assert!(packet.total_len() <= data.len());
    let repr = Repr::parse(&packet);
    let _ = repr.to_string();

    // The Repr covers every bit of the fixed header: emitting it gives the same 40 bytes.
    let mut again = [0u8; HEADER_LEN];
    repr.emit(&mut again);
    assert_eq!(&again[..], &data[..HEADER_LEN]);

    check_walk(
        packet.next_header(),
        packet.payload(),
        packet.dst_addr().is_multicast(),
    );
});

/// Walks, and checks the result against a reading of the chain that only follows the Next
/// Header and length fields (no options, no verdicts).
fn check_walk(first: NextHeader, payload: &[u8], multicast: bool) {
    let Ok(chain) = walk(first, payload, multicast) else {
        return;
    };
    assert!(chain.offset() <= payload.len());
    let (end, headers) = follow(first, payload);
    assert!(headers <= MAX_EXT_HEADERS, "the walk went past its bound");
    match chain {
        Chain::Upper { protocol, offset } => {
            assert_eq!(end, Some((NextHeader::Protocol(protocol), offset)));
        }
        Chain::Fragment { header, offset } => {
            assert_eq!(end, Some((NextHeader::Fragment, offset - 8)));
            assert_eq!(header.next_header, NextHeader::from(payload[offset - 8]));
            assert_eq!(header.offset % 8, 0);
        }
    }
}

/// The header the chain stops at (an upper layer, a fragment, or nothing) and where, and how
/// many extension headers came before it; at most one past the walk's bound is followed.
fn follow(first: NextHeader, payload: &[u8]) -> (Option<(NextHeader, usize)>, usize) {
    let (mut next, mut at) = (first, 0usize);
    for headers in 0..=MAX_EXT_HEADERS + 1 {
        match next {
            NextHeader::HopByHop | NextHeader::Routing | NextHeader::DestinationOptions => {
                let Some(&units) = payload.get(at + 1) else {
                    return (None, headers);
                };
                next = NextHeader::from(payload[at]);
                at += (usize::from(units) + 1) * 8;
            }
            NextHeader::NoNextHeader => return (None, headers),
            _ => return (Some((next, at)), headers),
        }
    }
    (None, MAX_EXT_HEADERS + 1)
}
