//! The IPv6 side of the options: the default addresses, and the checks `--addr6` and
//! `--peer6` must pass.
//!
//! ```text
//!   kernel fd77::1/64  ◄── tun0 ──►  stack fd77::2/64
//!   fd77:0000:0000:0000 : 0000:0000:0000:0001
//!   |<-- network: 64 -->|<-- interface: 64 -->|     (RFC 4291 section 2.5.1)
//! ```

use std::net::Ipv6Addr;

use tunstack::Ipv6Cidr;

/// The stack's IPv6 address and network when `--addr6` is not given: fd77::2/64.
pub const DEFAULT_ADDR6: Ipv6Cidr = cidr(Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2));

/// The kernel's IPv6 address and network when `--peer6` is not given: fd77::1/64.
pub const DEFAULT_PEER6: Ipv6Cidr = cidr(Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1));

/// `addr/64`: IPv6 networks on a link are /64 (RFC 4291 section 2.5.1).
const fn cidr(addr: Ipv6Addr) -> Ipv6Cidr {
    match Ipv6Cidr::new(addr, 64) {
        Some(cidr) => cidr,
        None => panic!("64 is a valid prefix length"),
    }
}

/// Checks `--addr6` (ours) against `--peer6` (the kernel's) before any device is made: one
/// network (the same prefix length, the same network bits), two different addresses, each one
/// a unicast address a host can be given. The prefix must leave room for two hosts; a /128
/// would also give the kernel no route to the device.
///
/// The error names the option, the address and what would do, e.g. "--addr6: fd78::2 is not on
/// fd77::/64, --peer6's network; give an address on it, e.g. fd77::2/64".
pub fn check_addresses6(addr6: Ipv6Cidr, peer6: Ipv6Cidr) -> Result<(), String> {
    let network = format!("{}/{}", peer6.network(), peer6.prefix_len());
    if peer6.prefix_len() >= 127 {
        return Err(format!(
            "--peer6: {peer6} leaves no room for a second host, and the kernel would have no \
             route to the device: give a shorter prefix, e.g. {}/64",
            peer6.address()
        ));
    }
    check_unicast("--peer6", peer6.address())?;
    check_unicast("--addr6", addr6.address())?;
    if addr6.prefix_len() != peer6.prefix_len() || !peer6.contains(addr6.address()) {
        return Err(format!(
            "--addr6: {addr6} is not on {network}, --peer6's network; give an address on it \
             with the same prefix length, e.g. {}/{}",
            suggest(peer6),
            peer6.prefix_len()
        ));
    }
    for (option, cidr) in [("--peer6", peer6), ("--addr6", addr6)] {
        if cidr.address() == cidr.network() {
            return Err(format!(
                "{option}: {} is {network}'s subnet-router anycast address (RFC 4291 section \
                 2.6.1), which a router answers, not a host; give another address, e.g. {}",
                cidr.address(),
                suggest(peer6)
            ));
        }
    }
    if addr6.address() == peer6.address() {
        return Err(format!(
            "--addr6: {} is --peer6's address, the kernel's side of the device; the stack \
             needs another address on {network}, e.g. {}",
            addr6.address(),
            suggest(peer6)
        ));
    }
    Ok(())
}

/// Refuses an address no interface can be given: unspecified, loopback, multicast,
/// link-local (every interface makes its own, fe80::/10) or IPv4-mapped (::ffff:0:0/96, which
/// stands for an IPv4 address in an IPv6 socket).
fn check_unicast(option: &str, addr: Ipv6Addr) -> Result<(), String> {
    let why = if addr.is_unspecified() {
        ":: is the unspecified address: \"no address yet\""
    } else if addr.is_loopback() {
        "::1 is the loopback address, this host's own"
    } else if addr.is_multicast() {
        "a multicast address (ff00::/8) names a group of interfaces"
    } else if tunstack::ip::addr6::is_link_local(addr) {
        "a link-local address (fe80::/10) is made by each interface for itself"
    } else if addr.to_ipv4_mapped().is_some() {
        "an IPv4-mapped address (::ffff:0:0/96) stands for an IPv4 address"
    } else {
        return Ok(());
    };
    Err(format!(
        "{option}: {addr} cannot be given to an interface: {why}; give a unicast address, e.g. \
         a unique local one like fd77::2/64"
    ))
}

/// An address on `peer6`'s network other than the kernel's: ::2, or ::1 when that is it.
fn suggest(peer6: Ipv6Cidr) -> Ipv6Addr {
    let network = u128::from(peer6.network());
    let first = Ipv6Addr::from(network | 2);
    if first == peer6.address() {
        Ipv6Addr::from(network | 1)
    } else {
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(addr6: &str, peer6: &str) -> Result<(), String> {
        check_addresses6(addr6.parse().unwrap(), peer6.parse().unwrap())
    }

    #[test]
    fn the_defaults_pass() {
        assert_eq!(check_addresses6(DEFAULT_ADDR6, DEFAULT_PEER6), Ok(()));
        assert_eq!(DEFAULT_ADDR6.to_string(), "fd77::2/64");
        assert_eq!(DEFAULT_PEER6.to_string(), "fd77::1/64");
        assert_eq!(check("2001:db8:1::ff/48", "2001:db8:1::1/48"), Ok(()));
    }

    #[test]
    fn what_is_refused_and_why() {
        for (addr6, peer6, words) in [
            (
                "fd78::2/64",
                "fd77::1/64",
                "--addr6: fd78::2/64 is not on fd77::/64, --peer6's network; give an address \
                 on it with the same prefix length, e.g. fd77::2/64",
            ),
            (
                "fd77::2/48",
                "fd77::1/64",
                "--addr6: fd77::2/48 is not on fd77::/64, --peer6's network; give an address \
                 on it with the same prefix length, e.g. fd77::2/64",
            ),
            (
                "fd77::1/64",
                "fd77::1/64",
                "--addr6: fd77::1 is --peer6's address, the kernel's side of the device; the \
                 stack needs another address on fd77::/64, e.g. fd77::2",
            ),
            (
                "fd77::2/64",
                "fd77::2/64",
                "--addr6: fd77::2 is --peer6's address, the kernel's side of the device; the \
                 stack needs another address on fd77::/64, e.g. fd77::1",
            ),
            (
                "fd77::/64",
                "fd77::1/64",
                "--addr6: fd77:: is fd77::/64's subnet-router anycast address (RFC 4291 \
                 section 2.6.1), which a router answers, not a host; give another address, \
                 e.g. fd77::2",
            ),
            (
                "fd77::2/128",
                "fd77::1/128",
                "--peer6: fd77::1/128 leaves no room for a second host, and the kernel would \
                 have no route to the device: give a shorter prefix, e.g. fd77::1/64",
            ),
            (
                "fe80::2/64",
                "fe80::1/64",
                "--peer6: fe80::1 cannot be given to an interface: a link-local address \
                 (fe80::/10) is made by each interface for itself; give a unicast address, \
                 e.g. a unique local one like fd77::2/64",
            ),
            (
                "ff02::2/64",
                "fd77::1/64",
                "--addr6: ff02::2 cannot be given to an interface: a multicast address \
                 (ff00::/8) names a group of interfaces; give a unicast address, e.g. a \
                 unique local one like fd77::2/64",
            ),
            (
                "::ffff:10.77.0.2/120",
                "fd77::1/64",
                "--addr6: ::ffff:10.77.0.2 cannot be given to an interface: an IPv4-mapped \
                 address (::ffff:0:0/96) stands for an IPv4 address; give a unicast address, \
                 e.g. a unique local one like fd77::2/64",
            ),
        ] {
            assert_eq!(
                check(addr6, peer6),
                Err(words.to_string()),
                "{addr6} {peer6}"
            );
        }
    }
}
