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

impl CidrParseError {
    pub(crate) fn new(message: String) -> CidrParseError {
        CidrParseError(message)
    }
}

/// Why an address cannot be a host's on a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAHost {
    /// The address is not on the network at all.
    Outside,
    /// The network address: all host bits 0. It names the network, not a host on it.
    NetworkAddress,
    /// The directed broadcast address: all host bits 1. A packet to it goes to every host
    /// on the network ([RFC 919]), so no one host may have it.
    ///
    /// [RFC 919]: https://www.rfc-editor.org/rfc/rfc919
    BroadcastAddress,
}

/// An address that cannot be a host's on a network, with the words for a user: which address,
/// why, and which addresses would do ([`Ipv4Cidr::check_host`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostError {
    /// The address that was given.
    pub addr: Ipv4Addr,
    /// The network, host bits cleared (e.g. 10.77.0.0/24).
    pub network: Ipv4Cidr,
    /// What is wrong with it.
    pub why: NotAHost,
}

impl fmt::Display for HostError {
    /// E.g. "10.77.0.255 is the broadcast address of 10.77.0.0/24; usable host addresses are
    /// 10.77.0.1 to 10.77.0.254".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (addr, network) = (self.addr, self.network);
        match self.why {
            NotAHost::Outside => write!(f, "{addr} is not on {network}")?,
            NotAHost::NetworkAddress => write!(f, "{addr} is the network address of {network}")?,
            NotAHost::BroadcastAddress => {
                write!(f, "{addr} is the broadcast address of {network}")?
            }
        }
        match network.hosts() {
            (first, last) if first == last => write!(f, "; its only host address is {first}"),
            (first, last) => write!(f, "; usable host addresses are {first} to {last}"),
        }
    }
}

impl std::error::Error for HostError {}

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

    /// The first and the last address a host on this network may have: all but the network
    /// and broadcast addresses, e.g. 10.77.0.1 to 10.77.0.254 for a /24.
    ///
    /// Two prefixes have no such pair to set aside. A /31 is a point-to-point link of two
    /// hosts, and both of its addresses are hosts' ([RFC 3021]: nobody needs a broadcast address
    /// to reach the one other host; Linux does the same). A /32 names one host alone, so its
    /// one address is that host's.
    ///
    /// [RFC 3021]: https://www.rfc-editor.org/rfc/rfc3021
    pub fn hosts(&self) -> (Ipv4Addr, Ipv4Addr) {
        let (network, broadcast) = (u32::from(self.network()), u32::from(self.broadcast()));
        if self.prefix_len >= 31 {
            (Ipv4Addr::from(network), Ipv4Addr::from(broadcast))
        } else {
            (Ipv4Addr::from(network + 1), Ipv4Addr::from(broadcast - 1))
        }
    }

    /// Whether `addr` may be a host's address on this network: on it, and neither its network
    /// nor its broadcast address (see [`Ipv4Cidr::hosts`] for /31 and /32).
    pub fn is_usable_host(&self, addr: Ipv4Addr) -> bool {
        self.check_host(addr).is_ok()
    }

    /// Like [`Ipv4Cidr::is_usable_host`], with the reason when it is not, worded for a user:
    /// "10.77.0.255 is the broadcast address of 10.77.0.0/24; usable host addresses are
    /// 10.77.0.1 to 10.77.0.254".
    pub fn check_host(&self, addr: Ipv4Addr) -> Result<(), HostError> {
        let (first, last) = self.hosts();
        let why = if !self.contains(addr) {
            NotAHost::Outside
        } else if addr < first {
            NotAHost::NetworkAddress
        } else if addr > last {
            NotAHost::BroadcastAddress
        } else {
            return Ok(());
        };
        Err(HostError {
            addr,
            network: Ipv4Cidr {
                address: self.network(),
                prefix_len: self.prefix_len,
            },
            why,
        })
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
    fn the_usable_hosts_of_a_24() {
        let cidr: Ipv4Cidr = "10.77.0.1/24".parse().unwrap();
        let host = |d| Ipv4Addr::new(10, 77, 0, d);
        assert_eq!(cidr.hosts(), (host(1), host(254)));
        for d in [1, 2, 128, 254] {
            assert!(cidr.is_usable_host(host(d)), "{}", host(d));
        }
        for (addr, words) in [
            (
                host(255),
                "10.77.0.255 is the broadcast address of 10.77.0.0/24; usable host addresses \
                 are 10.77.0.1 to 10.77.0.254",
            ),
            (
                host(0),
                "10.77.0.0 is the network address of 10.77.0.0/24; usable host addresses are \
                 10.77.0.1 to 10.77.0.254",
            ),
            (
                Ipv4Addr::new(10, 78, 0, 2),
                "10.78.0.2 is not on 10.77.0.0/24; usable host addresses are 10.77.0.1 to \
                 10.77.0.254",
            ),
        ] {
            assert!(!cidr.is_usable_host(addr), "{addr}");
            assert_eq!(cidr.check_host(addr).unwrap_err().to_string(), words);
        }
    }

    #[test]
    fn other_prefixes_set_aside_the_same_two_addresses() {
        let cidr: Ipv4Cidr = "192.168.4.9/30".parse().unwrap();
        let why = |d| {
            cidr.check_host(Ipv4Addr::new(192, 168, 4, d))
                .map_err(|e| e.why)
        };
        assert_eq!(why(8), Err(NotAHost::NetworkAddress));
        assert_eq!((why(9), why(10)), (Ok(()), Ok(())));
        assert_eq!(why(11), Err(NotAHost::BroadcastAddress));
        let all: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        assert_eq!(
            all.hosts(),
            (Ipv4Addr::new(0, 0, 0, 1), Ipv4Addr::new(255, 255, 255, 254))
        );
    }

    /// RFC 3021: both addresses of a /31 are hosts'; a /32's one address is its host's.
    #[test]
    fn a_31_has_two_hosts_and_a_32_one() {
        let p2p: Ipv4Cidr = "10.77.0.1/31".parse().unwrap();
        assert!(p2p.is_usable_host(Ipv4Addr::new(10, 77, 0, 0)));
        assert!(p2p.is_usable_host(Ipv4Addr::new(10, 77, 0, 1)));
        let err = p2p.check_host(Ipv4Addr::new(10, 77, 0, 2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "10.77.0.2 is not on 10.77.0.0/31; usable host addresses are 10.77.0.0 to 10.77.0.1"
        );
        let one: Ipv4Cidr = "10.77.0.1/32".parse().unwrap();
        assert!(one.is_usable_host(Ipv4Addr::new(10, 77, 0, 1)));
        let err = one.check_host(Ipv4Addr::new(10, 77, 0, 2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "10.77.0.2 is not on 10.77.0.1/32; its only host address is 10.77.0.1"
        );
    }

    #[test]
    fn rejects_bad_input_with_a_message() {
        assert!("10.0.0.1/33".parse::<Ipv4Cidr>().is_err());
        assert!("10.0.0/24".parse::<Ipv4Cidr>().is_err());
        let err = "x/1".parse::<Ipv4Cidr>().unwrap_err();
        assert!(err.to_string().contains("not an IPv4 address"));
    }
}
