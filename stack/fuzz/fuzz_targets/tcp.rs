//! The TCP codec on arbitrary bytes: checking, every accessor, the options iterator, parsing,
//! and emit → parse round trips of whatever parsed.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use tunstack::tcp::header::{Packet, Repr};
use tunstack::tcp::options::{Options, MAX_OPTIONS_LEN};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fuzz_target!(|data: &[u8]| {
    // The options iterator on its own, on any bytes: it ends within one item per byte.
    assert!(Options::new(data).count() <= data.len());

    // A segment longer than the pseudo-header's length field cannot be checksummed at all.
    if data.len() > usize::from(u16::MAX) {
        return;
    }
    let Ok(packet) = Packet::new_checked(data) else {
        return;
    };
    let _ = (packet.src_port(), packet.dst_port(), packet.seq_number());
    let _ = (packet.ack_number(), packet.flags(), packet.window_len());
    let _ = (packet.checksum(), packet.urgent_at(), packet.payload());
    assert!(packet.options().len() <= MAX_OPTIONS_LEN);
    for option in Options::new(packet.options()).flatten() {
        let _ = option.buffer_len();
    }
    let _ = Repr::parse(&packet, SRC, DST).map(|repr| repr.to_string());

    // Fix the checksum so that parsing goes past it, to the options.
    let mut fixed = data.to_vec();
    Packet::new_unchecked(&mut fixed[..]).fill_checksum(SRC, DST);
    let packet = Packet::new_checked(&fixed[..]).expect("same length");
    let Ok(repr) = Repr::parse(&packet, SRC, DST) else {
        // Only the options can be wrong now.
        assert!(Options::new(packet.options()).any(|option| option.is_err()));
        return;
    };
    assert_eq!(repr.payload_len, packet.payload().len());

    // Emit → parse with the same payload gives the same header, except SACK blocks: our layout
    // pads each option to 4 bytes, so a peer's tightly packed options may leave room for fewer.
    let header_len = repr.header_len();
    assert!(header_len <= 60 && header_len % 4 == 0);
    let mut again = vec![0u8; repr.buffer_len()];
    again[header_len..].copy_from_slice(packet.payload());
    repr.emit(&mut again, SRC, DST);
    let mut reparsed = Repr::parse(
        &Packet::new_checked(&again[..]).expect("emit writes a whole header"),
        SRC,
        DST,
    )
    .expect("what we emit parses");
    let sent = reparsed.sack_blocks.as_slice();
    assert_eq!(sent, &repr.sack_blocks.as_slice()[..sent.len()]);
    reparsed.sack_blocks = repr.sack_blocks;
    assert_eq!(reparsed, repr);
});
