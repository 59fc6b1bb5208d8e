//! IPv4 addresses with a prefix length: CIDR notation ([RFC 4632]).
//!
//! `10.77.0.2/24` names a host (10.77.0.2) and the network it sits on: the first 24 bits are the
//! network part (10.77.0.0), the other 8 number the hosts in it. The course's example, in bits:
//!
//! ```text
//! 192.168.1.0/24   1100 0000 . 1010 1000 . 0000 0001 . 0000 0000
//!                  |<------------ network (24) --------->|<host>|
//! ```
//!
//! [RFC 4632]: https://www.rfc-editor.org/rfc/rfc4632

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 address and a prefix length, like `10.77.0.2/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    address: Ipv4Addr,
    prefix_len: u8,
}

/// Why a string is not a CIDR address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrParseError(String);

impl fmt::Display for CidrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CidrParseError {}

impl Ipv4Cidr {
    /// An address with a prefix length; `None` if the prefix is longer than 32 bits.
    pub const fn new(address: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Cidr> {
        if prefix_len > 32 {
            return None;
        }
        Some(Ipv4Cidr {
            address,
            prefix_len,
        })
    }

    /// The address as written (the host, not the network).
    pub const fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The prefix length: how many leading bits name the network.
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The netmask, e.g. 255.255.255.0 for /24.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask_bits())
    }

    /// The network address: the host bits cleared, e.g. 10.77.0.0 for 10.77.0.2/24.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & self.mask_bits())
    }

    /// The directed broadcast address: the host bits set, e.g. 10.77.0.255 for /24.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) | !self.mask_bits())
    }

    /// Whether `addr` is on this network (its network bits match).
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        (u32::from(addr) ^ u32::from(self.address)) & self.mask_bits() == 0
    }

    fn mask_bits(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrParseError;

    /// Parses `a.b.c.d/n`; a bare address means a host route (`/32`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let address: Ipv4Addr = addr
            .parse()
            .map_err(|_| CidrParseError(format!("`{addr}` is not an IPv4 address")))?;
        let prefix_len =
            match prefix {
                None => 32,
                Some(p) => p.parse::<u8>().ok().filter(|n| *n <= 32).ok_or_else(|| {
                    CidrParseError(format!("`/{p}` is not a prefix length (0-32)"))
                })?,
            };
        Ok(Ipv4Cidr {
            address,
            prefix_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_courses_example() {
        let cidr: Ipv4Cidr = "192.168.1.5/24".parse().unwrap();
        assert_eq!(cidr.network(), Ipv4Addr::new(192, 168, 1, 0));
        assert_eq!(cidr.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(cidr.broadcast(), Ipv4Addr::new(192, 168, 1, 255));
        assert!(cidr.contains(Ipv4Addr::new(192, 168, 1, 200)));
        assert!(!cidr.contains(Ipv4Addr::new(192, 168, 2, 1)));
        assert_eq!(cidr.to_string(), "192.168.1.5/24");
    }

    #[test]
    fn edge_prefixes() {
        let all: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(Ipv4Addr::new(8, 8, 8, 8)));
        let host: Ipv4Cidr = "10.0.0.1".parse().unwrap();
        assert_eq!(host.prefix_len(), 32);
        assert!(!host.contains(Ipv4Addr::new(10, 0, 0, 2)));
    }

    #[test]
    fn rejects_bad_input_with_a_message() {
        assert!("10.0.0.1/33".parse::<Ipv4Cidr>().is_err());
        assert!("10.0.0/24".parse::<Ipv4Cidr>().is_err());
        let err = "x/1".parse::<Ipv4Cidr>().unwrap_err();
        assert!(err.to_string().contains("not an IPv4 address"));
    }
}
