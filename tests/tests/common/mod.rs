//! What the codec oracle suites share: how many cases to run, addresses, byte mutations.
// Each suite is its own test binary and uses only part of this module.
#![allow(dead_code)]

use std::net::Ipv4Addr;

use proptest::prelude::*;
use proptest::test_runner::Config;

/// The cases each property runs: enough to reach every branch of a codec many times over,
/// few enough that the whole suite stays within seconds in a debug build.
pub fn config() -> Config {
    Config {
        cases: 512,
        ..Config::default()
    }
}

/// Any IPv4 address.
pub fn arb_addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

/// MAC addresses: any six bytes, with broadcast, all-zero, multicast and locally
/// administered unicast addresses drawn often (the first byte's two low bits matter).
pub fn arb_mac() -> impl Strategy<Value = tunstack::link::ethernet::MacAddr> {
    use tunstack::link::ethernet::MacAddr;
    prop_oneof![
        Just(MacAddr::BROADCAST),
        Just(MacAddr::UNSPECIFIED),
        // Each of the four kinds: unicast or group (I/G), maker's or local (U/L).
        (any::<u8>(), 0u8..4, any::<[u8; 5]>()).prop_map(|(first, low_bits, rest)| {
            let [b, c, d, e, f] = rest;
            MacAddr::new([first & !0x03 | low_bits, b, c, d, e, f])
        }),
        any::<[u8; 6]>().prop_map(MacAddr::new),
    ]
}

/// The same address as smoltcp's `EthernetAddress`.
pub fn smol_mac(mac: tunstack::link::ethernet::MacAddr) -> smoltcp::wire::EthernetAddress {
    smoltcp::wire::EthernetAddress(mac.octets())
}

/// The same address as smoltcp's `IpAddress`.
pub fn smol_addr(addr: Ipv4Addr) -> smoltcp::wire::IpAddress {
    smoltcp::wire::IpAddress::Ipv4(addr)
}

/// Byte overwrites to apply to a valid packet: `(position, value)`, the position taken
/// modulo the packet's length. A few wrong bytes in a right packet reach the checks that
/// random bytes never get past.
pub fn arb_edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    proptest::collection::vec(any::<(usize, u8)>(), 0..4)
}

/// `bytes` with `edits` applied.
pub fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)]) -> Vec<u8> {
    if !bytes.is_empty() {
        let len = bytes.len();
        for &(at, value) in edits {
            bytes[at % len] = value;
        }
    }
    bytes
}
