//! MAC addresses: the 48-bit addresses of Ethernet (IEEE 802; [RFC 9542] describes them for
//! the IETF's protocols).
//!
//! A MAC address names a network interface on one link. It is written as six pairs of hex digits,
//! `02:00:00:77:00:02`, and sent in that order, first octet first. Two bits of the first octet
//! say what kind of address it is:
//!
//! ```text
//!   first octet   x x x x x x U I
//!                             │ └─ I/G: 0 = one interface (unicast), 1 = a group (multicast)
//!                             └─── U/L: 0 = assigned by the maker (OUI), 1 = locally administered
//! ```
//!
//! `ff:ff:ff:ff:ff:ff`, every bit set, is the broadcast address: every interface on the link
//! takes the frame. Addresses that a program makes up (TAP devices, virtual machines, this
//! stack's demos) set the U/L bit and clear the I/G bit, which is why they start with `02`.
//!
//! [RFC 9542]: https://www.rfc-editor.org/rfc/rfc9542

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A 48-bit Ethernet (MAC) address, such as `02:00:00:77:00:02`.
///
/// ```
/// use tunstack::link::ethernet::MacAddr;
///
/// let mac: MacAddr = "02:00:00:77:00:02".parse().unwrap();
/// assert_eq!(mac, MacAddr::new([0x02, 0, 0, 0x77, 0, 0x02]));
/// assert!(mac.is_unicast() && mac.is_locally_administered());
/// assert_eq!(mac.to_string(), "02:00:00:77:00:02");
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ff:ff:ff:ff:ff:ff`: every interface on the link (an ARP request goes here).
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// `00:00:00:00:00:00`: no address. An ARP request carries it as the target hardware
    /// address, the one it asks for.
    pub const UNSPECIFIED: MacAddr = MacAddr([0; 6]);

    /// The address with these six octets, first octet first.
    pub const fn new(octets: [u8; 6]) -> MacAddr {
        MacAddr(octets)
    }

    /// The six octets, in the order they are sent.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// Whether this is `ff:ff:ff:ff:ff:ff`. The broadcast address is also a multicast address
    /// (its I/G bit is set).
    pub const fn is_broadcast(&self) -> bool {
        let o = self.0;
        o[0] & o[1] & o[2] & o[3] & o[4] & o[5] == 0xff
    }

    /// Whether the I/G bit (the lowest bit of the first octet) is set: the address names a
    /// group of interfaces, not one. Broadcast counts as multicast.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Whether the address names one interface: the I/G bit is clear.
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Whether the U/L bit (the second-lowest bit of the first octet) is set: the address was
    /// made up locally rather than assigned by the interface's maker.
    pub const fn is_locally_administered(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// The multicast MAC address that carries frames for an IPv4 multicast group
    /// ([RFC 1112 section 6.4]): `01:00:5e` followed by the low 23 bits of the group address.
    ///
    /// 32 groups share each MAC address (5 bits of the group are not in it), so a host still
    /// checks the IP destination of what it receives. The mapping is meant for multicast
    /// addresses (224.0.0.0/4); for any other address the result is the same arithmetic and
    /// means nothing.
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use tunstack::link::ethernet::MacAddr;
    ///
    /// let mac = MacAddr::ipv4_multicast(Ipv4Addr::new(224, 0, 0, 251)); // mDNS
    /// assert_eq!(mac.to_string(), "01:00:5e:00:00:fb");
    /// ```
    ///
    /// [RFC 1112 section 6.4]: https://www.rfc-editor.org/rfc/rfc1112#section-6.4
    pub const fn ipv4_multicast(group: Ipv4Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
    }

    /// The multicast MAC address that carries frames for an IPv6 multicast group
    /// ([RFC 2464 section 7]): `33:33` followed by the last four bytes of the group address.
    ///
    /// Every IPv6 host listens to at least `33:33:00:00:00:01` (all nodes, ff02::1) and to the
    /// addresses of its solicited-node groups, `33:33:ff` and the last three bytes of each of
    /// its addresses, where Neighbor Discovery asks for it.
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// use tunstack::link::ethernet::MacAddr;
    ///
    /// let group: Ipv6Addr = "ff02::1:ff00:2".parse().unwrap(); // solicited-node of fd77::2
    /// assert_eq!(MacAddr::ipv6_multicast(group).to_string(), "33:33:ff:00:00:02");
    /// ```
    ///
    /// [RFC 2464 section 7]: https://www.rfc-editor.org/rfc/rfc2464#section-7
    pub const fn ipv6_multicast(group: Ipv6Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }

    /// Whether this is one of the addresses IPv6 multicast groups map to, `33:33:xx:xx:xx:xx`
    /// ([`MacAddr::ipv6_multicast`]).
    pub const fn is_ipv6_multicast(&self) -> bool {
        self.0[0] == 0x33 && self.0[1] == 0x33
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> MacAddr {
        MacAddr(octets)
    }
}

impl From<MacAddr> for [u8; 6] {
    fn from(addr: MacAddr) -> [u8; 6] {
        addr.0
    }
}

/// Six pairs of lowercase hex digits separated by colons: `02:00:00:77:00:02`.
impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// The same as [`Display`](fmt::Display): an address reads best one way everywhere.
impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for MacAddr {
    type Err = ParseMacError;

    /// Reads six pairs of hex digits (either case) separated by `:` (`02:00:00:77:00:02`, as
    /// Linux writes them) or `-` (`02-00-00-77-00-02`, as Windows does); one separator
    /// throughout.
    fn from_str(s: &str) -> Result<MacAddr, ParseMacError> {
        let error = |kind| ParseMacError {
            input: s.to_owned(),
            kind,
        };
        if s.is_empty() {
            return Err(error(ErrorKind::Empty));
        }
        let separator = match (s.contains(':'), s.contains('-')) {
            (true, true) => return Err(error(ErrorKind::MixedSeparators)),
            (false, true) => '-',
            _ => ':',
        };
        let groups = s.split(separator).count();
        if groups != 6 {
            return Err(error(ErrorKind::Groups(groups)));
        }
        let mut octets = [0u8; 6];
        for (octet, pair) in octets.iter_mut().zip(s.split(separator)) {
            *octet = parse_pair(pair).ok_or_else(|| error(ErrorKind::NotHex(pair.to_owned())))?;
        }
        Ok(MacAddr(octets))
    }
}

/// Two hex digits as an octet; `None` for anything else (`u8::from_str_radix` alone would take
/// `+f` or `f`).
fn parse_pair(pair: &str) -> Option<u8> {
    if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(pair, 16).ok()
}

/// Why a string is not a MAC address; its [`Display`](fmt::Display) says what was wrong, in a
/// sentence that quotes the input.
///
/// ```
/// use tunstack::link::ethernet::MacAddr;
///
/// let err = "02:00:00:77:00".parse::<MacAddr>().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "`02:00:00:77:00` has 5 groups of hex digits; a MAC address has 6, \
///      like 02:00:00:77:00:02"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseMacError {
    input: String,
    kind: ErrorKind,
}

/// What [`ParseMacError`] found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ErrorKind {
    /// The string is empty.
    Empty,
    /// Both `:` and `-` appear.
    MixedSeparators,
    /// Not six groups between the separators.
    Groups(usize),
    /// A group is not exactly two hex digits.
    NotHex(String),
}

impl fmt::Display for ParseMacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = &self.input;
        match &self.kind {
            ErrorKind::Empty => f.write_str(
                "an empty string is not a MAC address; write six pairs of hex digits, \
                 like 02:00:00:77:00:02",
            ),
            ErrorKind::MixedSeparators => write!(
                f,
                "`{input}` mixes `:` and `-`; a MAC address uses one separator throughout, \
                 like 02:00:00:77:00:02 or 02-00-00-77-00-02"
            ),
            ErrorKind::Groups(n) => write!(
                f,
                "`{input}` has {n} group{s} of hex digits; a MAC address has 6, \
                 like 02:00:00:77:00:02",
                s = if *n == 1 { "" } else { "s" }
            ),
            ErrorKind::NotHex(pair) if pair.is_empty() => write!(
                f,
                "`{input}` has an empty group; each of the six is a pair of hex digits \
                 (00 to ff)"
            ),
            ErrorKind::NotHex(pair) => write!(
                f,
                "`{pair}` in `{input}` is not a pair of hex digits (00 to ff)"
            ),
        }
    }
}

impl std::error::Error for ParseMacError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OURS: MacAddr = MacAddr::new([0x02, 0x00, 0x00, 0x77, 0x00, 0x02]);

    #[test]
    fn writes_lowercase_colon_separated() {
        assert_eq!(OURS.to_string(), "02:00:00:77:00:02");
        assert_eq!(format!("{OURS:?}"), "02:00:00:77:00:02");
        let mac = MacAddr::new([0xde, 0xad, 0xbe, 0xef, 0x0a, 0xff]);
        assert_eq!(mac.to_string(), "de:ad:be:ef:0a:ff");
        assert_eq!(MacAddr::BROADCAST.to_string(), "ff:ff:ff:ff:ff:ff");
        assert_eq!(MacAddr::UNSPECIFIED.to_string(), "00:00:00:00:00:00");
    }

    #[test]
    fn reads_either_separator_and_case() {
        assert_eq!("02:00:00:77:00:02".parse(), Ok(OURS));
        assert_eq!("02-00-00-77-00-02".parse(), Ok(OURS));
        assert_eq!(
            "DE:ad:Be:eF:0A:ff".parse(),
            Ok(MacAddr::new([0xde, 0xad, 0xbe, 0xef, 0x0a, 0xff]))
        );
    }

    #[test]
    fn says_what_is_wrong() {
        let message = |s: &str| s.parse::<MacAddr>().unwrap_err().to_string();
        assert_eq!(
            message(""),
            "an empty string is not a MAC address; write six pairs of hex digits, \
             like 02:00:00:77:00:02"
        );
        assert_eq!(
            message("02:00-00:77:00:02"),
            "`02:00-00:77:00:02` mixes `:` and `-`; a MAC address uses one separator \
             throughout, like 02:00:00:77:00:02 or 02-00-00-77-00-02"
        );
        assert_eq!(
            message("020000770002"),
            "`020000770002` has 1 group of hex digits; a MAC address has 6, \
             like 02:00:00:77:00:02"
        );
        assert_eq!(
            message("02:00:00:77:00:02:03"),
            "`02:00:00:77:00:02:03` has 7 groups of hex digits; a MAC address has 6, \
             like 02:00:00:77:00:02"
        );
        assert_eq!(
            message("02:00:00:7g:00:02"),
            "`7g` in `02:00:00:7g:00:02` is not a pair of hex digits (00 to ff)"
        );
        assert_eq!(
            message("2:00:00:77:00:02"),
            "`2` in `2:00:00:77:00:02` is not a pair of hex digits (00 to ff)"
        );
        assert_eq!(
            message("02:00:00:77:00:"),
            "`02:00:00:77:00:` has an empty group; each of the six is a pair of hex digits \
             (00 to ff)"
        );
        for bad in [
            "+2:00:00:77:00:02",
            "02:00:00:77:00:002",
            "02:00:00:77:00:é2",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn classifies_addresses() {
        assert!(OURS.is_unicast() && !OURS.is_multicast() && !OURS.is_broadcast());
        assert!(OURS.is_locally_administered());
        let b = MacAddr::BROADCAST;
        assert!(b.is_broadcast() && b.is_multicast() && !b.is_unicast());
        let maker = MacAddr::new([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x10]);
        assert!(maker.is_unicast() && !maker.is_locally_administered());
        let almost = MacAddr::new([0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        assert!(!almost.is_broadcast() && almost.is_multicast());
        assert!(MacAddr::UNSPECIFIED.is_unicast() && !MacAddr::UNSPECIFIED.is_broadcast());
    }

    #[test]
    fn maps_ipv4_multicast_groups() {
        let map = |a, b, c, d| MacAddr::ipv4_multicast(Ipv4Addr::new(a, b, c, d)).to_string();
        assert_eq!(map(224, 0, 0, 1), "01:00:5e:00:00:01"); // all hosts
        assert_eq!(map(224, 0, 0, 251), "01:00:5e:00:00:fb"); // mDNS
        assert_eq!(map(239, 255, 255, 250), "01:00:5e:7f:ff:fa"); // SSDP
                                                                  // The 24th bit from the right is not carried: these two groups share an address.
        assert_eq!(map(224, 128, 0, 1), map(224, 0, 0, 1));
        assert!(MacAddr::ipv4_multicast(Ipv4Addr::new(224, 0, 0, 1)).is_multicast());
    }

    /// RFC 2464 section 7's mapping, on the groups Neighbor Discovery uses.
    #[test]
    fn maps_ipv6_multicast_groups() {
        let map = |group: &str| MacAddr::ipv6_multicast(group.parse().unwrap());
        assert_eq!(map("ff02::1").to_string(), "33:33:00:00:00:01"); // all nodes
        assert_eq!(map("ff02::1:ff4d:2").to_string(), "33:33:ff:4d:00:02");
        // Only the last four bytes count: the scope and the rest of the group are not carried.
        assert_eq!(
            map("ff02::fedc:ba98:7654:3210").to_string(),
            "33:33:76:54:32:10"
        );
        assert!(map("ff02::1").is_multicast() && map("ff02::1").is_ipv6_multicast());
        assert!(!MacAddr::BROADCAST.is_ipv6_multicast());
        assert!(!MacAddr::new([0x33, 0x34, 0, 0, 0, 1]).is_ipv6_multicast());
    }

    proptest! {
        /// Display then parse gives the address back, with either separator.
        #[test]
        fn display_then_parse_round_trips(octets in any::<[u8; 6]>()) {
            let mac = MacAddr::new(octets);
            let text = mac.to_string();
            prop_assert_eq!(text.parse::<MacAddr>(), Ok(mac));
            prop_assert_eq!(text.replace(':', "-").parse::<MacAddr>(), Ok(mac));
            prop_assert_eq!(text.to_uppercase().parse::<MacAddr>(), Ok(mac));
            prop_assert_eq!(<[u8; 6]>::from(mac), octets);
        }

        /// Any string: parsing never panics, and what parses writes back the same up to case
        /// and separator.
        #[test]
        fn arbitrary_strings_never_panic(s in "[0-9a-fA-F:\\-xé]{0,20}") {
            if let Ok(mac) = s.parse::<MacAddr>() {
                prop_assert_eq!(mac.to_string(), s.to_lowercase().replace('-', ":"));
            }
        }
    }
}
