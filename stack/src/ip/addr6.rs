//! IPv6 addresses with a prefix length ([RFC 4291]), and the addresses a host derives from
//! others: its link-local address and solicited-node multicast groups.
//!
//! `fd77::2/64` names a host (fd77::2) on the network fd77::/64: on every IPv6 link the first
//! 64 bits name the network and the last 64 the interface ([RFC 4291 2.5.1]). Beside it, every
//! interface has a *link-local* address, fe80::/64 and an interface identifier, valid on its own
//! link only: Neighbor Discovery speaks from it.
//!
//! ```text
//! fd77:0000:0000:0000 : 0000:0000:0000:0002     fd77::2/64
//! |<-- network (64) ->|<-- interface (64) -->|
//! ```
//!
//! [RFC 4291]: https://www.rfc-editor.org/rfc/rfc4291
//! [RFC 4291 2.5.1]: https://www.rfc-editor.org/rfc/rfc4291#section-2.5.1

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use super::addr::CidrParseError;
use crate::link::ethernet::MacAddr;

/// An IPv6 address and a prefix length, like `fd77::2/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Cidr {
    address: Ipv6Addr,
    prefix_len: u8,
}

impl Ipv6Cidr {
    /// An address with a prefix length; `None` if the prefix is longer than 128 bits.
    pub const fn new(address: Ipv6Addr, prefix_len: u8) -> Option<Ipv6Cidr> {
        if prefix_len > 128 {
            return None;
        }
        Some(Ipv6Cidr {
            address,
            prefix_len,
        })
    }

    /// The address as written (the host, not the network).
    pub const fn address(&self) -> Ipv6Addr {
        self.address
    }

    /// The prefix length: how many leading bits name the network.
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The network: the interface bits cleared, e.g. fd77:: for fd77::2/64.
    pub fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.address) & self.mask_bits())
    }

    /// Whether `addr` is on this network (its network bits match).
    pub fn contains(&self, addr: Ipv6Addr) -> bool {
        (u128::from(addr) ^ u128::from(self.address)) & self.mask_bits() == 0
    }

    fn mask_bits(&self) -> u128 {
        u128::MAX
            .checked_shl(128 - u32::from(self.prefix_len))
            .unwrap_or(0)
    }
}

impl fmt::Display for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl FromStr for Ipv6Cidr {
    type Err = CidrParseError;

    /// Parses `fd77::2/64`; a bare address means a host route (`/128`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let address: Ipv6Addr = addr
            .parse()
            .map_err(|_| CidrParseError::new(format!("`{addr}` is not an IPv6 address")))?;
        let prefix_len = match prefix {
            None => 128,
            Some(p) => p.parse::<u8>().ok().filter(|n| *n <= 128).ok_or_else(|| {
                CidrParseError::new(format!("`/{p}` is not a prefix length (0-128)"))
            })?,
        };
        Ok(Ipv6Cidr {
            address,
            prefix_len,
        })
    }
}

/// The link-local address an interface with MAC address `mac` takes: fe80::/64 and the
/// modified EUI-64 identifier ([RFC 4291 appendix A]): the MAC split in the middle by
/// `ff:fe`, with the universal/local bit flipped. 02:00:0a:4d:00:02 gives fe80::aff:fe4d:2.
///
/// [RFC 4291 appendix A]: https://www.rfc-editor.org/rfc/rfc4291#appendix-A
pub fn link_local_for(mac: MacAddr) -> Ipv6Addr {
    let m = mac.octets();
    let mut bytes = [0u8; 16];
    bytes[..2].copy_from_slice(&[0xfe, 0x80]);
    bytes[8..].copy_from_slice(&[m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]);
    Ipv6Addr::from(bytes)
}

/// The solicited-node multicast group of `addr` ([RFC 4291 2.7.1]): ff02::1:ff00:0/104 and the
/// address's last 24 bits. A neighbour solicitation for `addr` goes there, so only the few hosts
/// whose addresses end alike are disturbed, not the whole link.
///
/// [RFC 4291 2.7.1]: https://www.rfc-editor.org/rfc/rfc4291#section-2.7.1
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let a = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, a[13], a[14], a[15],
    ])
}

/// Whether `addr` is link-local unicast, fe80::/10: valid on one link only.
pub const fn is_link_local(addr: Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_contains() {
        let cidr: Ipv6Cidr = "fd77::2/64".parse().unwrap();
        assert_eq!(cidr.network(), "fd77::".parse::<Ipv6Addr>().unwrap());
        assert!(cidr.contains("fd77::1".parse().unwrap()));
        assert!(cidr.contains("fd77::ffff:1:2:3".parse().unwrap()));
        assert!(!cidr.contains("fd78::1".parse().unwrap()));
        assert_eq!(cidr.to_string(), "fd77::2/64");
        let host: Ipv6Cidr = "::1".parse().unwrap();
        assert_eq!(host.prefix_len(), 128);
        let all: Ipv6Cidr = "::/0".parse().unwrap();
        assert!(all.contains("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn rejects_bad_input_with_a_message() {
        assert!("fd77::2/129".parse::<Ipv6Cidr>().is_err());
        let err = "10.0.0.1/24".parse::<Ipv6Cidr>().unwrap_err();
        assert!(err.to_string().contains("not an IPv6 address"), "{err}");
    }

    /// RFC 4291 appendix A's rule, and the value Linux gives the same MAC address.
    #[test]
    fn link_local_from_the_mac() {
        let mac = MacAddr::new([0x02, 0x00, 0x0a, 0x4d, 0x00, 0x02]);
        assert_eq!(
            link_local_for(mac),
            "fe80::aff:fe4d:2".parse::<Ipv6Addr>().unwrap()
        );
        let mac = MacAddr::new([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(
            link_local_for(mac),
            "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap()
        );
        assert!(is_link_local(link_local_for(mac)));
        assert!(!is_link_local("fd77::2".parse().unwrap()));
    }

    #[test]
    fn solicited_node_groups() {
        assert_eq!(
            solicited_node("fd77::2".parse().unwrap()),
            "ff02::1:ff00:2".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            solicited_node("fe80::aff:fe4d:2".parse().unwrap()),
            "ff02::1:ff4d:2".parse::<Ipv6Addr>().unwrap()
        );
    }
}
