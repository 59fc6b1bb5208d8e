//! The UDP codec on arbitrary bytes: checking, every accessor, parsing, and emit → parse round
//! trips of whatever parsed.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use tunstack::udp::header::{Packet, Repr, HEADER_LEN};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::new_checked(data) else {
        return;
    };
    let _ = (packet.src_port(), packet.dst_port(), packet.checksum());
    assert_eq!(
        packet.payload().len() + HEADER_LEN,
        usize::from(packet.len())
    );
    let _ = Repr::parse(&packet, SRC, DST).map(|repr| repr.to_string());

    // Fix the checksum so that parsing goes past it: the datagram then parses.
    let mut fixed = data.to_vec();
    Packet::new_unchecked(&mut fixed[..]).fill_checksum(SRC, DST);
    let packet = Packet::new_checked(&fixed[..]).expect("same length");
    assert_ne!(
        packet.checksum(),
        0,
        "a computed checksum is never sent as 0"
    );
    let repr = Repr::parse(&packet, SRC, DST).expect("a right checksum parses");
    assert_eq!(repr.payload_len, packet.payload().len());

    // Emit → parse with the same payload gives the same header.
    let mut again = vec![0u8; repr.buffer_len()];
    again[HEADER_LEN..].copy_from_slice(packet.payload());
    repr.emit(&mut again, SRC, DST);
    let reparsed = Packet::new_checked(&again[..]).and_then(|p| Repr::parse(&p, SRC, DST));
    assert_eq!(reparsed, Ok(repr));
});
