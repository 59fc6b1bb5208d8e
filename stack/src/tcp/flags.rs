//! The control bits of the TCP header ([RFC 9293 section 3.1], [RFC 3168], [RFC 9768]).
//!
//! Nine bits of the header's 16-bit word at byte 12 are flags; the top four are the data offset
//! and three are reserved (sent as zero, ignored on receipt):
//!
//! ```text
//!   byte 12                         byte 13
//!  +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//!  |  Data Offset  | reserved  |AE |CWR|ECE|URG|ACK|PSH|RST|SYN|FIN|
//!  +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//! ```
//!
//! RFC 9293 lists bits 4 to 7 as reserved. ECE and CWR carry ECN feedback (RFC 3168). The
//! lowest bit of byte 12 was the ECN nonce bit NS of RFC 3540 (now historic); Accurate ECN
//! (RFC 9768) names it AE. This stack sends none of the three, but shows them when it sees them.
//!
//! [RFC 9293 section 3.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.1
//! [RFC 3168]: https://www.rfc-editor.org/rfc/rfc3168
//! [RFC 9768]: https://www.rfc-editor.org/rfc/rfc9768

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// A set of TCP control bits, e.g. `Flags::SYN | Flags::ACK`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u16);

impl Flags {
    /// FIN: no more data from the sender.
    pub const FIN: Flags = Flags(0x001);
    /// SYN: synchronize sequence numbers (opens a connection).
    pub const SYN: Flags = Flags(0x002);
    /// RST: reset the connection.
    pub const RST: Flags = Flags(0x004);
    /// PSH: push the data to the application.
    pub const PSH: Flags = Flags(0x008);
    /// ACK: the acknowledgment number is meaningful.
    pub const ACK: Flags = Flags(0x010);
    /// URG: the urgent pointer is meaningful.
    pub const URG: Flags = Flags(0x020);
    /// ECE: ECN-Echo ([RFC 3168]).
    ///
    /// [RFC 3168]: https://www.rfc-editor.org/rfc/rfc3168
    pub const ECE: Flags = Flags(0x040);
    /// CWR: Congestion Window Reduced ([RFC 3168]).
    ///
    /// [RFC 3168]: https://www.rfc-editor.org/rfc/rfc3168
    pub const CWR: Flags = Flags(0x080);
    /// AE: Accurate ECN ([RFC 9768]), formerly NS.
    ///
    /// [RFC 9768]: https://www.rfc-editor.org/rfc/rfc9768
    pub const AE: Flags = Flags(0x100);

    /// Every defined flag, in the order they are displayed (lowest bit first, as Wireshark).
    const NAMED: [(Flags, &'static str); 9] = [
        (Flags::FIN, "FIN"),
        (Flags::SYN, "SYN"),
        (Flags::RST, "RST"),
        (Flags::PSH, "PSH"),
        (Flags::ACK, "ACK"),
        (Flags::URG, "URG"),
        (Flags::ECE, "ECE"),
        (Flags::CWR, "CWR"),
        (Flags::AE, "AE"),
    ];

    /// The bits that are flags; the other bits of the word belong to the data offset or are
    /// reserved.
    const MASK: u16 = 0x01ff;

    /// No flags.
    pub const fn empty() -> Flags {
        Flags(0)
    }

    /// The flags in the low 9 bits of `bits`; the other bits are dropped.
    pub const fn from_bits_truncate(bits: u16) -> Flags {
        Flags(bits & Flags::MASK)
    }

    /// The flags as bits, in their header positions (FIN is bit 0).
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    /// Clears the flags of `other`.
    pub fn remove(&mut self, other: Flags) {
        self.0 &= !other.0;
    }

    /// FIN is set.
    pub const fn fin(self) -> bool {
        self.contains(Flags::FIN)
    }

    /// SYN is set.
    pub const fn syn(self) -> bool {
        self.contains(Flags::SYN)
    }

    /// RST is set.
    pub const fn rst(self) -> bool {
        self.contains(Flags::RST)
    }

    /// PSH is set.
    pub const fn psh(self) -> bool {
        self.contains(Flags::PSH)
    }

    /// ACK is set.
    pub const fn ack(self) -> bool {
        self.contains(Flags::ACK)
    }

    /// URG is set.
    pub const fn urg(self) -> bool {
        self.contains(Flags::URG)
    }
}

impl BitOr for Flags {
    type Output = Flags;

    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

/// Shows the set flags as Wireshark does: `[SYN, ACK]`, or `[]` for none.
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        let mut names = Flags::NAMED
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| name);
        if let Some(first) = names.next() {
            f.write_str(first)?;
        }
        for name in names {
            write!(f, ", {name}")?;
        }
        f.write_str("]")
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_and_tests_flags() {
        let mut flags = Flags::SYN | Flags::ACK;
        assert!(flags.syn() && flags.ack());
        assert!(!flags.fin() && !flags.rst() && !flags.psh() && !flags.urg());
        assert!(flags.contains(Flags::SYN | Flags::ACK));
        assert!(!flags.contains(Flags::SYN | Flags::FIN));
        assert_eq!(flags.bits(), 0x012);
        flags.remove(Flags::SYN);
        flags |= Flags::FIN;
        assert_eq!(flags, Flags::FIN | Flags::ACK);
        flags.insert(Flags::AE);
        assert_eq!(flags.bits(), 0x111);
        assert!(Flags::empty().is_empty());
    }

    #[test]
    fn drops_bits_that_are_not_flags() {
        assert_eq!(Flags::from_bits_truncate(0xfe02), Flags::SYN);
    }

    #[test]
    fn displays_like_wireshark() {
        assert_eq!((Flags::SYN | Flags::ACK).to_string(), "[SYN, ACK]");
        assert_eq!((Flags::ACK | Flags::PSH).to_string(), "[PSH, ACK]");
        assert_eq!(Flags::FIN.to_string(), "[FIN]");
        assert_eq!(Flags::empty().to_string(), "[]");
        assert_eq!(
            Flags::from_bits_truncate(0x1ff).to_string(),
            "[FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE]"
        );
        assert_eq!(format!("{:?}", Flags::RST), "Flags[RST]");
    }
}
