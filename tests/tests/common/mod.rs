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
