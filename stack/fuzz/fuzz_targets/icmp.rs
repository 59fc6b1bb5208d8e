//! The ICMP codec on arbitrary bytes: checking, every accessor, parsing, the quoted header of
//! an error, and emit → parse round trips of whatever parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::ip::header::parse_quoted;
use tunstack::ip::icmp::header::{Packet, Repr};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::new_checked(data) else {
        assert!(data.len() < 8);
        return;
    };
    let _ = (
        packet.msg_type(),
        packet.code(),
        packet.checksum(),
        packet.data(),
    );
    let _ = (
        packet.echo_ident(),
        packet.echo_seq_no(),
        packet.next_hop_mtu(),
    );
    let _ = Repr::parse(&packet).map(|repr| repr.to_string());

    // Fix the checksum so that parsing goes past it: every message then parses.
    let mut fixed = data.to_vec();
    Packet::new_unchecked(&mut fixed[..]).fill_checksum();
    let packet = Packet::new_checked(&fixed[..]).expect("same length");
    let repr = Repr::parse(&packet).expect("any type parses once the checksum is right");
    let _ = repr.to_string();
    if let Some(invoking) = repr.invoking() {
        // What the stack does with an error: read the header of our datagram it quotes.
        let _ = parse_quoted(invoking);
    }

    // Emit → parse gives the same message. `Other` keeps no data, so it emits a shorter one.
    let mut again = vec![0u8; repr.buffer_len()];
    repr.emit(&mut again);
    let reparsed = Packet::new_checked(&again[..]).and_then(|p| Repr::parse(&p));
    assert_eq!(reparsed, Ok(repr));
});
