//! The Ethernet II frame header (IEEE 802.3 clause 3; the "Ethernet II" or "DIX" framing that
//! [RFC 894] puts IPv4 in).
//!
//! ```text
//!  0                 6                 12          14                     14 + payload
//! +-----------------+-----------------+-----------+----------------------+ - - - - - +
//! |   Destination   |     Source      | EtherType |       Payload        |    FCS    :
//! |   MAC address   |   MAC address   |           |   46 to 1500 bytes   |  CRC-32   :
//! |     6 bytes     |     6 bytes     |  2 bytes  |  (IPv4, ARP, IPv6)   |  4 bytes  :
//! +-----------------+-----------------+-----------+----------------------+ - - - - - +
//! |<-------------- header: 14 bytes ------------->|                      not present on a
//!                                                                        TAP device or in
//!                                                                        a capture
//! ```
//!
//! The header is three fields and no more: where the frame goes, where it came from, and what
//! it carries. There is no length field and no checksum in the header. The payload runs to the
//! end of the frame, so it includes any padding a NIC added to reach the 46-byte minimum; the
//! protocol inside knows its own length (IPv4's Total Length, ARP's fixed 28 bytes) and ignores
//! the rest. The FCS trailer is the NIC's business: it is never in the buffers this module sees
//! (see [the module above](super) for both).
//!
//! The EtherType values are registered by the IEEE; IANA lists those the IETF's protocols use
//! ([IEEE 802 numbers]). Values up to 1500 are not types at all: an IEEE 802.3 frame with an
//! LLC header puts its length there. This stack reads them as [`EtherType::Unknown`] and drops
//! the frame.
//!
//! [RFC 894]: https://www.rfc-editor.org/rfc/rfc894
//! [IEEE 802 numbers]: https://www.iana.org/assignments/ieee-802-numbers

use std::fmt;

use super::MacAddr;
use crate::wire::{read_u16, write_u16, WireError};

/// Byte ranges of the Ethernet II header fields.
mod field {
    use crate::wire::{Field, Rest};

    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
}

/// The length of an Ethernet II header: two addresses and the EtherType.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// What an Ethernet frame carries: the EtherType field ([IEEE 802 numbers]).
///
/// [`From<u16>`](EtherType::from) maps the values this enum names to their variant, so it
/// never gives `Unknown(0x0800)`; build `Unknown` only for other values, or two equal types
/// compare unequal.
///
/// [IEEE 802 numbers]: https://www.iana.org/assignments/ieee-802-numbers
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// IPv4, 0x0800 ([RFC 894]).
    ///
    /// [RFC 894]: https://www.rfc-editor.org/rfc/rfc894
    Ipv4,
    /// ARP, 0x0806 ([RFC 826]).
    ///
    /// [RFC 826]: https://www.rfc-editor.org/rfc/rfc826
    Arp,
    /// IPv6, 0x86DD ([RFC 2464]).
    ///
    /// [RFC 2464]: https://www.rfc-editor.org/rfc/rfc2464
    Ipv6,
    /// Any other value: another protocol (0x8100 is a VLAN tag, 0x88cc LLDP) or, up to 1500,
    /// the length field of an IEEE 802.3 frame.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> u16 {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Unknown(other) => other,
        }
    }
}

/// `IPv4`, `ARP`, `IPv6`, or the number in hex (`0x8100`), as Wireshark names them.
impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtherType::Ipv4 => f.write_str("IPv4"),
            EtherType::Arp => f.write_str("ARP"),
            EtherType::Ipv6 => f.write_str("IPv6"),
            EtherType::Unknown(n) => write!(f, "0x{n:04x}"),
        }
    }
}

/// A read-only or read-write view of an Ethernet II frame in a byte buffer.
///
/// The buffer holds the frame as a TAP device or a capture gives it: header and payload, no
/// FCS. Built with [`Frame::new_checked`], every accessor is safe to call.
///
/// ```
/// use tunstack::link::ethernet::header::Frame;
/// use tunstack::link::ethernet::{EtherType, MacAddr};
///
/// // The start of an ARP request from 02:00:00:77:00:02, to everyone.
/// let bytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0x77, 0, 0x02, 0x08, 0x06];
/// let frame = Frame::new_checked(&bytes[..]).unwrap();
/// assert_eq!(frame.dst_addr(), MacAddr::BROADCAST);
/// assert_eq!(frame.src_addr().to_string(), "02:00:00:77:00:02");
/// assert_eq!(frame.ethertype(), EtherType::Arp);
/// assert!(frame.payload().is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without checking it. For building frames in a buffer known to be large
    /// enough; accessors may panic on a buffer shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps a buffer after checking that it holds a whole header, so that no accessor panics.
    ///
    /// The only check: at least 14 bytes, else [`WireError::Truncated`]. Ethernet has no
    /// length field to check, and no minimum either here: a TAP device hands over frames
    /// without the padding a NIC adds, so a 42-byte ARP frame is as valid as a padded 60-byte
    /// one.
    pub fn new_checked(buffer: T) -> Result<Frame<T>, WireError> {
        let frame = Frame { buffer };
        if frame.buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(frame)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The destination address: one interface, a multicast group, or broadcast.
    pub fn dst_addr(&self) -> MacAddr {
        mac_at(self.buffer.as_ref(), field::DESTINATION.start)
    }

    /// The source address: the interface that sent the frame (always unicast).
    pub fn src_addr(&self) -> MacAddr {
        mac_at(self.buffer.as_ref(), field::SOURCE.start)
    }

    /// The EtherType: what the payload is.
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(read_u16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    /// The payload: every byte after the header, including any padding a NIC added (the
    /// protocol inside knows its own length).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, value: MacAddr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&value.octets());
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, value: MacAddr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&value.octets());
    }

    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, value: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE.start, value.into());
    }

    /// The payload, writable: every byte after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// The six bytes at `at` as an address; `data` holds them (a checked frame does).
fn mac_at(data: &[u8], at: usize) -> MacAddr {
    let mut octets = [0u8; 6];
    octets.copy_from_slice(&data[at..at + 6]);
    MacAddr(octets)
}

/// An Ethernet II header as plain values; the payload stays in the buffer.
///
/// ```
/// use tunstack::link::ethernet::header::{Frame, Repr, HEADER_LEN};
/// use tunstack::link::ethernet::{EtherType, MacAddr};
///
/// let repr = Repr {
///     dst_addr: MacAddr::BROADCAST,
///     src_addr: "02:00:00:77:00:02".parse().unwrap(),
///     ethertype: EtherType::Arp,
/// };
/// let mut frame = [0u8; HEADER_LEN + 28];
/// repr.emit(&mut frame);
/// assert_eq!(Repr::parse(&Frame::new_checked(&frame[..]).unwrap()), Ok(repr));
/// assert_eq!(repr.to_string(), "02:00:00:77:00:02 → ff:ff:ff:ff:ff:ff, ARP");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Where the frame goes.
    pub dst_addr: MacAddr,
    /// Who sent it.
    pub src_addr: MacAddr,
    /// What the payload is.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads the header of a frame.
    ///
    /// Every 14 bytes are a valid header, so the only error is [`WireError::Truncated`], for a
    /// frame built with [`Frame::new_unchecked`] on a short buffer. What the EtherType names is
    /// for the caller to accept or drop.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &Frame<&T>) -> Result<Repr, WireError> {
        if frame.buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(Repr {
            dst_addr: frame.dst_addr(),
            src_addr: frame.src_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// The length of the header [`Repr::emit`] writes: always 14.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 14 header bytes at the start of `buf`; the payload after them is the
    /// caller's. No padding and no FCS are added (see [the module docs](super)).
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than 14 bytes: the caller sized it, so that is a bug, not bad input.
    pub fn emit(&self, buf: &mut [u8]) {
        let mut frame = Frame::new_unchecked(&mut buf[..HEADER_LEN]);
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
    }
}

/// One line for logs: `02:00:00:77:00:02 → ff:ff:ff:ff:ff:ff, ARP` (source → destination, as
/// Wireshark's columns read).
impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} → {}, {}",
            self.src_addr, self.dst_addr, self.ethertype
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An ARP request as Linux sent it on a veth pair (captured with tcpdump): 02:00:00:77:00:02
    /// (10.77.0.2) asks everyone who has 10.77.0.1. 42 bytes, no padding, no FCS.
    const ARP_REQUEST: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x08,
        0x06, // Ethernet
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // ARP: Ethernet, IPv4, 6, 4, request
        0x02, 0x00, 0x00, 0x77, 0x00, 0x02, 0x0a, 0x4d, 0x00, 0x02, // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x4d, 0x00, 0x01, // target
    ];

    fn repr() -> Repr {
        Repr {
            dst_addr: MacAddr::BROADCAST,
            src_addr: MacAddr::new([0x02, 0x00, 0x00, 0x77, 0x00, 0x02]),
            ethertype: EtherType::Arp,
        }
    }

    #[test]
    fn parses_a_captured_frame() {
        let frame = Frame::new_checked(&ARP_REQUEST[..]).unwrap();
        assert_eq!(Repr::parse(&frame), Ok(repr()));
        assert_eq!(frame.payload(), &ARP_REQUEST[HEADER_LEN..]);
        assert_eq!(frame.into_inner().len(), 42);
    }

    #[test]
    fn emits_the_same_bytes() {
        let mut buf = ARP_REQUEST;
        buf[..HEADER_LEN].fill(0);
        repr().emit(&mut buf);
        assert_eq!(buf, ARP_REQUEST);
        assert_eq!(repr().buffer_len(), 14);
        assert_eq!(
            repr().to_string(),
            "02:00:00:77:00:02 → ff:ff:ff:ff:ff:ff, ARP"
        );
    }

    #[test]
    fn accepts_a_padded_frame() {
        // The same request from a real NIC: zero padding up to the 60-byte minimum.
        let mut padded = ARP_REQUEST.to_vec();
        padded.resize(60, 0);
        let frame = Frame::new_checked(&padded[..]).unwrap();
        assert_eq!(Repr::parse(&frame), Ok(repr()));
        assert_eq!(frame.payload().len(), 46, "the padding is payload here");
    }

    #[test]
    fn checks_the_header_length() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Frame::new_checked(&ARP_REQUEST[..len]).err(),
                Some(WireError::Truncated)
            );
            let unchecked = Frame::new_unchecked(&ARP_REQUEST[..len]);
            assert_eq!(Repr::parse(&unchecked), Err(WireError::Truncated));
        }
        let header_only = Frame::new_checked(&ARP_REQUEST[..HEADER_LEN]).unwrap();
        assert!(header_only.payload().is_empty());
    }

    #[test]
    #[should_panic]
    fn emit_into_a_short_buffer_is_a_bug() {
        repr().emit(&mut [0u8; HEADER_LEN - 1]);
    }

    #[test]
    fn names_ethertypes() {
        for (value, ty, name) in [
            (0x0800, EtherType::Ipv4, "IPv4"),
            (0x0806, EtherType::Arp, "ARP"),
            (0x86dd, EtherType::Ipv6, "IPv6"),
            (0x8100, EtherType::Unknown(0x8100), "0x8100"),
            (0x0020, EtherType::Unknown(0x0020), "0x0020"),
        ] {
            assert_eq!(EtherType::from(value), ty);
            assert_eq!(u16::from(ty), value);
            assert_eq!(ty.to_string(), name);
        }
    }

    #[test]
    fn setters_write_their_fields() {
        let mut buf = [0u8; HEADER_LEN + 3];
        let mut frame = Frame::new_checked(&mut buf[..]).unwrap();
        frame.set_dst_addr(MacAddr::new([1, 2, 3, 4, 5, 6]));
        frame.set_src_addr(MacAddr::new([7, 8, 9, 10, 11, 12]));
        frame.set_ethertype(EtherType::Unknown(0x88cc));
        frame.payload_mut().copy_from_slice(b"abc");
        assert_eq!(
            buf,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x88, 0xcc, b'a', b'b', b'c']
        );
    }

    proptest! {
        /// Emit then parse gives the Repr back, and the payload is left alone.
        #[test]
        fn emit_then_parse_round_trips(
            dst in any::<[u8; 6]>(),
            src in any::<[u8; 6]>(),
            ethertype in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let repr = Repr {
                dst_addr: MacAddr(dst),
                src_addr: MacAddr(src),
                ethertype: EtherType::from(ethertype),
            };
            let mut buf = vec![0u8; repr.buffer_len()];
            buf.extend_from_slice(&payload);
            repr.emit(&mut buf);
            let frame = Frame::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Repr::parse(&frame), Ok(repr));
            prop_assert_eq!(frame.payload(), &payload[..]);
            prop_assert_eq!(&buf[12..14], &ethertype.to_be_bytes()[..]);
        }

        /// Arbitrary bytes: checking, every accessor and parsing never panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            match Frame::new_checked(&bytes[..]) {
                Ok(frame) => {
                    let repr = Repr::parse(&frame);
                    prop_assert!(repr.is_ok());
                    prop_assert_eq!(frame.payload().len() + HEADER_LEN, bytes.len());
                }
                Err(err) => {
                    prop_assert_eq!(err, WireError::Truncated);
                    prop_assert!(bytes.len() < HEADER_LEN);
                }
            }
        }
    }
}
