//! The ICMPv6 codec (with neighbour discovery's messages) on arbitrary bytes: checking,
//! parsing with the checksum over the pseudo-header, and emit → parse round trips of whatever
//! parsed.
#![no_main]

use std::net::Ipv6Addr;

use libfuzzer_sys::fuzz_target;
use tunstack::ip::icmpv6::header::{Packet, Repr};

fuzz_target!(|input: &[u8]| {
    // The first two bytes choose the addresses: unicast or multicast destination (neighbour
    // discovery's checks depend on it), unspecified or unicast source.
    let (choice, data) = match input {
        [a, b, rest @ ..] => ((*a, *b), rest),
        _ => return,
    };
    let src = match choice.0 % 3 {
        0 => Ipv6Addr::UNSPECIFIED,
        1 => "fe80::1".parse().expect("an address"),
        _ => "fd77::1".parse().expect("an address"),
    };
    let dst = match choice.1 % 3 {
        0 => "ff02::1:ff00:2".parse().expect("an address"),
        1 => "ff02::1".parse().expect("an address"),
        _ => "fd77::2".parse().expect("an address"),
    };
    let Ok(packet) = Packet::new_checked(data) else {
        assert!(data.len() < 8);
        return;
    };
    let _ = Repr::parse(&packet, src, dst).map(|repr| repr.to_string());

    // Fix the checksum so that parsing goes past it.
    let mut fixed = data.to_vec();
    Packet::new_unchecked(&mut fixed[..]).fill_checksum(src, dst);
    let packet = Packet::new_checked(&fixed[..]).expect("same length");
    let Ok(repr) = Repr::parse(&packet, src, dst) else {
        // Only neighbour discovery's checks refuse a message with a right checksum.
        assert!(matches!(data[0], 135 | 136), "type {} refused", data[0]);
        return;
    };
    let _ = repr.to_string();

    // Emit → parse gives the same message.
    let mut again = vec![0u8; repr.buffer_len()];
    repr.emit(&mut again, src, dst);
    let reparsed = Packet::new_checked(&again[..]).and_then(|p| Repr::parse(&p, src, dst));
    assert_eq!(reparsed, Ok(repr));
});
