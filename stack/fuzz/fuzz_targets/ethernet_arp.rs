//! The Ethernet II and ARP codecs on arbitrary bytes: the input as a frame and its payload as
//! ARP (whatever the EtherType says, so that ARP sees every input past 14 bytes), the input
//! itself as ARP too, and the input as text for `MacAddr::from_str`. Checking, every accessor
//! and parsing never panic, and whatever parses emits the same bytes back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::link::arp::header::{self as arp, Packet};
use tunstack::link::ethernet::header::{self as ethernet, Frame};
use tunstack::link::ethernet::MacAddr;
use tunstack::wire::WireError;

fuzz_target!(|data: &[u8]| {
    check_arp(data);
    check_mac_text(data);

    let Ok(frame) = Frame::new_checked(data) else {
        assert!(data.len() < ethernet::HEADER_LEN);
        return;
    };
    let _ = (frame.dst_addr(), frame.src_addr(), frame.ethertype());
    assert_eq!(frame.payload().len() + ethernet::HEADER_LEN, data.len());
    let repr = ethernet::Repr::parse(&frame).expect("every 14 bytes are a header");
    let _ = repr.to_string();

    // Emit the header over a blanked copy: the whole frame comes back, payload untouched.
    let mut again = data.to_vec();
    again[..ethernet::HEADER_LEN].fill(0);
    repr.emit(&mut again);
    assert_eq!(again, data);

    check_arp(frame.payload());
});

/// `data` as an ARP packet: if the view accepts it, the address lengths fit, parsing fails only
/// as `Unsupported`, and what parses emits its 28 bytes back and parses again the same.
fn check_arp(data: &[u8]) {
    let Ok(packet) = Packet::new_checked(data) else {
        let unchecked = Packet::new_unchecked(data);
        assert_eq!(arp::Repr::parse(&unchecked), Err(WireError::Truncated));
        return;
    };
    let _ = (
        packet.hardware_type(),
        packet.protocol_type(),
        packet.operation(),
    );
    let (hlen, plen) = (
        usize::from(packet.hardware_len()),
        usize::from(packet.protocol_len()),
    );
    assert_eq!(packet.sender_hardware_addr().len(), hlen);
    assert_eq!(packet.target_hardware_addr().len(), hlen);
    assert_eq!(packet.sender_protocol_addr().len(), plen);
    assert_eq!(packet.target_protocol_addr().len(), plen);
    assert_eq!(packet.packet_len(), arp::FIXED_LEN + 2 * (hlen + plen));
    assert!(packet.packet_len() <= data.len());

    let repr = match arp::Repr::parse(&packet) {
        Ok(repr) => repr,
        Err(err) => {
            assert_eq!(err, WireError::Unsupported, "a checked packet is whole");
            return;
        }
    };
    let _ = repr.to_string();
    assert_eq!((hlen, plen), (6, 4));
    assert_eq!(repr.sender_mac.octets(), packet.sender_hardware_addr());
    assert_eq!(repr.target_ip.octets(), packet.target_protocol_addr());

    let mut again = [0u8; arp::HEADER_LEN];
    repr.emit(&mut again);
    assert_eq!(again[..], data[..arp::HEADER_LEN]);
    let reparsed = Packet::new_checked(&again[..]).and_then(|p| arp::Repr::parse(&p));
    assert_eq!(reparsed, Ok(repr));
}

/// `data` as text for `MacAddr::from_str`: no panic, and what parses writes back the same, up
/// to case and separator.
fn check_mac_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<MacAddr>() {
        Ok(mac) => assert_eq!(mac.to_string(), text.to_lowercase().replace('-', ":")),
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}
