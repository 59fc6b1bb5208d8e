//! The IPv4 header codec on arbitrary bytes: checking, every accessor, parsing (as a packet and
//! as a header quoted in an ICMP error), and emit → parse round trips of whatever parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::ip::header::{parse_quoted, Packet, Repr, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let _ = parse_quoted(data);
    let Ok(packet) = Packet::new_checked(data) else {
        return;
    };
    let _ = (packet.version(), packet.tos(), packet.ident(), packet.ttl());
    let _ = (packet.protocol(), packet.checksum(), packet.is_fragment());
    let _ = (packet.src_addr(), packet.dst_addr(), packet.options());
    assert_eq!(
        packet.payload().len() + packet.header_len(),
        usize::from(packet.total_len())
    );
    let _ = Repr::parse(&packet);

    // Most inputs fail the checksum: fix it so that parsing goes past it, as it must then.
    let mut fixed = data.to_vec();
    let mut packet = Packet::new_unchecked(&mut fixed[..]);
    packet.fill_checksum();
    let packet = Packet::new_checked(&fixed[..]).expect("fixing the checksum changes no length");
    let repr = Repr::parse(&packet).expect("a checked packet with a right checksum parses");
    let (quoted, header_len) = parse_quoted(&fixed).expect("a parsed packet is a valid quote");
    assert_eq!((quoted, header_len), (repr, packet.header_len()));

    // Emitting what was read and reading it back gives the same values (without the options,
    // which this stack does not send).
    let mut again = vec![0u8; repr.total_len()];
    repr.emit(&mut again[..HEADER_LEN]);
    let reparsed = Packet::new_checked(&again[..]).and_then(|p| Repr::parse(&p));
    assert_eq!(reparsed, Ok(repr));
});
